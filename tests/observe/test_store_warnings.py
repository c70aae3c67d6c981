"""Library warnings from parsing trust stores are facts in the observations, never text on stderr (issue 10).

Debian's store holds roots with a non-positive serial number; cryptography warns about
each (CryptographyDeprecationWarning) when it parses them, and every `tlsdoctor diagnose`
used to print that warning. The test builds a store with such a root, so it does not
depend on this machine's store.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tlsdoctor.observe.os_store import os_trust_store
from tlsdoctor.observe.trust_sources import clear_cache, load_ca_file


def _negative_serial_root() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Negative Serial Root")])
    now = datetime.now(timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=9))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True))
    der = bytearray(builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    # The serial INTEGER 1 (02 01 01) becomes -1 (02 01 ff): the signature no longer matches,
    # which no parser checks on load, and the warning is the parser's.
    at = der.index(b"\x02\x01\x01")
    der[at + 2] = 0xFF
    body = base64.encodebytes(bytes(der)).replace(b"\n", b"")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return b"-----BEGIN CERTIFICATE-----\n" + b"\n".join(lines) + b"\n-----END CERTIFICATE-----\n"


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store.pem"
    path.write_bytes(_negative_serial_root())
    clear_cache()
    return path


def test_a_warned_entry_is_summarised_once_in_the_notes(store: Path, recwarn: pytest.WarningsRecorder) -> None:
    source = os_trust_store({"SSL_CERT_FILE": str(store), "SSL_CERT_DIR": ""})
    assert len(source.malformed) == 1 and "Negative Serial Root" in source.malformed[0]
    assert sum("RFC 5280" in note for note in source.notes) == 1
    assert not [w for w in recwarn if "serial" in str(w.message)]
    assert load_ca_file(store).malformed


def test_no_warning_text_on_stderr_for_a_diagnosis(store: Path, tmp_path: Path) -> None:
    """A whole diagnosis of a lab scenario, in a fresh interpreter that shows every warning."""
    script = textwrap.dedent(f"""
        import asyncio, dataclasses
        from tlsdoctor.lab import Lab
        from tlsdoctor.demo import cases, run_cases

        async def main():
            lab = Lab()
            await lab.start()
            try:
                every = cases(lab)  # every lab scenario, as the demo sets its client up
                crafted = {{"SSL_CERT_FILE": {str(store)!r}, "SSL_CERT_DIR": ""}}
                extra = []
                for case in every:
                    if case.name in ("ok", "expired", "plain-http"):
                        # the same, with a store holding a warned-about root, and with this machine's store
                        extra.append(dataclasses.replace(case, name=case.name + "+crafted",
                                                         options={{**case.options, "os_store_env": crafted}}))
                        machine = {{k: v for k, v in case.options.items() if k != "os_store_env"}}
                        extra.append(dataclasses.replace(case, name=case.name + "+machine", options=machine))
                results = await run_cases([*every, *extra])
                print(len(results), sorted((r.case.name, r.verdict) for r in results if r.case.name.startswith("ok")))
            finally:
                await lab.aclose()

        asyncio.run(main())
    """)
    done = subprocess.run([sys.executable, "-W", "always", "-c", script], capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "('ok', 'ok')" in done.stdout
    assert "Warning" not in done.stderr and "warn" not in done.stderr.lower(), done.stderr[-2000:]


def test_the_macos_and_windows_store_reader_keeps_a_warned_entry_too(store: Path, monkeypatch: pytest.MonkeyPatch,
                                                                       recwarn: pytest.WarningsRecorder) -> None:
    # The reader macOS and Windows take (ssl.get_ca_certs()) ran into a NameError on such an
    # entry (found by pyflakes): run here on what Python's default context loads, this store.
    from tlsdoctor.observe.os_store import _platform_store

    monkeypatch.setenv("SSL_CERT_FILE", str(store))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    source = _platform_store()
    assert source.error is None
    assert len(source.malformed) == 1 and "Negative Serial Root" in source.malformed[0]
    assert not [w for w in recwarn if "serial" in str(w.message)]

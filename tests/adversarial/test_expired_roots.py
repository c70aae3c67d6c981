"""A root that is held, but only as a copy whose dates have ended: ``cert.expired``, never "unknown root".

Let's Encrypt's chain through DST Root CA X3 (2021-09-30) is the field's great example: the
server sends its leaf, the intermediate, and its new root cross-signed by an old root; a
client whose store holds only the old, now expired root fails with "certificate has expired"
while every certificate the server sends is valid. The diagnosis once said the chain ended
at a CA "that no trust source on this machine holds", which is false: the root is there.
Real TLS on 127.0.0.1, certificates from the lab's PKI.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tlsdoctor.diagnosis import diagnose
from tlsdoctor.lab.endpoints import HttpsOrigin
from tlsdoctor.lab.pki import CA, IssuedCert
from tlsdoctor.lab.tls import TlsServerConfig

from .conftest import TIMEOUT, assert_honest_and_in_time
from .servers import serving


@pytest.fixture(scope="module")
def cross_signed() -> tuple[IssuedCert, CA, CA]:
    """(what the server sends: leaf, intermediate, new root cross-signed by the old; old root; new root)"""
    now = datetime.now(timezone.utc)
    new_root = CA("Lab New Root X1", organization="lab")
    old_root = CA("Lab Old Root X3", organization="lab", not_before=now - timedelta(days=7000),
                  not_after=now - timedelta(days=2))
    cross = CA(new_root.name, organization="lab", key=new_root.key, parent=old_root,
               not_before=now - timedelta(days=900), not_after=now + timedelta(days=900))
    intermediate = new_root.intermediate("Lab R3")
    leaf = intermediate.issue_cert("127.0.0.1", issuer_pointers=False)
    return IssuedCert(leaf.cert, leaf.key, (intermediate.cert, cross.cert)), old_root, new_root


def _diagnose(served: IssuedCert, ca_file: Path, os_store: Path):  # type: ignore[no-untyped-def]
    with serving(HttpsOrigin(TlsServerConfig(certificate=served, alpn=("http/1.1",)))) as port:
        return diagnose(f"https://127.0.0.1:{port}/", ca_bundle=ca_file, timeout=TIMEOUT, env={},
                        os_store_env={"SSL_CERT_FILE": str(os_store), "SSL_CERT_DIR": ""})


def test_a_store_with_only_the_expired_old_root_is_told_its_root_expired(cross_signed, tmp_path: Path) -> None:
    served, old_root, _new_root = cross_signed
    old = tmp_path / "old.pem"
    old.write_bytes(old_root.cert_pem)
    d = _diagnose(served, old, old)
    assert_honest_and_in_time(d)
    assert d.observations.curl is not None and d.observations.curl.verify_result == 10  # "certificate has expired"
    assert d.verdict.code == "cert.expired", (d.verdict.code, d.verdict.summary)
    assert d.verdict.evidence["expired_root"] == "CN=Lab Old Root X3,O=lab"
    assert "no trust source" not in d.verdict.summary and "client's CA file holds it" in d.verdict.summary


def test_with_the_new_root_in_the_os_store_the_mismatch_is_the_verdict(cross_signed, tmp_path: Path) -> None:
    # The 2021 desktop app: its bundled CA file is old, the machine's store is current.
    served, old_root, new_root = cross_signed
    old, current = tmp_path / "old.pem", tmp_path / "current.pem"
    old.write_bytes(old_root.cert_pem)
    current.write_bytes(new_root.cert_pem)
    d = _diagnose(served, old, current)
    assert d.verdict.code == "trust.store_mismatch", (d.verdict.code, d.verdict.summary)
    assert not any(f.code == "cert.untrusted_root" for f in d.findings)


def test_a_client_with_the_new_root_works(cross_signed, tmp_path: Path) -> None:
    served, _old_root, new_root = cross_signed
    current = tmp_path / "current.pem"
    current.write_bytes(new_root.cert_pem)
    d = _diagnose(served, current, current)
    assert d.verdict.code == "ok", d.verdict.summary
    assert not any(f.code.startswith("cert.") for f in d.findings)

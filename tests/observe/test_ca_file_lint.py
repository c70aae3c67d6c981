"""The CA-file linter, proved against OpenSSL itself.

The field case: a tool re-exported a root with damaged extensions, and the damaged twin
landed before the good root in the client's CA file. OpenSSL finds the twin first and
fails every chain through that root with "invalid CA certificate". The linter must name
the twin by entry and line, and the file without it must make OpenSSL verify again.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import ssl
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlsdoctor.lab import Lab, running_lab
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.pki import CA, leaf_cert, pem_bundle, shadow_of
from tlsdoctor.observe.ca_file_lint import CaFileLint, lint_ca_file, without_broken_entries

NOW = datetime.now(timezone.utc).replace(microsecond=0)
DAY = timedelta(days=1)
ROOT = "CN=tlsdoctor Lab Root CA,O=tlsdoctor lab"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(["ok"]) as running:
        yield running


@pytest.fixture(scope="module")
def lab_trust_files(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    assert lab.authorities is not None
    return lab.authorities.write_trust_files(tmp_path_factory.mktemp("trust"))


@pytest.fixture(scope="module")
def pki() -> LabAuthorities:
    """A lab PKI without the servers, for files that never meet OpenSSL."""
    return LabAuthorities.create("http://127.0.0.1:1")


def openssl_connect(url: str, cafile: Path) -> str:
    """What Python's ssl (OpenSSL) says about ``url`` with ``cafile``: "ok" or the error."""
    parts = urllib.parse.urlsplit(url)
    try:
        context = ssl.create_default_context(cafile=str(cafile))
        with socket.create_connection((parts.hostname, parts.port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="localhost"):
                return "ok"
    except (ssl.SSLError, OSError) as exc:
        return str(exc)


def begin_lines(path: Path) -> list[int]:
    return [n for n, line in enumerate(path.read_bytes().splitlines(), 1) if line.startswith(b"-----BEGIN")]


def write(path: Path, *certs: x509.Certificate) -> Path:
    path.write_bytes(pem_bundle(certs))
    return path


# -- the corrupt bundle ------------------------------------------------------------------------


def test_corrupt_bundle_names_entry_0_as_the_shadow_of_entry_1(lab_trust_files):
    path = lab_trust_files["corrupt"]
    lint = lint_ca_file(path, at=NOW)
    assert lint.error is None and lint.entries == 2 and lint.path == str(path)
    assert lint.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    (problem,) = lint.problems
    assert problem.problem == "shadows"
    assert (problem.index, problem.shadowed_index) == (0, 1)
    assert problem.line == 1 and problem.subject == ROOT
    second_line = begin_lines(path)[1]
    assert problem.detail == (
        f"entry 0 '{ROOT}' (line 1) has the same subject and key as entry 1 (line {second_line}) "
        "but basicConstraints CA:FALSE: OpenSSL finds it first and reports 'invalid CA certificate'"
    )


def test_removing_the_shadow_makes_openssl_verify_the_healthy_origin(lab, lab_trust_files, tmp_path):
    corrupt = lab_trust_files["corrupt"]
    url = lab["ok"].url
    # The failure the linter explains (trust.bundle_corrupt), as OpenSSL itself reports it.
    assert "invalid CA certificate" in openssl_connect(url, corrupt)

    repaired = tmp_path / "repaired.pem"
    repaired.write_bytes(without_broken_entries(corrupt, lint_ca_file(corrupt, at=NOW)))
    assert openssl_connect(url, repaired) == "ok"
    assert repaired.read_bytes() == lab.authorities.root.cert_pem


def test_shadow_after_the_good_root_is_named_but_harmless_today(lab, tmp_path):
    root = lab.authorities.root
    path = write(tmp_path / "reversed.pem", root.cert, shadow_of(root))
    (problem,) = lint_ca_file(path, at=NOW).problems
    assert (problem.problem, problem.index, problem.shadowed_index) == ("shadows", 1, 0)
    assert "comes after the good entry" in problem.detail
    assert openssl_connect(lab["ok"].url, path) == "ok"  # as measured: OpenSSL takes the first


def _twin(ca: CA, *, key_cert_sign: bool | None = None, ca_flag: bool | None = None,
          not_after: datetime | None = None) -> x509.Certificate:
    """A re-export of ``ca`` (same subject, same key) with chosen extensions."""
    builder = (
        x509.CertificateBuilder().subject_name(ca.cert.subject).issuer_name(ca.cert.subject)
        .public_key(ca.key.private_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 400 * DAY).not_valid_after(not_after or NOW + 400 * DAY)
    )
    if ca_flag is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca_flag, path_length=None), critical=True)
    if key_cert_sign is not None:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=key_cert_sign, crl_sign=key_cert_sign, encipher_only=False,
            decipher_only=False), critical=True)
    return builder.sign(ca.key.private_key, hashes.SHA256())


@pytest.mark.parametrize("twin_kind, reason", [
    ("key usage without certSign", "keyUsage without keyCertSign"),
    ("no basic constraints", "no basicConstraints"),
])
def test_other_damaged_twins_break_openssl_and_are_named(lab, tmp_path, twin_kind, reason):
    root = lab.authorities.root
    twin = _twin(root, ca_flag=True, key_cert_sign=False) if twin_kind.startswith("key") else _twin(root)
    path = write(tmp_path / "twin.pem", twin, root.cert)
    (problem,) = lint_ca_file(path, at=NOW).problems
    assert problem.problem == "shadows" and reason in problem.detail and "finds it first" in problem.detail
    assert "invalid CA certificate" in openssl_connect(lab["ok"].url, path)
    repaired = tmp_path / "repaired.pem"
    repaired.write_bytes(without_broken_entries(path, lint_ca_file(path, at=NOW)))
    assert openssl_connect(lab["ok"].url, repaired) == "ok"


def test_an_expired_twin_is_skipped_by_openssl_and_the_detail_says_so(lab, tmp_path):
    root = lab.authorities.root
    path = write(tmp_path / "expired-twin.pem", _twin(root, ca_flag=False, not_after=NOW - DAY), root.cert)
    problems = lint_ca_file(path, at=NOW).problems
    assert [(p.index, p.problem) for p in problems] == [(0, "shadows"), (0, "expired")]
    assert "OpenSSL prefers the good entry for now" in problems[0].detail
    assert openssl_connect(lab["ok"].url, path) == "ok"


# -- one entry at a time ----------------------------------------------------------------------


def test_pinned_self_signed_server_certificate_is_not_a_ca(pki, tmp_path):
    pinned = leaf_cert("intranet.example")
    path = write(tmp_path / "pinned.pem", pki.root.cert, pinned.cert)
    (problem,) = lint_ca_file(path, at=NOW).problems
    assert (problem.index, problem.problem, problem.subject) == (1, "not-a-ca", "CN=intranet.example")
    assert problem.line == begin_lines(path)[1]
    assert "only be trusted as the exact server certificate" in problem.detail
    # Not removed by default: pinning a server's own certificate is a legitimate setup.
    assert without_broken_entries(path, lint_ca_file(path, at=NOW)) == path.read_bytes()


def test_expired_and_not_yet_valid_entries(tmp_path):
    old = CA("Retired Root", not_before=NOW - 4000 * DAY, not_after=NOW - 10 * DAY)
    future = CA("Future Root", not_before=NOW + 10 * DAY, not_after=NOW + 4000 * DAY)
    path = write(tmp_path / "dates.pem", old.cert, future.cert)
    problems = lint_ca_file(path, at=NOW).problems
    assert [(p.index, p.problem) for p in problems] == [(0, "expired"), (1, "not-yet-valid")]
    assert "expired on" in problems[0].detail and "CN=Retired Root" in problems[0].detail
    # The same file linted at another time (the server's Date, say) is clean.
    assert lint_ca_file(path, at=NOW + 20 * DAY).problems[0].problem == "expired"
    assert [p.problem for p in lint_ca_file(path, at=NOW - 20 * DAY).problems] == ["not-yet-valid"]


def test_public_bundle_is_clean_of_breaking_problems():
    lint = lint_ca_file(certifi.where(), at=NOW)
    assert lint.error is None and lint.entries > 50
    assert not [p for p in lint.problems if p.problem in ("unparseable", "shadows", "not-a-ca")]


# -- files that are broken as a whole, or in part ------------------------------------------------


def test_garbage_between_certificates_is_not_a_problem(pki, tmp_path):
    path = tmp_path / "dump.pem"
    path.write_bytes(b"Bag Attributes\n  friendlyName: x\n" + pki.root.cert_pem + b"\xff\xfe junk\n" + pki.interception.cert_pem)
    lint = lint_ca_file(path, at=NOW)
    assert lint.entries == 2 and lint.problems == () and lint.openssl_error is None


def test_line_numbers_count_the_text_around_entries(pki, tmp_path):
    path = tmp_path / "exported.pem"
    shadow = serialization_pem(shadow_of(pki.root))
    path.write_bytes(b"# exported\r\n# by a tool\r\n\r\n" + shadow + b"subject=...\n" + pki.root.cert_pem)
    (problem,) = lint_ca_file(path, at=NOW).problems
    assert problem.line == 4 == begin_lines(path)[0]
    assert f"entry 1 (line {begin_lines(path)[1]})" in problem.detail


def serialization_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def test_truncated_entry_is_unparseable_with_its_line_and_removal_makes_openssl_load_the_file(pki, tmp_path):
    path = tmp_path / "truncated.pem"
    path.write_bytes(pki.root.cert_pem + pki.interception.cert_pem[:250])
    lint = lint_ca_file(path, at=NOW)
    (problem,) = lint.problems
    assert (problem.index, problem.problem, problem.subject) == (1, "unparseable", None)
    assert problem.line == begin_lines(path)[1]
    assert "no matching '-----END CERTIFICATE-----'" in problem.detail
    assert "OpenSSL refuses the whole file" in problem.detail
    with pytest.raises(ssl.SSLError):
        ssl.create_default_context(cafile=str(path))
    repaired = tmp_path / "repaired.pem"
    repaired.write_bytes(without_broken_entries(path, lint))
    ssl.create_default_context(cafile=str(repaired))  # loads


def test_bad_base64_and_bad_der_are_unparseable(pki, tmp_path):
    path = tmp_path / "bad.pem"
    path.write_bytes(
        b"-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n"
        + pki.root.cert_pem
        + b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(b"\x30\x03\x02\x01\x01") + b"-----END CERTIFICATE-----\n"
    )
    problems = lint_ca_file(path, at=NOW).problems
    assert [(p.index, p.problem) for p in problems] == [(0, "unparseable"), (2, "unparseable")]
    assert "bad base64" in problems[0].detail and "not a certificate" in problems[1].detail


def test_entry_only_cryptography_refuses_is_reported_but_kept(pki, tmp_path):
    # A long-form length where DER wants the short one: OpenSSL reads it, cryptography does not.
    der = pki.root.cert.public_bytes(serialization.Encoding.DER)
    assert der[1] == 0x82
    ber = b"\x30\x83\x00" + der[2:]
    path = tmp_path / "ber.pem"
    path.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(ber) + b"-----END CERTIFICATE-----\n")
    lint = lint_ca_file(path, at=NOW)
    (problem,) = lint.problems
    assert problem.problem == "unparseable" and "OpenSSL reads it" in problem.detail
    assert without_broken_entries(path, lint) == path.read_bytes()


def test_der_file_empty_file_missing_file_and_directory_are_errors(pki, tmp_path):
    der = tmp_path / "root.der"
    der.write_bytes(pki.root.cert.public_bytes(serialization.Encoding.DER))
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    cases = {
        der: "not PEM: the file is one DER-encoded certificate",
        empty: "empty file",
        tmp_path / "absent.pem": "missing: no such file",
        tmp_path: "a directory, not a CA file",
    }
    for path, error in cases.items():
        lint = lint_ca_file(path, at=NOW)
        assert lint.error.startswith(error) and lint.entries == 0 and lint.problems == ()
        with pytest.raises(ValueError):
            without_broken_entries(path, lint)


def test_oversized_file_is_refused(tmp_path):
    path = tmp_path / "huge.pem"
    with open(path, "wb") as fh:
        fh.truncate(10 * 1024 * 1024 + 1)
    assert lint_ca_file(path, at=NOW).error.startswith("too large")


def test_file_changed_since_the_lint_is_refused(pki, tmp_path):
    path = write(tmp_path / "ca.pem", shadow_of(pki.root), pki.root.cert)
    lint = lint_ca_file(path, at=NOW)
    write(path, pki.root.cert, shadow_of(pki.root))
    with pytest.raises(ValueError, match="changed since it was linted"):
        without_broken_entries(path, lint)


def test_nothing_left_is_an_empty_file(pki, tmp_path):
    path = tmp_path / "all-broken.pem"
    path.write_bytes(pki.root.cert_pem[:200])
    assert without_broken_entries(path, lint_ca_file(path, at=NOW)) == b""


# -- nothing a file holds makes the linter raise ---------------------------------------------------

PEM_PIECES = st.sampled_from([
    b"-----BEGIN CERTIFICATE-----\n", b"-----END CERTIFICATE-----\n", b"-----BEGIN TRUSTED CERTIFICATE-----\n",
    b"-----BEGIN X509 CRL-----\n", b"-----END X509 CRL-----\n", b"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n",
    b"MAA=\n", b"\r\n", b"\r", b"Proc-Type: 4\n", b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----\r\n",
])
FILE_CONTENTS = st.one_of(
    st.binary(max_size=4096),
    st.lists(st.one_of(PEM_PIECES, st.binary(max_size=64)), max_size=40).map(b"".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=FILE_CONTENTS)
def test_lint_never_raises_and_repair_gives_a_file_openssl_loads(tmp_path, content):
    path = tmp_path / "fuzz.pem"
    path.write_bytes(content)
    lint = lint_ca_file(path, at=NOW)
    assert isinstance(lint, CaFileLint)
    assert lint.error is not None or lint.entries > 0
    assert all(0 <= p.index < lint.entries and p.line >= 1 for p in lint.problems)
    if lint.error is None:
        repaired = without_broken_entries(path, lint)
        assert b"-----BEGIN" not in repaired  # random content never holds a valid certificate


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_lint_survives_damaged_certificates(pki, tmp_path, position, flip):
    der = bytearray(pki.root.cert.public_bytes(serialization.Encoding.DER))
    der[position % len(der)] ^= flip
    path = tmp_path / "damaged.pem"
    path.write_bytes(pki.root.cert_pem + b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bytes(der))
                     + b"-----END CERTIFICATE-----\n")
    lint = lint_ca_file(path, at=NOW)
    assert lint.error is None and lint.entries == 2
    repaired = without_broken_entries(path, lint)
    ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=repaired.decode("ascii"))

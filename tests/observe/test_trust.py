"""Trust sources and path validation: which source trusts the chain a server presented, and when.

The scenarios are the field's: a healthy origin trusted by the lab's CA file but by no
public bundle; an expired leaf that was fine last month; an interceptor whose CA only one
source holds; a certificate for the wrong name whose chain is otherwise fine. Then the
ways a CA file is broken on real machines, none of which may raise.
"""

from __future__ import annotations

import base64
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.pki import CA, IssuedCert, leaf_cert
from tlsdoctor.observe.trust import (
    MAX_PRESENTED_CERTS,
    TrustSource,
    default_ca_bundle,
    load_ca_file,
    os_trust_store,
    os_trust_store_if_read,
    verify_presented_chain,
)

NOW = datetime.now(timezone.utc).replace(microsecond=0)
DAY = timedelta(days=1)
ROOT = "CN=tlsdoctor Lab Root CA,O=tlsdoctor lab"


@pytest.fixture(scope="module")
def lab_pki() -> LabAuthorities:
    return LabAuthorities.create("http://127.0.0.1:1")


@pytest.fixture(scope="module")
def trust_files(lab_pki: LabAuthorities, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return lab_pki.write_trust_files(tmp_path_factory.mktemp("trust"))


@pytest.fixture(scope="module")
def healthy(lab_pki: LabAuthorities) -> IssuedCert:
    return lab_pki.intermediate.issue_cert("localhost", "127.0.0.1")


def presented(issued: IssuedCert) -> list[x509.Certificate]:
    """What the server sends: leaf, then intermediates."""
    return [issued.cert, *issued.chain]


def source_of(*certs: x509.Certificate, name: str = "extra-ca") -> TrustSource:
    return TrustSource(name, "test source", None, tuple(certs))


# -- the chain a server presents, against each trust source ------------------------------


def test_healthy_chain_verifies_against_the_lab_file_but_not_certifis_bundle(trust_files, healthy):
    lab = verify_presented_chain(presented(healthy), load_ca_file(trust_files["lab"]), host="localhost", at=NOW)
    assert lab.ok and lab.error is None
    assert lab.anchor == ROOT
    assert [c.subject.rfc4514_string() for c in lab.chain] == [
        "CN=localhost", "CN=tlsdoctor Lab Intermediate CA,O=tlsdoctor lab", ROOT
    ]
    assert lab.name_checked and lab.source == "ca-bundle"

    public = verify_presented_chain(presented(healthy), default_ca_bundle(), host="localhost", at=NOW)
    assert not public.ok and public.chain == () and public.anchor is None
    assert "candidates exhausted" in public.error


def test_ip_address_names_are_checked_as_addresses(trust_files, healthy):
    lab = load_ca_file(trust_files["lab"])
    assert verify_presented_chain(presented(healthy), lab, host="127.0.0.1", at=NOW).ok
    assert not verify_presented_chain(presented(healthy), lab, host="127.0.0.2", at=NOW).ok
    # Names are compared as certificates hold them: case-insensitively, no root dot.
    assert verify_presented_chain(presented(healthy), lab, host="LocalHost.", at=NOW).ok


def test_expired_leaf_fails_now_and_verifies_inside_its_validity_window(lab_pki, trust_files):
    expired = lab_pki.intermediate.issue_cert("localhost", not_before=NOW - 90 * DAY, not_after=NOW - 30 * DAY)
    lab = load_ca_file(trust_files["lab"])

    now = verify_presented_chain(presented(expired), lab, host="localhost", at=NOW)
    assert not now.ok and "not valid at validation time" in now.error

    # What a caller does with the server's Date header, to tell clock skew from expiry.
    last_month = verify_presented_chain(presented(expired), lab, host="localhost", at=NOW - 60 * DAY)
    assert last_month.ok and last_month.at == NOW - 60 * DAY


def test_naive_times_are_taken_as_utc(trust_files, healthy):
    naive = NOW.replace(tzinfo=None)
    result = verify_presented_chain(presented(healthy), load_ca_file(trust_files["lab"]), host="localhost", at=naive)
    assert result.ok and result.at == NOW


def test_interceptors_leaf_verifies_only_with_a_source_holding_the_interception_ca(lab_pki, trust_files):
    forged = lab_pki.interception.issue_cert("localhost")  # what an antivirus presents instead of the origin's chain
    lab = verify_presented_chain(presented(forged), load_ca_file(trust_files["lab"]), host="localhost", at=NOW)
    with_interceptor = verify_presented_chain(
        presented(forged), load_ca_file(trust_files["lab+interception"], name="os-store"), host="localhost", at=NOW
    )
    assert not lab.ok
    assert with_interceptor.ok and with_interceptor.source == "os-store"
    assert with_interceptor.anchor == "CN=Lab Antivirus Web Shield Root,O=Lab Antivirus Web Shield"


def test_hostname_mismatch_fails_with_the_host_and_verifies_chain_only(trust_files, healthy):
    lab = load_ca_file(trust_files["lab"])
    named = verify_presented_chain(presented(healthy), lab, host="www.example.com", at=NOW)
    chain_only = verify_presented_chain(presented(healthy), lab, host=None, at=NOW)
    assert not named.ok and "subjectAltName" in named.error
    assert chain_only.ok and not chain_only.name_checked and chain_only.anchor == ROOT


def test_names_only_in_the_cn_are_a_name_problem_not_a_chain_problem(lab_pki, trust_files):
    cn_only = lab_pki.intermediate.issue_cert("localhost", san=False)
    lab = load_ca_file(trust_files["lab"])
    assert not verify_presented_chain(presented(cn_only), lab, host="localhost", at=NOW).ok
    assert verify_presented_chain(presented(cn_only), lab, host=None, at=NOW).ok


def test_chain_only_still_requires_server_auth_usage(lab_pki, trust_files):
    # A client certificate on a server is cert.bad_usage: "chain only" must not hide it
    # (a plain client verifier would accept exactly this certificate).
    client_cert = lab_pki.intermediate.issue_cert("localhost", eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    no_eku = lab_pki.intermediate.issue_cert("localhost", eku=None)
    lab = load_ca_file(trust_files["lab"])
    refused = verify_presented_chain(presented(client_cert), lab, host=None, at=NOW)
    assert not refused.ok and "EKU" in refused.error
    assert verify_presented_chain(presented(no_eku), lab, host=None, at=NOW).ok  # absent EKU means any, as browsers do


def _intermediate_with_eku(root: CA, usages: list[x509.ObjectIdentifier]) -> CA:
    """An intermediate CA restricted by EKU, as public CAs now issue them."""
    inter = root.intermediate("EKU-restricted Intermediate")
    key = inter.key.private_key
    builder = (
        x509.CertificateBuilder()
        .subject_name(inter.cert.subject)
        .issuer_name(root.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + 365 * DAY)
    )
    for ext in inter.cert.extensions:
        builder = builder.add_extension(ext.value, ext.critical)
    builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    inter.cert = builder.sign(root.key.private_key, hashes.SHA256())
    return inter


def test_chain_only_applies_server_auth_to_intermediates_too(lab_pki):
    store = source_of(lab_pki.root.cert)
    server_ca = _intermediate_with_eku(lab_pki.root, [ExtendedKeyUsageOID.SERVER_AUTH])
    client_ca = _intermediate_with_eku(lab_pki.root, [ExtendedKeyUsageOID.CLIENT_AUTH])
    for ca, expected in ((server_ca, True), (client_ca, False)):
        leaf = ca.issue_cert("localhost")
        assert verify_presented_chain([leaf.cert, ca.cert], store, host=None, at=NOW).ok is expected
        assert verify_presented_chain([leaf.cert, ca.cert], store, host="localhost", at=NOW).ok is expected


def test_missing_intermediate_fails_and_any_order_of_intermediates_works(lab_pki, healthy):
    store = source_of(lab_pki.root.cert)
    assert not verify_presented_chain([healthy.cert], store, host="localhost", at=NOW).ok
    # Servers send intermediates out of order and twice; that is not a chain problem.
    messy = [healthy.cert, lab_pki.legacy.cert, *healthy.chain, *healthy.chain, lab_pki.root.cert]
    assert verify_presented_chain(messy, store, host="localhost", at=NOW).ok


def test_self_signed_certificate_pinned_in_a_ca_file_verifies_as_itself():
    pinned = leaf_cert("localhost")
    result = verify_presented_chain([pinned.cert], source_of(pinned.cert), host="localhost", at=NOW)
    assert result.ok and result.chain == (pinned.cert,)


def test_broken_twin_before_the_root_does_not_fool_cryptographys_verifier(trust_files, healthy):
    """Recorded because it is surprising: OpenSSL fails this chain ("invalid CA certificate",
    see test_ca_file_lint), cryptography backtracks past the twin and succeeds."""
    corrupt = load_ca_file(trust_files["corrupt"])
    assert len(corrupt.certificates) == 2
    result = verify_presented_chain(presented(healthy), corrupt, host="localhost", at=NOW)
    assert result.ok and result.chain[-1].extensions.get_extension_for_class(x509.BasicConstraints).value.ca


# -- verification that cannot start ---------------------------------------------------------


def test_empty_or_broken_source_is_a_failed_validation_not_an_exception(healthy, tmp_path):
    missing = load_ca_file(tmp_path / "nope.pem")
    result = verify_presented_chain(presented(healthy), missing, host="localhost", at=NOW)
    assert not result.ok and "no trust anchors" in result.error and "missing" in result.error

    empty = TrustSource("extra-ca", "nothing", None)
    assert "holds no certificates" in verify_presented_chain(presented(healthy), empty, host=None, at=NOW).error


def test_nothing_presented(lab_pki):
    result = verify_presented_chain([], source_of(lab_pki.root.cert), host="localhost", at=NOW)
    assert not result.ok and result.error == "no certificate was presented" and result.presented == 0


@pytest.mark.parametrize("host", ["", "bad host name", "exa mple.com", "xn--", "[::1", "é" * 300, ".", "a..b"])
def test_unusable_host_names_are_failed_validations(lab_pki, healthy, host):
    result = verify_presented_chain(presented(healthy), source_of(lab_pki.root.cert), host=host, at=NOW)
    assert not result.ok and result.error


def test_times_outside_what_certificates_can_express_do_not_raise(lab_pki, healthy):
    for at in (datetime(1, 1, 1, tzinfo=timezone.utc), datetime(9999, 12, 31, tzinfo=timezone.utc)):
        result = verify_presented_chain(presented(healthy), source_of(lab_pki.root.cert), host="localhost", at=at)
        assert not result.ok and result.error


# -- bounded work ------------------------------------------------------------------------------


def test_huge_chain_is_capped_and_says_so(lab_pki, healthy):
    # ~1 MB of certificates, as a misconfigured server (or a hostile one) may send.
    noise = [lab_pki.foreign_root.intermediate(f"Noise CA {i}").cert for i in range(40)]
    chain = [healthy.cert, *healthy.chain, *noise * 60]
    assert sum(len(c.public_bytes(serialization.Encoding.DER)) for c in chain) > 1_000_000
    started = time.monotonic()
    result = verify_presented_chain(chain, source_of(lab_pki.root.cert), host="localhost", at=NOW)
    assert time.monotonic() - started < 5
    assert result.ok  # the useful certificates came first, as in every real chain
    assert result.presented == len(chain) and result.considered == MAX_PRESENTED_CERTS


def test_certificate_with_ten_thousand_names(lab_pki):
    many = lab_pki.intermediate.issue_cert(*(f"h{i}.example.com" for i in range(10_000)), "localhost")
    store = source_of(lab_pki.root.cert)
    started = time.monotonic()
    assert verify_presented_chain(presented(many), store, host="localhost", at=NOW).ok
    assert not verify_presented_chain(presented(many), store, host="other.example.net", at=NOW).ok
    assert time.monotonic() - started < 5


def test_mesh_of_same_named_intermediates_is_bounded():
    root = CA("Mesh Root")
    mesh = [root.intermediate("Mesh CA", path_length=None)]
    for i in range(25):
        mesh.append(CA("Mesh CA", parent=mesh[i // 2], path_length=None))
    orphan = leaf_cert("localhost", issuer=CA("Mesh CA", parent=mesh[-1], path_length=None))  # its issuer is not sent
    started = time.monotonic()
    result = verify_presented_chain([orphan.cert, *(c.cert for c in mesh)], source_of(root.cert), host=None, at=NOW)
    assert not result.ok and time.monotonic() - started < 5


# -- loading CA files ------------------------------------------------------------------------


def test_lab_files_load(lab_pki, trust_files):
    lab = load_ca_file(trust_files["lab"])
    assert lab.usable and lab.certificates == (lab_pki.root.cert,)
    assert lab.name == "ca-bundle" and lab.path == str(trust_files["lab"])
    assert lab.description == f"CA file ({trust_files['lab']})"
    both = load_ca_file(trust_files["lab+interception"], name="extra-ca", description="REQUESTS_CA_BUNDLE (x)")
    assert both.entries_total == 2 and both.name == "extra-ca" and both.description == "REQUESTS_CA_BUNDLE (x)"


def test_certifis_bundle_is_the_default_ca_bundle():
    bundle = default_ca_bundle()
    assert bundle.name == "ca-bundle" and bundle.path == certifi.where()
    assert bundle.description.startswith("certifi's CA bundle (") and bundle.usable
    assert len(bundle.certificates) > 50 and bundle.unparseable == 0


def test_missing_file(tmp_path):
    source = load_ca_file(tmp_path / "absent.pem")
    assert source.error == "missing: no such file" and source.certificates == () and not source.usable


def test_dangling_symlink(tmp_path):
    (tmp_path / "link.pem").symlink_to(tmp_path / "gone.pem")
    assert "dangling symbolic link" in load_ca_file(tmp_path / "link.pem").error


def test_directory_instead_of_a_file(tmp_path):
    assert load_ca_file(tmp_path).error.startswith("a directory, not a CA file")


def test_empty_file(tmp_path):
    (tmp_path / "empty.pem").write_bytes(b"")
    (tmp_path / "blank.pem").write_bytes(b"\n \n")
    assert load_ca_file(tmp_path / "empty.pem").error == "empty file"
    assert load_ca_file(tmp_path / "blank.pem").error == "empty file"


def test_der_file_is_not_pem(lab_pki, tmp_path):
    path = tmp_path / "root.der"
    path.write_bytes(lab_pki.root.cert.public_bytes(serialization.Encoding.DER))
    source = load_ca_file(path)
    assert source.error.startswith("not PEM: the file is one DER-encoded certificate")
    assert ROOT in source.error and source.certificates == ()


def test_text_without_certificates_is_not_pem(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("see the wiki for the CA\n-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")
    assert load_ca_file(path).error.startswith("not PEM certificates: a private key and no certificate")


def test_garbage_between_certificates_is_ignored_like_openssl_does(lab_pki, tmp_path):
    path = tmp_path / "dumped.pem"
    path.write_bytes(
        b"# exported by a tool\n" + lab_pki.root.cert_pem + b"Certificate:\n    Data: \x00\xff junk\n"
        + lab_pki.interception.cert_pem + b"trailing words"
    )
    source = load_ca_file(path)
    assert source.usable and source.entries_total == 2 and source.unparseable == 0 and source.notes == ()


def test_truncated_file_keeps_the_good_entries_and_counts_the_broken_one(lab_pki, tmp_path):
    path = tmp_path / "truncated.pem"
    path.write_bytes(lab_pki.root.cert_pem + lab_pki.interception.cert_pem[:300])
    source = load_ca_file(path)
    assert source.error is None and source.certificates == (lab_pki.root.cert,)
    assert source.entries_total == 2 and source.unparseable == 1
    assert "OpenSSL refuses the whole file" in source.notes[0]


def test_file_whose_only_entry_is_broken_is_unusable(tmp_path):
    path = tmp_path / "broken.pem"
    path.write_bytes(b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
    source = load_ca_file(path)
    assert source.error == "no usable certificate: none of its 1 entries decodes" and source.unparseable == 1


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.pem"
    os.mkfifo(fifo)
    assert load_ca_file(fifo).error == "not a regular file"


def test_oversized_file_is_refused_unread(tmp_path):
    path = tmp_path / "huge.pem"
    with open(path, "wb") as fh:
        fh.truncate(11 * 1024 * 1024)  # sparse: costs no disk
    assert load_ca_file(path).error.startswith("too large")


def test_openssl_trusted_certificate_format_is_read(lab_pki, tmp_path):
    # `openssl x509 -trustout` output: the certificate followed by trust settings (here a
    # minimal empty aux SEQUENCE), under its own label.
    der = lab_pki.root.cert.public_bytes(serialization.Encoding.DER) + b"\x30\x00"
    body = base64.encodebytes(der)
    path = tmp_path / "trusted.pem"
    path.write_bytes(b"-----BEGIN TRUSTED CERTIFICATE-----\n" + body + b"-----END TRUSTED CERTIFICATE-----\n")
    assert load_ca_file(path).certificates == (lab_pki.root.cert,)


# -- the OS store ---------------------------------------------------------------------------


def test_os_store_honours_ssl_cert_file(lab_pki, trust_files):
    # SSL_CERT_DIR="" leaves out the machine's CA directory, so the file is all there is.
    source = os_trust_store(env={"SSL_CERT_FILE": str(trust_files["lab"]), "SSL_CERT_DIR": ""})
    assert source.name == "os-store" and source.usable
    assert source.certificates == (lab_pki.root.cert,)
    assert source.description == f"SSL_CERT_FILE ({trust_files['lab']})"
    assert source.path == str(trust_files["lab"])


def test_os_store_with_only_ssl_cert_file_set_still_adds_the_default_directory(lab_pki, trust_files):
    # OpenSSL loads the file *and* the directory; SSL_CERT_FILE does not replace the latter.
    source = os_trust_store(env={"SSL_CERT_FILE": str(trust_files["lab"])})
    assert lab_pki.root.cert in source.certificates
    assert source.description.startswith(f"SSL_CERT_FILE ({trust_files['lab']})")


def test_os_store_reads_a_hashed_directory_and_notes_unhashed_certificates(lab_pki, tmp_path):
    directory = tmp_path / "certs"
    directory.mkdir()
    (directory / "0a1b2c3d.0").write_bytes(lab_pki.root.cert_pem)
    (directory / "lab-root.pem").symlink_to(directory / "0a1b2c3d.0")  # same file: read once
    (directory / "interception.crt").write_bytes(lab_pki.interception.cert_pem)  # no hash link
    (directory / "README").write_text("not a certificate")
    source = os_trust_store(env={"SSL_CERT_FILE": "", "SSL_CERT_DIR": str(directory)})
    assert set(source.certificates) == {lab_pki.root.cert, lab_pki.interception.cert}
    assert source.description == f"SSL_CERT_DIR ({directory})"
    assert any("1 certificates" in n and "no OpenSSL hash link" in n for n in source.notes)


def test_os_store_with_nothing_loadable_says_why(tmp_path):
    source = os_trust_store(env={"SSL_CERT_FILE": str(tmp_path / "no.pem"), "SSL_CERT_DIR": str(tmp_path / "nodir")})
    assert not source.usable and source.certificates == ()
    assert "SSL_CERT_FILE" in source.error and "missing" in source.error and "SSL_CERT_DIR" in source.error


def test_os_store_notes_a_missing_ssl_cert_file_that_openssl_would_ignore(lab_pki, tmp_path):
    directory = tmp_path / "certs"
    directory.mkdir()
    (directory / "0a1b2c3d.0").write_bytes(lab_pki.root.cert_pem)
    source = os_trust_store(env={"SSL_CERT_FILE": str(tmp_path / "typo.pem"), "SSL_CERT_DIR": str(directory)})
    assert source.usable and source.certificates == (lab_pki.root.cert,)
    assert any(n.startswith("not loaded: SSL_CERT_FILE") for n in source.notes)


def test_os_store_of_this_machine_does_not_raise():
    source = os_trust_store()
    assert source.name == "os-store" and source.description
    assert source.error is None or not source.certificates


# -- nothing a file holds makes a loader raise ------------------------------------------------

PEM_PIECES = st.sampled_from([
    b"-----BEGIN CERTIFICATE-----\n", b"-----END CERTIFICATE-----\n", b"-----BEGIN TRUSTED CERTIFICATE-----\n",
    b"-----END X509 CRL-----\n", b"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n", b"MAA=\n", b"\r\n", b"Proc-Type: 4\n",
])
FILE_CONTENTS = st.one_of(
    st.binary(max_size=4096),
    st.lists(st.one_of(PEM_PIECES, st.binary(max_size=64)), max_size=40).map(b"".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=FILE_CONTENTS)
def test_load_ca_file_never_raises(tmp_path, content):
    path = tmp_path / "fuzz.pem"
    path.write_bytes(content)
    source = load_ca_file(path)
    assert source.error is not None or source.certificates
    assert source.entries_total >= source.unparseable


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(min_size=1, max_size=2048))
def test_load_ca_file_survives_damaged_certificates(lab_pki, tmp_path, content):
    der = bytearray(lab_pki.root.cert.public_bytes(serialization.Encoding.DER))
    der[len(content) % len(der)] ^= content[0] or 1
    path = tmp_path / "damaged.pem"
    path.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bytes(der)) + b"-----END CERTIFICATE-----\n")
    source = load_ca_file(path)
    if source.certificates:
        verify_presented_chain([source.certificates[0]], source, host="localhost", at=NOW)


def test_parsed_sources_are_cached_per_process_and_reread_when_the_file_changes(lab_pki, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 9: the OS store took 58-92 ms to re-read on every diagnosis; a changed file is read again."""
    path = tmp_path / "store.pem"
    path.write_bytes(lab_pki.root.cert_pem)
    first = load_ca_file(path)
    assert load_ca_file(path) is first  # same path, size, mtime, inode: the parsed source is reused
    env = {"SSL_CERT_FILE": str(path), "SSL_CERT_DIR": ""}
    assert os_trust_store(env) is os_trust_store(env)
    path.write_bytes(lab_pki.root.cert_pem + lab_pki.foreign_root.cert_pem)
    second = load_ca_file(path)
    assert second is not first and len(second.certificates) == 2
    assert len(os_trust_store(env).certificates) == 2


def test_the_os_store_is_offered_without_a_thread_only_when_this_process_read_it_as_it_stands(lab_pki, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A diagnosis skips the worker thread when the store is in memory: never a stale one.
    path = tmp_path / "os-store.pem"
    path.write_bytes(lab_pki.root.cert_pem)
    env = {"SSL_CERT_FILE": str(path), "SSL_CERT_DIR": ""}
    assert os_trust_store_if_read(env) is None  # not read yet: the caller reads it (in a thread)
    read = os_trust_store(env)
    assert os_trust_store_if_read(env) is read
    path.write_bytes(lab_pki.root.cert_pem + lab_pki.foreign_root.cert_pem)
    assert os_trust_store_if_read(env) is None  # changed on disk: read again, not the old reading
    assert len(os_trust_store(env).certificates) == 2

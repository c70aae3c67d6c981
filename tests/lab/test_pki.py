"""The lab's certificate factory.

Two promises are checked here. The default call makes what a strict RFC 5280 verifier
(``cryptography.x509.verification``, and OpenSSL itself) accepts; and each keyword that
breaks a certificate breaks exactly the property it names, and nothing else.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    ExtensionOID,
    NameOID,
    SignatureAlgorithmOID,
)
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.pki import CA, CLIENT_AUTH, SERVER_AUTH, IssuedCert, Key, leaf_cert, pem_bundle, shadow_of

SERVICES = "http://127.0.0.1:8080"
LAB_NAMES = ("localhost", "127.0.0.1", "::1")
NOW = datetime.now(timezone.utc).replace(microsecond=0)
DAY = timedelta(days=1)
YEAR = 365 * DAY


# -- helpers -------------------------------------------------------------------------------


def verify_server(issued: IssuedCert, root: CA, identity: x509.GeneralName, at: datetime | None = None):
    """Strict RFC 5280 / CA/B path validation of ``issued`` (with its chain) up to ``root``."""
    policy = PolicyBuilder().store(Store([root.cert]))
    if at is not None:
        policy = policy.time(at)
    return policy.build_server_verifier(identity).verify(issued.cert, list(issued.chain))


def dns(name: str) -> x509.DNSName:
    return x509.DNSName(name)


def ip(address: str) -> x509.IPAddress:
    return x509.IPAddress(ipaddress.ip_address(address))


LAB_SAN = [dns("localhost"), ip("127.0.0.1"), ip("::1")]


def check_signature(cert: x509.Certificate, issuer_public_key: object) -> None:
    """Verify ``cert``'s signature with ``issuer_public_key``, whatever the digest (SHA-1 included)."""
    digest = cert.signature_hash_algorithm
    assert digest is not None
    if isinstance(issuer_public_key, rsa.RSAPublicKey):
        issuer_public_key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), digest)
    elif isinstance(issuer_public_key, ec.EllipticCurvePublicKey):
        issuer_public_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(digest))
    else:  # pragma: no cover - the lab makes RSA and EC keys only
        raise AssertionError(f"unexpected issuer key {issuer_public_key!r}")


def ext(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> x509.Extension:
    return cert.extensions.get_extension_for_oid(oid)


def ski_of(cert: x509.Certificate) -> bytes:
    return ext(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER).value.digest


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab() -> LabAuthorities:
    """The PKI exactly as the running lab makes it (services at a fixed address)."""
    return LabAuthorities.create(SERVICES)


@pytest.fixture(scope="module")
def ok(lab: LabAuthorities) -> IssuedCert:
    """The leaf of the ``ok`` scenario: the normal call, nothing changed."""
    return lab.intermediate.issue_cert(*LAB_NAMES)


@pytest.fixture(scope="module")
def seasoned() -> CA:
    """An intermediate whose hierarchy is valid from 21 years ago to 21 years ahead.

    The lab's own CAs start an hour ago, so a verifier sent back in time would reject
    *them*; to check a leaf's window alone, its issuers must cover that window.
    """
    window = {"not_before": NOW - 21 * YEAR, "not_after": NOW + 21 * YEAR}
    root = CA("Seasoned Root CA", organization="tlsdoctor tests", **window)
    return root.intermediate("Seasoned Intermediate CA", **window)


# -- (a) the ok chain passes strict path validation -----------------------------------------


@pytest.mark.parametrize(
    "identity", [dns("localhost"), ip("127.0.0.1"), ip("::1")], ids=["localhost", "127.0.0.1", "::1"]
)
def test_ok_chain_verifies_strictly_for_every_lab_address(lab: LabAuthorities, ok: IssuedCert, identity):
    path = verify_server(ok, lab.root, identity)
    assert path == [ok.cert, lab.intermediate.cert, lab.root.cert]


def test_ok_chain_is_refused_for_a_name_it_does_not_carry(lab: LabAuthorities, ok: IssuedCert):
    # The same verifier, the same chain: only the name differs. Proves the check above can fail.
    with pytest.raises(VerificationError, match="no matching subjectAltName"):
        verify_server(ok, lab.root, dns("example.com"))


def test_ok_chain_is_refused_by_a_store_holding_another_root(lab: LabAuthorities, ok: IssuedCert):
    with pytest.raises(VerificationError):
        verify_server(ok, lab.foreign_root, dns("localhost"))


def test_a_server_sends_the_intermediate_but_not_the_root(lab: LabAuthorities, ok: IssuedCert):
    assert ok.chain == (lab.intermediate.cert,)


def test_every_certificate_links_to_its_issuer_by_ski_and_aki(lab: LabAuthorities, ok: IssuedCert):
    links = [(ok.cert, lab.intermediate.cert), (lab.intermediate.cert, lab.root.cert), (lab.root.cert, lab.root.cert)]
    for cert, issuer in links:
        expected_ski = x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
        assert ski_of(cert) == expected_ski, cert.subject
        aki = ext(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
        assert not aki.critical  # RFC 5280 §4.2.1.1: MUST be non-critical
        assert aki.value.key_identifier == ski_of(issuer), cert.subject


def test_basic_constraints_are_critical_and_say_who_is_a_ca(lab: LabAuthorities, ok: IssuedCert):
    expected = {
        lab.root.cert: x509.BasicConstraints(ca=True, path_length=None),
        lab.intermediate.cert: x509.BasicConstraints(ca=True, path_length=0),  # issues leaves only
        ok.cert: x509.BasicConstraints(ca=False, path_length=None),
    }
    for cert, constraints in expected.items():
        bc = ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
        assert bc.critical, cert.subject
        assert bc.value == constraints, cert.subject


def test_ca_key_usage_is_critical_and_allows_signing_certificates_and_crls(lab: LabAuthorities):
    for ca in (lab.root, lab.intermediate, lab.legacy):
        ku = ext(ca.cert, ExtensionOID.KEY_USAGE)
        assert ku.critical, ca.name
        assert ku.value.key_cert_sign and ku.value.crl_sign, ca.name


def test_leaf_is_for_tls_servers(ok: IssuedCert):
    assert list(ext(ok.cert, ExtensionOID.EXTENDED_KEY_USAGE).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    ku = ext(ok.cert, ExtensionOID.KEY_USAGE)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
    assert not ku.value.key_encipherment  # an EC key cannot do RSA key transport


def test_san_lists_every_address_and_is_not_critical_beside_a_subject(ok: IssuedCert):
    san = ext(ok.cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    assert list(san.value) == LAB_SAN
    assert len(ok.cert.subject) > 0
    assert not san.critical


def test_an_empty_subject_makes_the_san_critical_and_still_verifies(lab: LabAuthorities):
    # RFC 5280 §4.2.1.6: with an empty subject, the SAN MUST be critical.
    nameless = lab.intermediate.issue_cert("localhost", common_name="")
    assert len(nameless.cert.subject) == 0
    assert ext(nameless.cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME).critical
    verify_server(nameless, lab.root, dns("localhost"))


def test_certificates_point_at_the_issuing_cas_services(lab: LabAuthorities, ok: IssuedCert):
    for cert, issuer in [(ok.cert, "intermediate"), (lab.intermediate.cert, "root")]:
        access = ext(cert, ExtensionOID.AUTHORITY_INFORMATION_ACCESS).value
        aia = {(d.access_method, d.access_location.value) for d in access}
        assert aia == {
            (AuthorityInformationAccessOID.OCSP, f"{SERVICES}/ocsp/{issuer}"),
            (AuthorityInformationAccessOID.CA_ISSUERS, f"{SERVICES}/ca/{issuer}.der"),
        }
        (point,) = ext(cert, ExtensionOID.CRL_DISTRIBUTION_POINTS).value
        assert [n.value for n in point.full_name] == [f"{SERVICES}/crl/{issuer}.crl"]


def test_keyword_free_leaves_are_fresh_ecdsa_sha256_and_live_90_days(ok: IssuedCert):
    assert isinstance(ok.cert.public_key(), ec.EllipticCurvePublicKey)
    assert isinstance(ok.cert.signature_hash_algorithm, hashes.SHA256)
    assert ok.cert.not_valid_before_utc <= datetime.now(timezone.utc) <= ok.cert.not_valid_after_utc
    assert ok.cert.not_valid_after_utc - ok.cert.not_valid_before_utc == timedelta(days=90, hours=1)


# -- (b) one keyword changed breaks exactly what it says -----------------------------------


@pytest.mark.parametrize(
    ("window", "inside"),
    [
        pytest.param((NOW - 120 * DAY, NOW - 30 * DAY), NOW - 60 * DAY, id="expired"),
        pytest.param((NOW + 30 * DAY, NOW + 120 * DAY), NOW + 60 * DAY, id="not-yet-valid"),
    ],
)
def test_a_validity_window_away_from_now_breaks_only_the_dates(seasoned: CA, window, inside: datetime):
    not_before, not_after = window
    cert = seasoned.issue_cert("localhost", not_before=not_before, not_after=not_after)
    root = seasoned.parent
    assert root is not None
    with pytest.raises(VerificationError, match="not valid at validation time"):
        verify_server(cert, root, dns("localhost"))
    # Everything else is sound: at a moment inside its window the same chain verifies.
    verify_server(cert, root, dns("localhost"), at=inside)


@pytest.mark.parametrize(("digest", "oid", "algorithm"), [
    ("sha1", SignatureAlgorithmOID.RSA_WITH_SHA1, hashes.SHA1),
    ("md5", SignatureAlgorithmOID.RSA_WITH_MD5, hashes.MD5),
])
def test_a_legacy_digest_from_an_rsa_issuer_is_a_real_legacy_signature(lab: LabAuthorities, digest, oid, algorithm):
    issued = lab.legacy.issue_cert(*LAB_NAMES, digest=digest)
    cert = issued.cert
    assert isinstance(cert.signature_hash_algorithm, algorithm)
    assert cert.signature_algorithm_oid == oid
    check_signature(cert, lab.legacy.cert.public_key())
    # Re-signed, not merely relabelled: the signature is over the patched TBS with the legacy digest.
    with pytest.raises(InvalidSignature):
        issuer_key = lab.legacy.cert.public_key()
        issuer_key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA256())
    # Only the digest changed: names, extensions and chain are those of a normal leaf.
    assert list(ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value) == LAB_SAN
    assert issued.chain == (lab.legacy.cert,)
    with pytest.raises(VerificationError, match="Forbidden signature algorithm"):
        verify_server(issued, lab.root, dns("localhost"))


def test_the_legacy_rsa_intermediate_itself_is_sound(lab: LabAuthorities):
    # So that, in the sha1 scenario, the leaf's digest is the only thing wrong.
    verify_server(lab.legacy.issue_cert("localhost"), lab.root, dns("localhost"))


def test_sha1_needs_an_rsa_issuer(lab: LabAuthorities):
    with pytest.raises(ValueError, match="RSA"):
        lab.intermediate.issue_cert("localhost", digest="sha1")


def test_a_1024_bit_rsa_key_is_what_the_leaf_carries(lab: LabAuthorities):
    weak = lab.intermediate.issue_cert("localhost", key=Key.rsa(1024))
    public_key = weak.cert.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size == 1024
    assert weak.key.description == "RSA 1024"
    assert ext(weak.cert, ExtensionOID.KEY_USAGE).value.key_encipherment  # RSA key exchange in TLS 1.2
    check_signature(weak.cert, lab.intermediate.cert.public_key())  # still signed by the EC intermediate


def test_san_false_leaves_the_names_in_the_common_name_only(lab: LabAuthorities):
    cert = lab.intermediate.issue_cert("localhost", san=False)
    with pytest.raises(x509.ExtensionNotFound):
        ext(cert.cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    assert cert.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "localhost"
    with pytest.raises(VerificationError, match="no subjectAltName"):
        verify_server(cert, lab.root, dns("localhost"))


def test_client_auth_eku_is_refused_for_a_server(lab: LabAuthorities):
    cert = lab.intermediate.issue_cert("localhost", eku=(CLIENT_AUTH,))
    assert list(ext(cert.cert, ExtensionOID.EXTENDED_KEY_USAGE).value) == [CLIENT_AUTH]
    assert SERVER_AUTH not in ext(cert.cert, ExtensionOID.EXTENDED_KEY_USAGE).value
    with pytest.raises(VerificationError, match="EKU"):
        verify_server(cert, lab.root, dns("localhost"))


def test_must_staple_adds_the_tls_feature_status_request(lab: LabAuthorities, ok: IssuedCert):
    stapled = lab.intermediate.issue_cert("localhost", must_staple=True)
    assert list(ext(stapled.cert, ExtensionOID.TLS_FEATURE).value) == [x509.TLSFeatureType.status_request]
    with pytest.raises(x509.ExtensionNotFound):
        ext(ok.cert, ExtensionOID.TLS_FEATURE)
    verify_server(stapled, lab.root, dns("localhost"))  # the extension alone does not fail a path


def test_a_dns_name_too_long_for_a_common_name_still_gets_a_certificate(lab: LabAuthorities):
    # 72 characters: a valid DNS name (RFC 1035 allows 253), seen in the field as cloud load
    # balancer names. Public CAs then leave the CN out and put the name in the SAN only.
    name = "a" * 60 + ".example.com"
    issued = lab.intermediate.issue_cert(name)
    assert list(ext(issued.cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value) == [dns(name)]
    verify_server(issued, lab.root, dns(name))


def test_leaf_cert_without_issuer_is_self_signed_and_not_a_ca():
    mine = leaf_cert(*LAB_NAMES)
    assert mine.cert.issuer == mine.cert.subject
    assert ext(mine.cert, ExtensionOID.BASIC_CONSTRAINTS).value.ca is False
    mine.cert.verify_directly_issued_by(mine.cert)
    assert mine.chain == ()
    with pytest.raises(x509.ExtensionNotFound):  # nothing to point at without a CA
        ext(mine.cert, ExtensionOID.AUTHORITY_INFORMATION_ACCESS)


def test_shadow_of_a_ca_has_its_name_and_key_but_is_no_ca(lab: LabAuthorities):
    twin = shadow_of(lab.root)
    assert twin.subject == lab.root.cert.subject
    assert twin.public_key() == lab.root.cert.public_key()
    assert ext(twin, ExtensionOID.BASIC_CONSTRAINTS).value.ca is False
    assert twin.serial_number != lab.root.cert.serial_number
    twin.verify_directly_issued_by(lab.root.cert)  # same key, so its signature checks out


def test_a_revoked_certificate_is_listed_in_a_crl_the_ca_signed(lab: LabAuthorities):
    ca = lab.root.intermediate("Revoking Intermediate CA")  # its own list, not the shared lab's
    revoked = ca.issue_cert("localhost")
    kept = ca.issue_cert("localhost")
    when = NOW - timedelta(hours=2)
    assert ca.crl().get_revoked_certificate_by_serial_number(revoked.cert.serial_number) is None

    ca.revoke(revoked.cert, when)
    crl = ca.crl()

    entry = crl.get_revoked_certificate_by_serial_number(revoked.cert.serial_number)
    assert entry is not None and entry.revocation_date_utc == when
    assert crl.get_revoked_certificate_by_serial_number(kept.cert.serial_number) is None
    assert crl.issuer == ca.cert.subject
    assert crl.is_signature_valid(ca.cert.public_key())
    assert not crl.is_signature_valid(lab.intermediate.cert.public_key())
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski_of(ca.cert)
    assert crl.last_update_utc <= datetime.now(timezone.utc) < crl.next_update_utc  # type: ignore[operator]


# -- (c) OpenSSL agrees ---------------------------------------------------------------------

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")


def openssl_verify(directory: Path, leaf: x509.Certificate, *untrusted: x509.Certificate, cafile: Path, options=()):
    (directory / "leaf.pem").write_bytes(pem_bundle([leaf]))
    (directory / "inter.pem").write_bytes(pem_bundle(untrusted))
    return subprocess.run(
        [OPENSSL, "verify", *options, "-CAfile", str(cafile), "-untrusted", str(directory / "inter.pem"), "leaf.pem"],
        cwd=directory,
        capture_output=True, text=True, timeout=30, check=False,
    )


@pytest.fixture
def root_pem(tmp_path: Path, lab: LabAuthorities) -> Path:
    path = tmp_path / "root.pem"
    path.write_bytes(lab.root.cert_pem)
    return path


@needs_openssl
@pytest.mark.parametrize(
    "options",
    [
        pytest.param((), id="plain"),
        pytest.param(("-x509_strict", "-purpose", "sslserver", "-verify_hostname", "localhost"), id="strict-localhost"),
        pytest.param(("-x509_strict", "-purpose", "sslserver", "-verify_ip", "127.0.0.1"), id="strict-127.0.0.1"),
        pytest.param(("-x509_strict", "-purpose", "sslserver", "-verify_ip", "::1"), id="strict-::1"),
    ],
)
def test_openssl_verifies_the_ok_chain(tmp_path: Path, lab: LabAuthorities, ok: IssuedCert, root_pem: Path, options):
    result = openssl_verify(tmp_path, ok.cert, lab.intermediate.cert, cafile=root_pem, options=options)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("leaf.pem: OK")


@needs_openssl
def test_openssl_refuses_the_expired_leaf_for_its_dates(tmp_path: Path, lab: LabAuthorities, root_pem: Path):
    expired = lab.intermediate.issue_cert(*LAB_NAMES, not_before=NOW - 120 * DAY, not_after=NOW - 30 * DAY)
    result = openssl_verify(tmp_path, expired.cert, lab.intermediate.cert, cafile=root_pem)
    assert result.returncode != 0
    assert "certificate has expired" in result.stdout + result.stderr


@needs_openssl
def test_openssl_checks_the_resigned_sha1_signature_and_calls_the_digest_too_weak(
    tmp_path: Path, lab: LabAuthorities, root_pem: Path
):
    sha1 = lab.legacy.issue_cert(*LAB_NAMES, digest="sha1").cert
    # At auth level 0 OpenSSL accepts SHA-1, so success means the signature is genuinely valid...
    lenient = openssl_verify(tmp_path, sha1, lab.legacy.cert, cafile=root_pem, options=("-auth_level", "0"))
    assert lenient.returncode == 0, lenient.stdout + lenient.stderr
    # ...and at level 1 (every TLS client's default) the failure is the digest: X509_V_ERR_CA_MD_TOO_WEAK.
    strict = openssl_verify(tmp_path, sha1, lab.legacy.cert, cafile=root_pem, options=("-auth_level", "1"))
    assert strict.returncode != 0
    assert "error 68 at 0 depth" in strict.stdout + strict.stderr


@needs_openssl
def test_openssl_trips_over_the_shadow_root_placed_before_the_real_one(
    tmp_path: Path, lab: LabAuthorities, ok: IssuedCert
):
    # The "corrupt CA bundle" of the field, as shadow_of's docstring describes it.
    corrupt = tmp_path / "corrupt.pem"
    corrupt.write_bytes(pem_bundle([shadow_of(lab.root), lab.root.cert]))
    result = openssl_verify(tmp_path, ok.cert, lab.intermediate.cert, cafile=corrupt)
    assert result.returncode != 0
    assert "invalid CA certificate" in result.stdout + result.stderr


# -- (d) any window, any names: the leaf says what it was asked to say -----------------------

_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
_dns_name = st.lists(_label, min_size=1, max_size=4).map(".".join)
_seconds = st.integers(min_value=-20 * 365 * 86400, max_value=20 * 365 * 86400)


@st.composite
def _windows(draw: st.DrawFn) -> tuple[datetime, datetime, datetime]:
    """(not_before, not_after, a moment inside), within ±20 years of now, with sub-second noise."""
    start, end = sorted(draw(st.lists(_seconds, min_size=2, max_size=2, unique=True)))
    noise = st.integers(0, 999_999)
    not_before = NOW + timedelta(seconds=start, microseconds=draw(noise))
    not_after = NOW + timedelta(seconds=end, microseconds=draw(noise))
    inside = NOW + timedelta(seconds=draw(st.integers(start, end)))
    return not_before, not_after, inside


@settings(max_examples=30, deadline=None)
@given(
    window=_windows(),
    names=st.lists(_dns_name, min_size=1, max_size=20, unique=True),
    addresses=st.lists(st.ip_addresses().map(str), max_size=3, unique=True),
)
def test_an_issued_leaf_round_trips_its_names_and_window(seasoned: CA, window, names: list[str], addresses: list[str]):
    not_before, not_after, inside = window
    issued = seasoned.issue_cert(*names, *addresses, not_before=not_before, not_after=not_after)

    san = ext(issued.cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    assert list(san) == [dns(n) for n in names] + [ip(a) for a in addresses]
    # X.509 times have whole seconds: sub-second input is truncated, never rounded or shifted.
    assert issued.cert.not_valid_before_utc == not_before.replace(microsecond=0)
    assert issued.cert.not_valid_after_utc == not_after.replace(microsecond=0)
    root = seasoned.parent
    assert root is not None
    verify_server(issued, root, dns(names[0]), at=inside)

"""The lab's certificate factory: a tiny, trustme-like API over ``cryptography``.

A broken certificate is the normal call with one keyword changed::

    root = CA("Lab Root CA")
    inter = root.intermediate("Lab Intermediate CA", ocsp_url=..., crl_url=...)
    good = inter.issue_cert("localhost", "127.0.0.1")
    expired = inter.issue_cert("localhost", not_after=now - timedelta(days=30))
    weak = inter.issue_cert("localhost", key=Key.rsa(1024), digest="sha1")
    mine = leaf_cert("localhost")                      # self-signed

Defaults are what a strict RFC 5280 verifier (``cryptography.x509.verification``,
sslyze, browsers) accepts: critical basicConstraints and keyUsage on CAs, SKI/AKI on
every certificate, a non-critical SAN when the subject is not empty, serverAuth EKU.
Keys default to ECDSA P-256 because the lab makes a dozen keys at start-up and RSA
generation would dominate its start time.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Literal, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

Digest = Literal["sha256", "sha384", "sha512", "sha1", "md5"]

_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
    "sha1": hashes.SHA1,
    "md5": hashes.MD5,
}

# Backdating by an hour absorbs small clock differences between the lab and its clients,
# as public CAs do; the default lifetime is that of a modern public leaf.
_BACKDATE = timedelta(hours=1)
_LEAF_LIFETIME = timedelta(days=90)
_CA_LIFETIME = timedelta(days=3650)
# CAs are backdated years, like real roots: a leaf that expired last month must still
# chain to CAs that were valid then, so that "valid at some other time" can be checked.
_CA_BACKDATE = timedelta(days=5 * 365)

SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass(frozen=True)
class Key:
    """A private key and how it was made (kept so a scenario can say "RSA 1024")."""

    private_key: CertificateIssuerPrivateKeyTypes
    description: str

    @classmethod
    def ec(cls, curve: str = "P-256") -> "Key":
        curves = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1}
        return cls(ec.generate_private_key(curves[curve]()), f"ECDSA {curve}")

    @classmethod
    def rsa(cls, bits: int = 2048) -> "Key":
        # 65537 is the only exponent anyone should use; small sizes are allowed on purpose.
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=bits), f"RSA {bits}")

    def pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


@dataclass(frozen=True)
class IssuedCert:
    """A certificate with its key and the chain a server should send with it.

    ``chain`` holds the intermediates a correctly configured server sends after the leaf,
    root excluded (RFC 8446 §4.4.2 allows omitting the trust anchor, and everyone does).
    """

    cert: x509.Certificate
    key: Key
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.pem()

    def chain_pem(self, *, include_chain: bool = True) -> bytes:
        """Leaf first, then the intermediates: the order of a TLS Certificate message."""
        certs = (self.cert, *self.chain) if include_chain else (self.cert,)
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)

    def write(self, directory: Path, stem: str, *, include_chain: bool = True) -> tuple[Path, Path]:
        """Write ``stem.chain.pem`` and ``stem.key.pem`` (what nginx and OpenSSL load)."""
        directory.mkdir(parents=True, exist_ok=True)
        chain_path = directory / f"{stem}.chain.pem"
        key_path = directory / f"{stem}.key.pem"
        chain_path.write_bytes(self.chain_pem(include_chain=include_chain))
        key_path.write_bytes(self.key_pem)
        key_path.chmod(0o600)
        return chain_path, key_path


def _name(common_name: str | None, organization: str | None = None) -> x509.Name:
    attrs = []
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if common_name:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _general_name(identity: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(identity))
    except ValueError:
        return x509.DNSName(identity)


def _ski(key: Key) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(key.private_key.public_key())


@dataclass
class CA:
    """A certificate authority that can issue intermediates and leaves, and revoke them.

    Revocation state lives here so that the lab's OCSP responder and CRL tell the same
    story, as a real CA's do.
    """

    name: str
    organization: str | None = None
    key: Key = field(default_factory=Key.ec)
    parent: "CA | None" = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    path_length: int | None = None
    ocsp_url: str | None = None  # put into the AIA of certificates this CA issues
    ca_issuers_url: str | None = None  # where this CA's own certificate can be fetched
    crl_url: str | None = None  # put into the CRL DP of certificates this CA issues
    digest: Digest = "sha256"
    revoked: dict[int, datetime] = field(default_factory=dict)
    cert: x509.Certificate = field(init=False)

    def __post_init__(self) -> None:
        now = _now()
        subject = _name(self.name, self.organization)
        issuer_key = self.parent.key if self.parent else self.key
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.parent.cert.subject if self.parent else subject)
            .public_key(self.key.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.not_before or now - _CA_BACKDATE)
            .not_valid_after(self.not_after or now + _CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=self.path_length), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(_ski(self.key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.private_key.public_key()),
                critical=False,
            )
        )
        if self.parent is not None:
            builder = self.parent._add_issuer_pointers(builder)
        self.cert = _sign(builder, issuer_key, self.parent.digest if self.parent else self.digest)

    # -- issuing -----------------------------------------------------------------------

    def intermediate(self, name: str, **options: object) -> "CA":
        """A subordinate CA signed by this one (path length 0: it issues only leaves)."""
        options.setdefault("path_length", 0)
        options.setdefault("organization", self.organization)
        return CA(name, parent=self, **options)  # type: ignore[arg-type]

    def issue_cert(self, *identities: str, issuer_pointers: bool = True, **options: object) -> IssuedCert:
        """Issue a leaf for ``identities`` (DNS names or IP addresses).

        Options are those of :func:`leaf_cert`; each breaks one property at a time.
        """
        pointers = self._add_issuer_pointers if issuer_pointers else None
        options.setdefault("digest", self.digest)
        return leaf_cert(*identities, issuer=self, add_pointers=pointers, **options)  # type: ignore[arg-type]

    def _add_issuer_pointers(self, builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
        """AIA (OCSP, caIssuers) and CRL DP, pointing at this CA's services."""
        access = []
        if self.ocsp_url:
            access.append(x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(self.ocsp_url)))
        if self.ca_issuers_url:
            access.append(
                x509.AccessDescription(
                    AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(self.ca_issuers_url)
                )
            )
        if access:
            builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
        if self.crl_url:
            builder = builder.add_extension(
                x509.CRLDistributionPoints(
                    [x509.DistributionPoint([x509.UniformResourceIdentifier(self.crl_url)], None, None, None)]
                ),
                critical=False,
            )
        return builder

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """The certificates a server sends above a leaf of this CA (roots excluded)."""
        if self.parent is None:
            return ()
        return (self.cert, *self.parent.chain)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    # -- revocation --------------------------------------------------------------------

    def revoke(self, cert: x509.Certificate, when: datetime | None = None) -> None:
        self.revoked[cert.serial_number] = when or _now() - timedelta(minutes=5)

    def crl(self, *, next_update: timedelta = timedelta(days=7)) -> x509.CertificateRevocationList:
        now = _now()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(now - _BACKDATE)
            .next_update(now + next_update)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.private_key.public_key()), critical=False
            )
            .add_extension(x509.CRLNumber(1), critical=False)
        )
        for serial, when in sorted(self.revoked.items()):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
            )
        # CRLs have no legacy-digest use case; keep them signable whatever the CA's digest.
        crl_digest = "sha256" if self.digest in _LEGACY_DIGEST_OIDS else self.digest
        return builder.sign(self.key.private_key, _DIGESTS[crl_digest]())


def leaf_cert(
    *identities: str,
    issuer: CA | None = None,
    add_pointers: "Callable[[x509.CertificateBuilder], x509.CertificateBuilder] | None" = None,
    common_name: str | None = None,
    organization: str | None = None,
    key: Key | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    digest: Digest = "sha256",
    san: bool = True,
    eku: Sequence[x509.ObjectIdentifier] | None = (SERVER_AUTH,),
    key_usage: bool = True,
    must_staple: bool = False,
) -> IssuedCert:
    """A server leaf (CA:FALSE) for ``identities``; self-signed when ``issuer`` is None.

    The keywords exist to break one property at a time: a validity window in the past
    or future, a weak ``key`` or ``digest``, no SAN (``san=False``: names only in the
    CN), a wrong ``eku``, the TLS Feature extension (``must_staple=True``).
    """
    now = _now()
    key = key or Key.ec()
    if common_name is not None:
        cn = common_name
    else:
        # X.520 caps a CN at 64 characters; a longer name goes in the SAN only, as public CAs do.
        cn = identities[0] if identities and len(identities[0]) <= 64 else None
    subject = _name(cn, organization)
    signing_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - _BACKDATE)
        .not_valid_after(not_after or now + _LEAF_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_ski(key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.private_key.public_key()),
            critical=False,
        )
    )
    if san and identities:
        # RFC 5280 §4.2.1.6: critical only when the subject is empty.
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(i) for i in identities]), critical=not len(subject)
        )
    if key_usage:
        is_rsa = isinstance(key.private_key, rsa.RSAPrivateKey)
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=is_rsa,  # RSA key exchange (TLS 1.2) still needs it
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if must_staple:
        # RFC 7633: TLS Feature status_request (5) = "OCSP must-staple".
        builder = builder.add_extension(x509.TLSFeature([x509.TLSFeatureType.status_request]), critical=False)
    if add_pointers is not None:
        builder = add_pointers(builder)
    cert = _sign(builder, signing_key, digest)
    return IssuedCert(cert=cert, key=key, chain=issuer.chain if issuer else ())


# DER of the signature AlgorithmIdentifier OIDs (RFC 4055 / RFC 3279). They all have
# the same encoded length, which is what makes the re-signing below possible.
_SHA256_WITH_RSA_OID = bytes.fromhex("2a864886f70d01010b")  # 1.2.840.113549.1.1.11
_LEGACY_DIGEST_OIDS = {
    "sha1": bytes.fromhex("2a864886f70d010105"),  # 1.2.840.113549.1.1.5
    "md5": bytes.fromhex("2a864886f70d010104"),  # 1.2.840.113549.1.1.4
}


def _sign(builder: x509.CertificateBuilder, signing_key: Key, digest: str) -> x509.Certificate:
    if digest in _LEGACY_DIGEST_OIDS:
        return _sign_with_legacy_digest(builder, signing_key, digest)
    return builder.sign(signing_key.private_key, _DIGESTS[digest]())


def _sign_with_legacy_digest(builder: x509.CertificateBuilder, signing_key: Key, digest: str) -> x509.Certificate:
    """Sign with SHA-1 or MD5, which ``cryptography`` (rightly) no longer does for X.509.

    The lab needs such certificates because field servers still send them. We sign with
    SHA-256, swap the algorithm OID (same length, in the TBS and in the outer
    AlgorithmIdentifier) and replace the signature, which for RSA has the key's length
    whatever the digest. No length in the DER changes, so no re-encoding is needed.
    """
    if not isinstance(signing_key.private_key, rsa.RSAPrivateKey):
        raise ValueError(f"a {digest} signature needs an RSA issuer key")
    modern = builder.sign(signing_key.private_key, hashes.SHA256())
    der = modern.public_bytes(serialization.Encoding.DER)
    if der.count(_SHA256_WITH_RSA_OID) != 2:
        raise ValueError("unexpected certificate layout for legacy re-signing")
    legacy_oid = _LEGACY_DIGEST_OIDS[digest]
    tbs = modern.tbs_certificate_bytes.replace(_SHA256_WITH_RSA_OID, legacy_oid)
    signature = signing_key.private_key.sign(tbs, padding.PKCS1v15(), _DIGESTS[digest]())
    assert len(signature) == len(modern.signature)
    patched = der[: -len(signature)].replace(_SHA256_WITH_RSA_OID, legacy_oid) + signature
    return x509.load_der_x509_certificate(patched)


def pem_bundle(certs: Sequence[x509.Certificate]) -> bytes:
    """A CA file: PEM certificates one after another, as OpenSSL and curl read them."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def expired_copy(ca: CA, expired_for: timedelta = timedelta(days=30)) -> x509.Certificate:
    """An old copy of the root ``ca``: same subject and key, dates that ended ``expired_for`` ago.

    A CA that renews its root keeps the name and the key and issues a new self-signed
    certificate; every chain it issues verifies against either copy, but a client whose
    CA file still holds only the old one fails with X509_V_ERR_CERT_HAS_EXPIRED
    ("certificate has expired") on a server whose own certificates are all valid.
    """
    ended = _now() - expired_for
    return _twin(ca, not_before=ended - _CA_LIFETIME, not_after=ended, is_ca=True)


def shadow_of(ca: CA) -> x509.Certificate:
    """A broken twin of ``ca``: same subject, same key, but not a CA (basicConstraints CA:FALSE).

    This is the "corrupt CA bundle" seen in the field: a tool re-exports a root with
    damaged extensions and the entry lands before the good one. OpenSSL looks issuers up
    by subject, finds the twin first, checks its signature (which verifies: same key)
    and then rejects it with X509_V_ERR_INVALID_CA, "invalid CA certificate".
    """
    now = _now()
    return _twin(ca, not_before=now - _BACKDATE, not_after=now + _CA_LIFETIME, is_ca=False)


def _twin(ca: CA, *, not_before: datetime, not_after: datetime, is_ca: bool) -> x509.Certificate:
    """A self-signed certificate with ``ca``'s subject and key: what OpenSSL finds for that issuer."""
    return (
        x509.CertificateBuilder()
        .subject_name(ca.cert.subject)
        .issuer_name(ca.cert.subject)
        .public_key(ca.key.private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(_ski(ca.key), critical=False)
        .sign(ca.key.private_key, hashes.SHA256())
    )

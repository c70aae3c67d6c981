"""Path validation: does the chain a server presented build to a trust source's anchors?

:class:`PathValidation` records, as a fact, whether a presented chain verifies against one
:class:`~tlsdoctor.observe.trust_sources.TrustSource` at a given time, with or without the
host name checked. It judges nothing.

It uses ``cryptography.x509.verification`` (a strict RFC 5280 / CA/B Forum verifier), not
OpenSSL, because it accepts any store, any time and "no name" without a socket. It does
**not** behave like OpenSSL in two ways that matter here:

- its path builder backtracks. A CA file holding a broken twin of a root *before* the real
  root (see :func:`tlsdoctor.lab.pki.shadow_of`) makes OpenSSL fail with "invalid CA
  certificate", while this verifier skips the twin and verifies through the real root.
  Corrupt bundles are therefore found by :mod:`tlsdoctor.observe.ca_file_lint` and
  confirmed with OpenSSL itself;
- it limits the number of intermediates (``max_chain_depth``, 8 by default), where
  OpenSSL allows 100. We raise it to :data:`MAX_CHAIN_DEPTH`, and a chain beyond what this
  check examines is reported as exactly that (a limit of the check), never as a chain that
  does not verify: rules cross-check with OpenSSL's and libcurl's own results.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timezone
from typing import Sequence

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder

from tlsdoctor.observe.pem import Encoding, must_propagate, one_line, subject_text
from tlsdoctor.observe.trust_sources import TrustSource
from tlsdoctor.records import record

MAX_PRESENTED_CERTS = 20  # a TLS chain is 2-4 certificates; 20 covers every sane cross-signing mess
# Intermediates the path builder may stack (cryptography's default is 8; OpenSSL's is 100).
# Every intermediate we consider may be used: the presented chain minus its leaf.
MAX_CHAIN_DEPTH = MAX_PRESENTED_CERTS - 1
CRYPTOGRAPHY_DEFAULT_DEPTH = 8
@record
class PathValidation:
    """Whether a presented chain builds to ``source``'s anchors at time ``at``.

    ``chain`` is the verified path, leaf first and anchor last, when ``ok``. ``error`` is
    cryptography's message (one line), or ours when verification could not start (empty
    store, nothing presented, unusable host name). ``name_checked`` is False for "chain
    only" validations. ``considered`` < ``presented`` means only the first certificates
    were used (see :data:`MAX_PRESENTED_CERTS`).
    """

    source: str
    at: datetime
    ok: bool
    error: str | None = None
    chain: tuple[x509.Certificate, ...] = ()
    anchor: str | None = None
    name_checked: bool = False
    host: str | None = None
    presented: int = 0
    considered: int = 0

    @property
    def limited(self) -> str | None:
        """When this check could not examine the whole chain: what limit stopped it, in words."""
        if self.considered < self.presented:
            return (f"tlsdoctor's path validation examines the first {self.considered} of the {self.presented} "
                    f"certificates presented (its limit, MAX_PRESENTED_CERTS)")
        return None


def _server_auth_ee(policy: object, cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None) -> None:
    # cryptography's server policy for leaves: an EKU, when present, must hold serverAuth
    # itself — anyExtendedKeyUsage is not enough (CA/B Forum BR 7.1.2.7.10).
    if eku is not None and ExtendedKeyUsageOID.SERVER_AUTH not in eku:
        raise ValueError("required EKU not found (serverAuth)")


def _server_auth_ca(policy: object, cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None) -> None:
    # ... and for CAs: serverAuth or anyExtendedKeyUsage, when an EKU is present.
    if eku is not None and not ({ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE} & set(eku)):
        raise ValueError("required EKU not found (serverAuth)")


def _san_criticality(policy: object, cert: x509.Certificate, san: x509.SubjectAlternativeName | None) -> None:
    # Keep the server policy's structural SAN rule (RFC 5280 §4.2.1.6: critical exactly when
    # the subject is empty) but not its presence or matching: those are name questions.
    if san is None:
        return
    critical = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).critical
    if critical != (len(cert.subject) == 0):
        raise ValueError("EE subjectAltName criticality does not match an " + ("empty" if critical else "nonempty") + " subject")


def _chain_only_policies() -> tuple[ExtensionPolicy, ExtensionPolicy]:
    """Extension policies that make a *client* verifier check what the server verifier checks, minus the name.

    ``build_server_verifier`` needs a name. For "does the chain verify regardless of the
    name?" we build a client verifier, whose policy differs from the server one in two
    ways only: it requires the clientAuth EKU, and it does not match a name. The first is
    put back to serverAuth by our own EKU validators (same rules as cryptography's: leaf
    needs serverAuth; CAs serverAuth or anyEKU); the second is what we want. The SAN is
    made optional, since a leaf with names only in its CN has a name problem, not a chain
    problem. Criticalities are those of ``webpki_defaults_*`` (EKU non-critical).
    """
    ee = (
        ExtensionPolicy.webpki_defaults_ee()
        .may_be_present(x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, _server_auth_ee)
        .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, _san_criticality)
    )
    ca = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, _server_auth_ca
    )
    return ca, ee


def _subject_for(host: str) -> x509.DNSName | x509.IPAddress:
    """The name to check, as a server verifier takes it (raises ValueError when unusable)."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return x509.IPAddress(ipaddress.ip_address(text.split("%", 1)[0]))
    except ValueError:
        pass
    # Certificates hold A-labels without the root dot; route.parse_target already gives
    # that form, but a caller may pass what a user typed.
    text = text.rstrip(".")
    if not text.isascii():
        import idna  # only for a name that is not ASCII already

        try:
            text = idna.encode(text, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(f"invalid host name {host!r}: {exc}") from None
    if not text:
        raise ValueError(f"invalid host name {host!r}")
    return x509.DNSName(text.lower())


def _utc(at: datetime) -> datetime:
    # A naive datetime is taken as UTC, the only zone certificates use.
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def verify_presented_chain(
    presented: Sequence[x509.Certificate],
    source: TrustSource,
    *,
    host: str | None,
    at: datetime,
) -> PathValidation:
    """Does the chain a server presented (leaf first) build to an anchor of ``source`` at ``at``?

    With ``host``, this is full server verification (chain, validity at ``at``, EKU,
    name). With ``host=None`` it is "chain only": the same checks without the name, so a
    caller can tell a name problem from a chain problem by asking both ways. Callers ask
    again with other times (the server's Date header) to tell a skewed clock from an
    expired certificate.

    The presented order beyond the leaf does not matter (servers send intermediates in any
    order, with duplicates); only the first :data:`MAX_PRESENTED_CERTS` are used, and
    duplicates are dropped, which bounds the path builder's work.

    Never raises for bad input. Unlike OpenSSL, the path builder backtracks: see the
    module docstring for why it accepts a CA file whose broken twin shadows a root.
    """
    when = _utc(at)
    considered = list(presented[:MAX_PRESENTED_CERTS])

    def outcome(error: str | None, chain: Sequence[x509.Certificate] = ()) -> PathValidation:
        return PathValidation(
            source=source.name, at=when, ok=error is None, error=error, chain=tuple(chain),
            anchor=subject_text(chain[-1]) if chain else None, name_checked=host is not None, host=host,
            presented=len(presented), considered=len(considered),
        )

    if not considered:
        return outcome("no certificate was presented")
    if not source.certificates:
        return outcome(f"no trust anchors in {source.description}: {source.error or 'it holds no certificates'}")
    try:
        leaf, intermediates = considered[0], _unique(considered[1:], exclude=considered[0])
        builder = PolicyBuilder().store(source.store).time(when).max_chain_depth(MAX_CHAIN_DEPTH)
        if host is not None:
            try:
                subject = _subject_for(host)
            except ValueError as exc:
                return outcome(one_line(str(exc)))
            return outcome(None, builder.build_server_verifier(subject).verify(leaf, intermediates))
        ca_policy, ee_policy = _chain_only_policies()
        verifier = builder.extension_policies(ca_policy=ca_policy, ee_policy=ee_policy).build_client_verifier()
        return outcome(None, verifier.verify(leaf, intermediates).chain)
    except BaseException as exc:  # VerificationError, ValueError (bad name, time out of range), Rust panics
        if must_propagate(exc):
            raise
        error = one_line(str(exc) or type(exc).__name__)
        if len(considered) < len(presented):
            error += (f" (only the first {len(considered)} of {len(presented)} presented certificates were "
                      "examined: a limit of this check, not a verdict on the chain)")
        return outcome(error)


def _unique(certs: Sequence[x509.Certificate], exclude: x509.Certificate) -> list[x509.Certificate]:
    seen = {_der(exclude)}
    out = []
    for cert in certs:
        der = _der(cert)
        if der not in seen:
            seen.add(der)
            out.append(cert)
    return out



def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)

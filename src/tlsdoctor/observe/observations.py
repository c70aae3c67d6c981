"""Everything the probes saw about one URL, in one frozen record the rules read.

A field is None when its probe did not run (an earlier layer failed, or the deadline
came first); rules must treat None as "not observed", never as "fine".
"""

from __future__ import annotations

import functools
from dataclasses import field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tlsdoctor.records import record

if TYPE_CHECKING:
    # Types only: importing every probe here would make every reader of observations pay for
    # probes that did not run (the capability probe and its cipher tables, on a healthy server).
    from tlsdoctor.observe.ca_file_lint import CaFileLint
    from tlsdoctor.observe.capabilities import CapabilityObservation
    from tlsdoctor.observe.curl import CurlResult
    from tlsdoctor.observe.first_answer import FirstAnswerObservation
    from tlsdoctor.observe.handshake import HandshakeObservation
    from tlsdoctor.observe.http import HttpObservation
    from tlsdoctor.observe.openssl_verify import OpenSslVerification
    from tlsdoctor.observe.revocation import RevocationObservation
    from tlsdoctor.observe.route import Resolution, Route, TcpConnect
    from tlsdoctor.observe.trust import PathValidation, TrustSource


@record
class ClientProfile:
    """The client being diagnosed for: what it trusts and what it offers.

    Diagnosis answers "why does *this* client fail", so the client's constraints are an
    input: its CA file (default: certifi's, which most Python and many bundled apps use),
    extra CAs, a cap on its TLS version (old stacks stop at TLS 1.2), and whether it
    requires a certificate status (curl ``--cert-status``: hard-fail) or soft-fails.
    """

    ca_bundle: str | None = None
    extra_ca: tuple[str, ...] = ()
    max_tls: str | None = None
    require_status: bool = False


@record
class TrustObservation:
    """The presented chain checked against every trust source, at the times that matter."""

    sources: tuple[TrustSource, ...]
    client_now: tuple[PathValidation, ...]  # each source, local time, with the host name
    chain_only_now: tuple[PathValidation, ...]  # each source, local time, name not checked
    chain_only_server_time: tuple[PathValidation, ...]  # each source at the server's Date (if known)
    openssl_client: OpenSslVerification | None  # OpenSSL's verdict with the client's CA file, now
    openssl_cleaned: OpenSslVerification | None  # ... with the CA file minus broken entries
    with_fetched_issuer: PathValidation | None  # client source + the AIA-fetched issuer
    lint: CaFileLint | None
    ca_file_modified: datetime | None = None  # the client's CA file's mtime: how old a copy it is
    # Where the client's CA file fails and another source verifies: does a current public store
    # (certifi's, as installed with tlsdoctor) hold the root that source verified with? A root no
    # public store holds is a private one (a company's, a product's): no newer copy of any public
    # bundle will ever have it. None: not asked (the client's file verifies, or nothing else does).
    anchor_in_public_store: bool | None = None

    def validation(self, source: str, kind: str = "client_now") -> PathValidation | None:
        return next((v for v in getattr(self, kind) if v.source == source), None)


@record
class Observations:
    route: Route
    client: ClientProfile
    local_time: datetime
    resolution: Resolution | None = None
    proxy_resolution: Resolution | None = None
    # An https:// proxy (None for http:// ones): our handshake with the proxy itself, its first
    # answer (does it speak TLS at all?), and its presented chain's checks with the client's trust.
    proxy_handshake: HandshakeObservation | None = None
    proxy_answer: FirstAnswerObservation | None = None
    proxy_trust: TrustObservation | None = None
    tcp: tuple[TcpConnect, ...] = ()
    first_answer: FirstAnswerObservation | None = None
    handshake: HandshakeObservation | None = None
    capabilities: CapabilityObservation | None = None
    direct_handshake: HandshakeObservation | None = None  # proxy routes: the same origin, directly
    http: HttpObservation | None = None
    trust: TrustObservation | None = None
    revocation: RevocationObservation | None = None
    curl: CurlResult | None = None
    connections: int = 0
    notes: tuple[str, ...] = field(default=())
    # Probes the diagnosis deadline stopped before they finished: name -> how far they got.
    # Their facts are missing (None above), and rules must not read that as "fine".
    cut: tuple[tuple[str, str], ...] = ()
    deadline_s: float | None = None  # the diagnosis deadline, when it cut probes short

    @property
    def presented_chain(self) -> tuple[x509.Certificate, ...]:
        return self.handshake.presented_chain if self.handshake else ()

    @property
    def server_time(self) -> datetime | None:
        return self.http.date if self.http else None


# Rules ask about the same few certificates many times per diagnosis (is this chain an
# interceptor's? which leaf did the direct route see?): hashing and naming them once per
# certificate took a tenth of an intercepting-proxy diagnosis's CPU. A Certificate hashes
# by its DER, so equal certificates share an entry; the caches are small and bounded.
@functools.lru_cache(maxsize=256)
def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def describe_cert(cert: x509.Certificate) -> dict[str, Any]:
    """A certificate as evidence: who, by whom, when, for which names (a new dict each call)."""
    subject, issuer, not_before, not_after, san = _described(cert)
    return {"subject": subject, "issuer": issuer, "not_before": not_before, "not_after": not_after,
            "san": list(san), "sha256": fingerprint(cert)}


@functools.lru_cache(maxsize=256)
def _described(cert: x509.Certificate) -> tuple[str, str, str, str, tuple[str, ...]]:
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        san = tuple(str(n.value) for n in names)[:20]
    except (x509.ExtensionNotFound, ValueError):
        san = ()
    return (cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), cert.not_valid_before_utc.isoformat(),
            cert.not_valid_after_utc.isoformat(), san)

"""The finding codes: tlsdoctor's public vocabulary for why HTTPS fails.

This module mirrors ``docs/spec/findings.md`` (a test checks that the two agree, so
neither can drift). Every part of tlsdoctor names a root cause with one of these codes:
the lab says which code a scenario reproduces, diagnosis concludes one, the client
reports one. A code never changes meaning.
"""

from __future__ import annotations

from enum import Enum

from tlsdoctor.records import record


class Severity(str, Enum):
    """How much a finding matters to the request at hand."""

    ERROR = "error"  # explains (part of) a failure
    WARNING = "warning"  # the connection works, but something is wrong or fragile
    INFO = "info"  # a fact worth showing


@record
class FindingCode:
    """One entry of the contract: a root cause and how the field reports it."""

    code: str
    summary: str
    curl: str  # as the spec writes it: "60", "7 / 56", "0 (HTTP 502)"
    nel_type: str

    @property
    def curl_code(self) -> int:
        """The first (most usual) libcurl code a client on OpenSSL returns."""
        return int(self.curl.split()[0].rstrip(","))


_TABLE: tuple[FindingCode, ...] = (
    FindingCode("ok", "the request works", "0", "ok"),
    FindingCode("dns.name_not_resolved", "the host name does not resolve", "6", "dns.name_not_resolved"),
    FindingCode("tcp.refused", "nothing accepts connections at that address and port", "7", "tcp.refused"),
    FindingCode("tcp.timed_out", "the TCP connection got no answer in time", "28", "tcp.timed_out"),
    FindingCode("tcp.reset", "the connection was reset before TLS began", "7 / 56", "tcp.reset"),
    FindingCode("proxy.unresolvable", "the configured proxy's host name does not resolve", "5", "dns.name_not_resolved"),
    FindingCode("proxy.unreachable", "the configured proxy refuses or ignores connections", "7", "tcp.refused"),
    FindingCode(
        "proxy.auth_required",
        "the proxy wants credentials (407 to CONNECT)",
        "56 (libcurl 7) / 7 (libcurl 8)",
        "tcp.failed",
    ),
    FindingCode(
        "proxy.connect_refused",
        "the proxy refuses to tunnel to that host or port (403, 405, 5xx to CONNECT)",
        "56 (libcurl 7) / 7 (libcurl 8)",
        "tcp.failed",
    ),
    FindingCode(
        "proxy.upstream_failed",
        "the proxy answered, but itself failed to reach or verify the origin (its 502/504)",
        "0 (HTTP 502)",
        "http.error",
    ),
    FindingCode(
        "tls.not_tls",
        "the peer answered in plain text, not TLS (wrong port, HTTP on the TLS port)",
        "35",
        "tls.protocol.error",
    ),
    FindingCode(
        "tls.protocol_mismatch", "no TLS version is acceptable to both sides", "35", "tls.version_or_cipher_mismatch"
    ),
    FindingCode(
        "tls.cipher_mismatch",
        "no cipher suite, group or signature algorithm is acceptable to both sides",
        "35",
        "tls.version_or_cipher_mismatch",
    ),
    FindingCode(
        "tls.handshake_alert",
        "the peer aborted the handshake with a fatal alert (name the alert; a fatal close_notify included)",
        "35",
        "tls.protocol.error",
    ),
    FindingCode(
        "tls.client_cert_required",
        "the server demands a client certificate that the client does not present, or rejects the one it "
        "presents (alert certificate_required, bad_certificate after a CertificateRequest)",
        "56 / 35",
        "tls.protocol.error",
    ),
    FindingCode(
        "tls.abrupt_close",
        "the peer closed or reset the connection mid-handshake with no alert (middlebox, crashing server)",
        "35",
        "tls.protocol.error",
    ),
    FindingCode("tls.handshake_timeout", "TCP connected, but the TLS handshake stalled", "28", "tcp.timed_out"),
    FindingCode(
        "cert.expired", "the server's certificate (or one in its chain) has expired", "60", "tls.cert.date_invalid"
    ),
    FindingCode("cert.not_yet_valid", "the server's certificate is not valid yet", "60", "tls.cert.date_invalid"),
    FindingCode(
        "cert.hostname_mismatch",
        "the certificate is not for this host name (say which names it is for)",
        "60",
        "tls.cert.name_invalid",
    ),
    FindingCode(
        "cert.self_signed", "the server presents a self-signed certificate", "60", "tls.cert.authority_invalid"
    ),
    FindingCode(
        "cert.untrusted_root",
        "the chain ends at a CA that the client's trust store does not hold",
        "60",
        "tls.cert.authority_invalid",
    ),
    FindingCode(
        "cert.incomplete_chain",
        "the server does not send an intermediate that the chain needs",
        "60",
        "tls.cert.authority_invalid",
    ),
    FindingCode("cert.revoked", "the certificate is revoked (OCSP or CRL says so)", "60 / 91", "tls.cert.revoked"),
    FindingCode(
        "cert.revocation_unavailable",
        "the certificate's revocation status cannot be checked (OCSP responder or CRL unreachable or failing) "
        "and the client requires a check; also reported as a warning for soft-failing clients",
        "35 (schannel) / 91",
        "tls.cert.invalid",
    ),
    FindingCode(
        "cert.must_staple_missing",
        "the certificate demands a stapled OCSP response and none came",
        "91",
        "tls.cert.invalid",
    ),
    FindingCode(
        "cert.weak_signature",
        "a certificate is signed with a digest the client rejects (SHA-1, MD5)",
        "60",
        "tls.cert.invalid",
    ),
    FindingCode(
        "cert.weak_key", "a certificate's key is too small for the client (RSA < 2048)", "60", "tls.cert.invalid"
    ),
    FindingCode(
        "cert.bad_usage",
        "the certificate's key usage / extended key usage does not allow TLS server use",
        "60",
        "tls.cert.invalid",
    ),
    FindingCode(
        "clock.skewed",
        "the local clock is wrong, and that alone makes a valid certificate look expired or not yet valid",
        "60",
        "tls.cert.date_invalid",
    ),
    FindingCode(
        "trust.interception",
        "something between client and server (antivirus, corporate proxy, debugging proxy) re-signs the TLS "
        "traffic with its own CA",
        "60, or 0 when its CA is trusted",
        "tls.cert.authority_invalid",
    ),
    FindingCode(
        "trust.store_mismatch",
        "the chain is trusted by one trust source on this machine (e.g. the OS store) but not by the one the "
        "client uses (e.g. its bundled CA file), or the reverse",
        "60",
        "tls.cert.authority_invalid",
    ),
    FindingCode(
        "trust.bundle_corrupt",
        "the CA file the client uses holds a broken certificate that breaks verification (name the entry)",
        "60 / 35",
        "tls.failed",
    ),
    FindingCode(
        "trust.bundle_outdated",
        "the client's CA file is too old: it lacks a root that current trust stores hold, so a valid chain to "
        "that root fails (name the missing root and the file's age)",
        "60",
        "tls.cert.authority_invalid",
    ),
    FindingCode(
        "trust.bundle_missing",
        "the CA file the client is configured with is missing or unreadable",
        "77",
        "tls.failed",
    ),
    FindingCode(
        "http2.negotiation_failed",
        "HTTP/2 fails after ALPN selected it, while HTTP/1.1 works",
        "16 / 92",
        "h2.protocol.error",
    ),
    FindingCode(
        "http.error",
        "TLS is fine; the server answered with an HTTP error status",
        "0 (22 with --fail)",
        "http.error",
    ),
    FindingCode(
        "http.timed_out",
        "TLS is fine, but the server's HTTP answer did not come, or not whole, within the timeout",
        "28",
        "tcp.timed_out",
    ),
    FindingCode(
        "http.invalid_response",
        "TLS is fine, but the server's answer is not valid HTTP: bytes that do not parse as an HTTP response (a "
        "broken status line, header, chunked framing or content coding; a body shorter than announced), or the "
        "connection closed or reset before any answer",
        "52 / 8 / 1",
        "http.response.invalid",
    ),
    FindingCode(
        "diagnosis.incomplete",
        "the diagnosis ran out of time before it saw the request succeed or fail; it names what it could not check",
        "28",
        "unknown",
    ),
)

FINDING_CODES: dict[str, FindingCode] = {entry.code: entry for entry in _TABLE}


def finding_code(code: str) -> FindingCode:
    """Look a code up; an unknown code is a programming error, not user input."""
    try:
        return FINDING_CODES[code]
    except KeyError:
        raise KeyError(f"unknown finding code {code!r}; see docs/spec/findings.md") from None

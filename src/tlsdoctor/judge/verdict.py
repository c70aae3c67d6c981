"""Which finding is *the* root cause: ranks, and the relations between codes.

A failed request usually yields several findings: the clock is wrong *and* the
certificate looks expired; an interceptor re-signs *and* its root is untrusted. The
verdict is the finding that explains the others. Two principles decide it:

1. **The earliest broken layer wins.** Nothing after a failed DNS lookup can be observed,
   and a TLS alert comes before any certificate is seen: route, then TLS, then trust,
   then the certificate's own properties, then revocation, then HTTP.
2. **A cause outranks its symptom** (``docs/spec/findings.md``, "Relations that matter"):
   ``clock.skewed`` over ``cert.expired``/``cert.not_yet_valid``; ``trust.interception``
   over ``cert.untrusted_root``; ``trust.bundle_corrupt`` over ``cert.untrusted_root``;
   ``trust.bundle_outdated`` over ``trust.store_mismatch`` and ``cert.untrusted_root``.

:data:`RANK` encodes both. Among findings of equal rank, the more confident one wins.
"""

from __future__ import annotations

from typing import Iterable

from tlsdoctor.findings import FINDING_CODES, Severity
from tlsdoctor.judge.finding import Finding

RANK: dict[str, int] = {
    # the route
    "proxy.unresolvable": 100,
    "proxy.unreachable": 99,
    "proxy.auth_required": 98,
    "proxy.connect_refused": 97,
    "dns.name_not_resolved": 96,
    "tcp.refused": 95,
    "tcp.timed_out": 94,
    "tcp.reset": 93,
    # the client's own configuration: it breaks every connection, whatever the server
    "trust.bundle_missing": 90,
    # the TLS handshake, before any certificate
    "tls.not_tls": 86,
    "tls.protocol_mismatch": 85,
    "tls.cipher_mismatch": 84,
    "tls.client_cert_required": 83,  # the cause of the alert that a CertificateRequest ends in
    "tls.handshake_alert": 82,
    "tls.abrupt_close": 81,
    "tls.handshake_timeout": 80,
    # trust: causes first, then their symptoms
    "clock.skewed": 76,
    "trust.bundle_corrupt": 75,
    "trust.interception": 74,
    "trust.bundle_outdated": 73,  # over store_mismatch and untrusted_root (findings.md, "Relations")
    "trust.store_mismatch": 72,
    "cert.incomplete_chain": 70,
    "cert.self_signed": 69,
    "cert.untrusted_root": 68,
    "cert.expired": 66,
    "cert.not_yet_valid": 66,
    "cert.weak_signature": 64,
    "cert.weak_key": 64,
    "cert.bad_usage": 63,
    "cert.hostname_mismatch": 62,
    # revocation
    "cert.revoked": 55,
    "cert.must_staple_missing": 54,
    "cert.revocation_unavailable": 53,
    # after TLS
    "proxy.upstream_failed": 45,
    "http2.negotiation_failed": 40,
    # an answer that is not HTTP: below a broken h2 (HTTP/1.1 then works), above a missing answer
    "http.invalid_response": 38,
    "http.timed_out": 35,
    "http.error": 30,
    # nothing observed proves success or explains a failure: the deadline came first
    "diagnosis.incomplete": 1,
    "ok": 0,
}

assert set(RANK) == set(FINDING_CODES), "every finding code needs a rank"


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Findings by how much each explains: errors first, then rank, then confidence."""
    severity_order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(
        findings, key=lambda f: (severity_order[f.severity], -RANK[f.code], -f.confidence, f.code)
    )


def choose_verdict(findings: Iterable[Finding], ok: Finding) -> Finding:
    """The root cause: the first error in :func:`ordered` order, or ``ok`` when none."""
    errors = [f for f in ordered(findings) if f.severity is Severity.ERROR]
    return errors[0] if errors else ok


#: A cause and the findings it produces as symptoms (``docs/spec/findings.md``, "Relations that
#: matter"): fixing the cause fixes them, so they are not further causes.
SYMPTOMS: dict[str, frozenset[str]] = {
    "clock.skewed": frozenset({"cert.expired", "cert.not_yet_valid"}),
    "trust.interception": frozenset({"cert.untrusted_root", "trust.store_mismatch"}),
    "trust.bundle_corrupt": frozenset({"cert.untrusted_root"}),
    "trust.bundle_outdated": frozenset({"trust.store_mismatch", "cert.untrusted_root"}),
    "trust.bundle_missing": frozenset({"cert.untrusted_root", "trust.store_mismatch"}),
}


def further_causes(verdict: Finding, findings: Iterable[Finding]) -> list[Finding]:
    """The other errors a client would still meet after fixing the verdict's cause (issue 10).

    An expired certificate that the client's CA file does not lead to either needs two
    fixes; an expired-looking certificate on a machine whose clock is wrong needs one.
    """
    if verdict.severity is not Severity.ERROR:
        return []
    explained = SYMPTOMS.get(verdict.code, frozenset()) | {verdict.code}
    seen: set[str] = set()
    out = []
    for f in ordered(findings):
        if f is verdict or f.severity is not Severity.ERROR or f.code in explained or f.code in seen:
            continue
        if any(f.code in SYMPTOMS.get(other.code, ()) for other in out):
            continue
        seen.add(f.code)
        out.append(f)
    return out

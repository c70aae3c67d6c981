"""Revocation: OCSP (stapled or asked), the CRL, and must-staple."""

from __future__ import annotations

from typing import Iterator

from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.rules.registry import E, finding, rule
from tlsdoctor.observe.observations import Observations


@rule("cert.revoked", "cert.must_staple_missing")
def revocation(obs: Observations) -> Iterator[Finding]:
    """Do OCSP or the CRL say the certificate is revoked; does it demand a staple it lacks?"""
    rev = obs.revocation
    if rev is None:
        return
    sayers = [a for a in (rev.staple, rev.responder) if a is not None and a.status == "revoked"
              and a.signed_by_issuer is not False]
    crl_says = rev.crl is not None and rev.crl.listed and rev.crl.signed_by_issuer is not False
    if sayers or crl_says:
        channels = [f"OCSP ({a.source})" for a in sayers] + (["the CRL"] if crl_says else [])
        when = sayers[0].revocation_time if sayers else None
        yield finding("cert.revoked", E, 0.95 if (sayers and crl_says) or any(a.source == "staple" for a in sayers)
                      else 0.9, f"The certificate is revoked, says {' and '.join(channels)}.",
                      "The server must install a new certificate; the revoked one must not be used again.",
                      channels=channels, revoked_at=when.isoformat() if when else None,
                      ocsp_url=rev.ocsp_url, crl_url=rev.crl_url)
        return
    if rev.must_staple and rev.staple is None and obs.handshake and obs.handshake.ok:
        yield finding("cert.must_staple_missing", E, 0.9,
                      "The certificate demands a stapled OCSP response (TLS Feature: must-staple), and the server "
                      "sent none: strict clients (Firefox, curl --cert-status) refuse it.",
                      "Enable OCSP stapling on the server (nginx: ssl_stapling on), or drop must-staple.",
                      ocsp_url=rev.ocsp_url)

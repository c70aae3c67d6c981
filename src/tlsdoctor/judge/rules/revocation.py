"""Revocation: OCSP (stapled or asked), the CRL, and must-staple."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterator

from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.rules.evidence import duration_words
from tlsdoctor.judge.rules.registry import E, W, finding, rule
from tlsdoctor.observe.observations import Observations
from tlsdoctor.observe.revocation import OcspAnswer

if TYPE_CHECKING:
    from tlsdoctor.observe.curl import CurlResult

# The leeway libcurl gives an OCSP response's dates (OCSP_check_validity(..., 300, -1)).
STAPLE_LEEWAY = timedelta(minutes=5)


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


@rule("cert.revocation_unavailable")
def revocation_unavailable(obs: Observations) -> Iterator[Finding]:
    """Can the certificate's revocation status be learnt at all: a staple, the OCSP responder, the CRL?"""
    rev = obs.revocation
    if rev is None:
        return
    curl = obs.curl
    hard = obs.client.require_status or (curl is not None and curl.curl_code == 91)
    stale = _out_of_date(rev.staple, obs.local_time) if rev.staple is not None else None
    if stale is not None and rev.staple.status != "revoked":  # type: ignore[union-attr]  # revoked is revoked
        yield _stale_staple(stale, hard, rev.ocsp_url, curl)
        return
    if rev.ocsp_url is None and rev.crl_url is None:
        return  # no pointer at all: nothing a client could check (private CAs often omit them)
    if rev.staple is not None and rev.staple.status is not None:
        return  # a usable staple answers the question without any fetch
    # Every channel the certificate names was tried and gave no answer.
    responder_down = rev.ocsp_url is None or (rev.responder is not None and rev.responder.status is None)
    crl_down = rev.crl_url is None or (rev.crl is not None and rev.crl.listed is None)
    if not (responder_down and crl_down) or (rev.responder is None and rev.crl is None):
        return
    failures = {name: error for name, error in (
        ("ocsp", rev.responder.error if rev.responder else None), ("crl", rev.crl.error if rev.crl else None)) if error}
    words = " and ".join(f"the {'OCSP responder' if name == 'ocsp' else 'CRL'} ({error})"
                         for name, error in failures.items())
    common = dict(ocsp_url=rev.ocsp_url, crl_url=rev.crl_url, ocsp_error=failures.get("ocsp"),
                  crl_error=failures.get("crl"), stapled=rev.staple is not None)
    fix = ("Enable OCSP stapling on the server (nginx: ssl_stapling on), so that clients need not reach the "
           "responder; and check that this machine may reach the CA's OCSP and CRL URLs (firewall, proxy).")
    if hard:
        yield finding("cert.revocation_unavailable", E, 0.9,
                      f"The client requires a certificate status, the server staples none, and {words} do not "
                      "answer: the status cannot be learnt, so the client refuses the connection.", fix,
                      libcurl_code=curl.curl_code if curl else None, **common)
    else:
        yield finding("cert.revocation_unavailable", W, 0.8,
                      f"No OCSP staple, and {words} do not answer: this client soft-fails and connects, but a "
                      "client that requires a status (curl --cert-status, hard-fail policies) fails here.", fix,
                      **common)


def _out_of_date(staple: OcspAnswer, now: datetime) -> str | None:
    """Why a stapled answer is out of date, in words; None when its dates hold (or it has none)."""
    if staple.next_update is not None and staple.next_update + STAPLE_LEEWAY < now:
        return (f"its nextUpdate ({staple.next_update:%Y-%m-%d %H:%M} UTC) passed "
                f"{duration_words(now - staple.next_update)} ago")
    if staple.this_update is not None and staple.this_update - STAPLE_LEEWAY > now:
        return (f"its thisUpdate ({staple.this_update:%Y-%m-%d %H:%M} UTC) is "
                f"{duration_words(staple.this_update - now)} ahead of this machine's clock")
    return None


def _stale_staple(why: str, hard: bool, ocsp_url: str | None, curl: CurlResult | None) -> Finding:
    """A stapled OCSP answer out of its dates: no status a client may use, whatever it says.

    The field's cause is a server whose stapling is stuck: it keeps sending the last answer
    it fetched because it can no longer reach the CA's responder (firewall, DNS, a retired
    URL). It is not a revoked certificate, which is what libcurl's 91 alone suggests.
    """
    fix = ("Fix OCSP stapling on the server: it keeps an old answer because it cannot refresh it"
           + (f" from {ocsp_url}" if ocsp_url else "") + " (check that the server reaches the CA's responder; "
           "nginx: ssl_stapling_verify and a resolver), or turn stapling off until it can.")
    evidence = dict(staple_out_of_date=why, ocsp_url=ocsp_url, libcurl_code=curl.curl_code if curl else None,
                    libcurl_error=curl.error if curl else None)
    if hard:
        return finding("cert.revocation_unavailable", E, 0.9,
                       f"The server staples an OCSP response that is out of date ({why}): a client that requires a "
                       "certificate status refuses it (curl --cert-status: \"OCSP response has expired\"). The "
                       "certificate is not known to be revoked.", fix, **evidence)
    return finding("cert.revocation_unavailable", W, 0.85,
                   f"The server staples an OCSP response that is out of date ({why}): this client does not require "
                   "a status and connects, but clients that do (curl --cert-status, must-staple) fail.", fix,
                   **evidence)

"""What a diagnosis could not check, and what proves a request works.

A verdict of ``ok`` is a claim, and it needs evidence like any other: either libcurl,
with this client's trust, completed the request, or our own handshake completed, the
chain verified against the client's CA file and an HTTP answer came. Missing facts are
never "fine" (issue 12: a deadline that dropped every observation once read as ``ok``,
confidence 1.0). So the judge asks this module two questions:

- :func:`proofs_of_ok`: which observations show the request working;
- :func:`could_not_check`: what the diagnosis could not see — probes its deadline cut,
  answers that timed out, revocation channels that did not answer, chains longer than a
  check examines — each named as what it is, for the JSON and the human output alike.
"""

from __future__ import annotations


from tlsdoctor.observe.handshake import MAX_CHAIN
from tlsdoctor.observe.observations import Observations
from tlsdoctor.observe.route import url_origin
from tlsdoctor.records import record

# What each probe is, in the words "could not check" uses.
PROBE_WORDS = {
    "resolution": "DNS",
    "proxy_resolution": "the proxy's DNS",
    "proxy_handshake": "the TLS handshake with the https:// proxy itself",
    "tcp": "TCP connections",
    "first_answer": "the server's first answer to a ClientHello",
    "handshake": "the TLS handshake",
    "direct_handshake": "the TLS handshake without the proxy",
    "http": "HTTP (HEAD / over HTTP/1.1 and h2)",
    "curl": "libcurl's own attempt",
    "capabilities": "the TLS versions and ciphers the server accepts",
    "issuer_fetch": "the caIssuers fetch (the leaf's missing issuer)",
    "revocation": "revocation (OCSP, CRL)",
}


@record
class Unchecked:
    """One thing the diagnosis could not check (``what``), and why not (``why``)."""

    what: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return {"what": self.what, "why": self.why}


def proofs_of_ok(obs: Observations) -> list[str]:
    """The observations that show the request working, in words; empty when none does."""
    proofs = []
    curl = obs.curl
    if curl is not None and curl.curl_code == 0:
        proofs.append("libcurl, with this client's trust, completed the request")
    hs, http = obs.handshake, obs.http
    client = obs.trust.validation("ca-bundle") if obs.trust else None
    answer = http.answer if http is not None else None
    if hs is not None and hs.ok and client is not None and client.ok and answer is not None:
        proofs.append("the handshake completed, the chain verifies with the client's CA file, and HTTP answered"
                      + (" (to libcurl)" if answer.via_libcurl else ""))
    return proofs


def credentials_withheld(obs: Observations) -> bool:
    """The proxy wanted credentials (407) that the proxy setting has and tlsdoctor never sends:
    every failure past that point is tlsdoctor's own, not the client's."""
    proxy = obs.route.proxy
    refused = obs.handshake.route_error if obs.handshake is not None else None
    answer = refused.connect_answer if refused is not None else None
    return proxy is not None and proxy.has_credentials and answer is not None and answer.status == 407


def could_not_check(obs: Observations) -> tuple[Unchecked, ...]:
    """Everything this diagnosis could not see, each named with its reason."""
    out = [Unchecked(PROBE_WORDS.get(name, name), why) for name, why in obs.cut]
    proxy = obs.route.proxy
    if proxy is not None and credentials_withheld(obs):
        out.append(Unchecked(f"the server, behind the proxy {proxy.url}",
                             "the proxy wants credentials (407) and tlsdoctor never sends any, though the proxy "
                             "setting has them"))
    answer = obs.http.answer if obs.http is not None else None
    if answer is not None and answer.location and url_origin(answer.location) != obs.route.target.origin:
        out.append(Unchecked(f"the redirect's target, {answer.location}",
                             f"the server answers {answer.status} with it as Location; a client that follows "
                             "redirects (browsers, curl -L, requests) meets that server too: diagnose it as well"))
    if obs.http is not None:
        for exchange in obs.http.exchanges:
            if exchange.timed_out:
                out.append(Unchecked(f"the HTTP answer over {exchange.protocol}", exchange.error or "timed out"))
    rev = obs.revocation
    if rev is not None:
        if not rev.status_checked and (rev.ocsp_url or rev.crl_url):
            out.append(Unchecked("revocation (OCSP, CRL)", "not asked: the chain verifies with no trust source, "
                                 "so no client gets as far as asking"))
        if rev.responder is not None and rev.responder.status is None:
            out.append(Unchecked(f"OCSP at {rev.ocsp_url}", rev.responder.error or "no usable answer"))
        if rev.crl is not None and rev.crl.listed is None:
            out.append(Unchecked(f"the CRL at {rev.crl.url}", rev.crl.error or "no usable CRL"))
        fetched = rev.issuer_fetch
        if fetched is not None and fetched.certificate is None:
            out.append(Unchecked(f"the leaf's issuer from {fetched.url}", fetched.error or "not fetched"))
    hs = obs.handshake
    if hs is not None and hs.chain_length > MAX_CHAIN:
        out.append(Unchecked(f"certificates {MAX_CHAIN + 1}-{hs.chain_length} of the presented chain",
                             f"tlsdoctor keeps the first {MAX_CHAIN} certificates a server presents (its limit); "
                             "OpenSSL and libcurl saw them all"))
    limited = next((v.limited for v in (obs.trust.chain_only_now if obs.trust else ()) if v.limited), None)
    if limited:
        out.append(Unchecked("the whole chain with tlsdoctor's own path validation", limited))
    return tuple(dict.fromkeys(out))


def ok_confidence(proofs: list[str], unchecked: tuple[Unchecked, ...], cut: bool) -> float:
    """How sure an ``ok`` is: 1.0 only with both proofs and nothing left unchecked."""
    confidence = 1.0 if len(proofs) >= 2 else 0.9
    if unchecked:
        confidence -= 0.1
    if cut:
        confidence = min(confidence, 0.8)
    return round(confidence, 2)

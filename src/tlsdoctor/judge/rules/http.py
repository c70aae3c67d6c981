"""HTTP, once TLS works: HTTP/1.1, HTTP/2, and a proxy's own error pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from tlsdoctor.classify import Signal, classify_one
from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.rules.evidence import interceptor
from tlsdoctor.judge.rules.registry import E, W, finding, rule
from tlsdoctor.observe.observations import Observations

if TYPE_CHECKING:
    from tlsdoctor.observe.curl import CurlResult
    from tlsdoctor.observe.http import HttpExchange


def _libcurl_saw_invalid(curl: CurlResult) -> bool:
    """Does libcurl's error read, in the one table, as an answer that is not HTTP (52, 8, 1...)?"""
    if curl.curl_code == 0:
        return False
    best = classify_one(Signal(curl_code=curl.curl_code, text=curl.error))
    return best is not None and best.code == "http.invalid_response"


HTTP_1_1_REQUIRED = 0xD  # RFC 9113 §7: "use HTTP/1.1 for the request"


@rule("http2.negotiation_failed", "proxy.upstream_failed", "http.error", "http.timed_out", "http.invalid_response")
def http(obs: Observations) -> Iterator[Finding]:
    """Once TLS works, does HTTP work, over both HTTP/1.1 and HTTP/2?"""
    if obs.http is None:
        return
    h1, h2 = obs.http.http1, obs.http.h2
    hs, curl = obs.handshake, obs.curl
    answer = obs.http.answer
    # Cross-check with libcurl: when it got an answer, our probe's timeout was ours (a busy
    # machine), not the server's; judge/coverage.py lists it as not checked instead.
    curl_answered = curl is not None and curl.curl_code == 0 and curl.http_status is not None
    last = h1 if h1 is not None else h2  # the last protocol asked: HTTP/1.1 follows a failed h2
    if last is not None and last.timed_out and answer is None and not curl_answered and hs is not None and hs.ok:
        yield finding("http.timed_out", E, 0.9 if curl is not None and curl.curl_code == 28 else 0.8,
                      f"TLS works, but the server's HTTP answer did not come whole in time ({last.error}).",
                      "The application behind TLS hangs or trickles its answer: see its logs; clients fail "
                      "with a timeout meanwhile.", http1_error=h1.error if h1 else None,
                      h2_error=h2.error if h2 else None,
                      libcurl_code=curl.curl_code if curl else None, libcurl_error=curl.error if curl else None)
        return
    if answer is None and last is not None and last.fault is not None and not curl_answered and hs is not None \
            and hs.ok:
        yield _invalid_response(last, curl)
        return
    h2_works_in_libcurl = curl_answered and curl.http_version == "2"  # type: ignore[union-attr]
    if h2 is not None and h2.h2_error_code == HTTP_1_1_REQUIRED and h1 is not None and h1.ok:
        # Not a broken HTTP/2: the server's explicit request to retry the request over HTTP/1.1
        # (RFC 9113 §8.1.1), which curl and browsers honour; other clients fail on it.
        yield finding("http2.negotiation_failed", W, 0.8,
                      "The server refuses HTTP/2 requests with HTTP_1_1_REQUIRED (0xd): it asks clients to retry "
                      "over HTTP/1.1 (RFC 9113 §8.1.1). curl and browsers do, and work; clients that do not "
                      "(many HTTP/2 libraries) fail with a stream error.",
                      "For such clients, use HTTP/1.1 with this host; on the server, this comes from a per-path "
                      "requirement HTTP/2 cannot meet (a client certificate asked for after the handshake, as "
                      "IIS does, or a WAF rule): serve it over HTTP/1.1 only, or ask for the certificate at the "
                      "handshake.", h2_error=h2.error, http1_status=h1.status, libcurl_code=curl.curl_code if curl
                      else None)
    elif h2 is not None and not h2.ok and h1 is not None and h1.ok and not (h2.timed_out and h2_works_in_libcurl):
        inspected = interceptor(obs) is not None and obs.route.proxy is not None
        if inspected:
            # The TLS (and so the HTTP/2) this client meets ends at the inspecting proxy, not the server.
            issuer = obs.presented_chain[0].issuer.rfc4514_string() if obs.presented_chain else "its own CA"
            direct = obs.direct_handshake
            own = (" The server itself, met without the proxy, negotiates h2." if direct is not None and direct.ok
                   and direct.alpn == "h2" else "")
            yield finding("http2.negotiation_failed", E, 0.9,
                          f"ALPN selected HTTP/2 with the inspecting proxy (certificates by '{issuer}'), then "
                          f"HTTP/2 failed ({h2.error}); HTTP/1.1 works: the inspection product breaks HTTP/2.{own}",
                          "Turn off HTTP/2 in the inspection product or exempt this host from inspection; clients "
                          "can use HTTP/1.1 meanwhile (curl --http1.1).", h2_error=h2.error, http1_status=h1.status,
                          peer="proxy")
        else:
            yield finding("http2.negotiation_failed", E, 0.9,
                          f"ALPN selected HTTP/2, then HTTP/2 failed ({h2.error}); HTTP/1.1 works.",
                          "Fix HTTP/2 on the server or the proxy in front of it, or disable h2 in ALPN; clients can "
                          "use HTTP/1.1 meanwhile (curl --http1.1).", h2_error=h2.error, http1_status=h1.status)
    if answer is None:
        return
    if curl is not None and _libcurl_saw_invalid(curl) and hs is not None and hs.ok:
        # Our HEAD / got an answer; libcurl's request (its method, its path) did not.
        yield finding("http.invalid_response", E, 0.75,
                      f"libcurl's request got no HTTP answer (curl {curl.curl_code}: {curl.error}), though "
                      f"HEAD / got HTTP {answer.status}: the server breaks on this request's path or method.",
                      _REMEDY, libcurl_code=curl.curl_code, libcurl_error=curl.error, head_status=answer.status)
        return
    status = answer.status
    if obs.route.proxy is not None and status in (502, 504) and interceptor(obs) is not None:
        yield finding("proxy.upstream_failed", E, 0.85,
                      f"The inspecting proxy answered {status} itself: it could not reach or verify the origin.",
                      "Diagnose the origin from the proxy's side (or without the proxy); the proxy's error page "
                      "usually names the reason.", status=status)
    elif status >= 500:
        yield finding("http.error", E, 0.7, f"TLS is fine; the server answered HTTP {status}.",
                      "A server-side error: see the server's logs.", status=status)
    elif status >= 400:
        yield finding("http.error", W, 0.5, f"TLS is fine; the server answered HTTP {status} to HEAD "
                      "/ (the only request an unverified probe sends).", "Often expected for a site root; check the real request.",
                      status=status)


_REMEDY = ("The server (or what sits behind its TLS: a load balancer, a backend on the wrong protocol) breaks "
           "the answer: see its logs for this connection. TLS and the certificate are fine.")
_FAULT_WORDS = {"closed": "the server closed the connection without answering",
                "reset": "the server reset the connection without answering"}


def _invalid_response(exchange: HttpExchange, curl: CurlResult | None) -> Finding:
    """TLS completed and the request went out; what came back was not HTTP, or nothing."""
    # 56: libcurl's read failed (an EOF without close_notify, a reset) where ours saw the same end.
    agrees = curl is not None and (curl.curl_code == 56 or _libcurl_saw_invalid(curl))
    said = f" libcurl: curl {curl.curl_code} ({curl.error})." if curl is not None and curl.curl_code else ""
    return finding("http.invalid_response", E, 0.95 if agrees else 0.85,
                   f"TLS works and the {'HTTP/2' if exchange.protocol == 'h2' else 'HTTP/1.1'} request went out, "
                   f"but {_FAULT_WORDS.get(exchange.fault or '', f'the answer is not HTTP ({exchange.error})')}."
                   f"{said}",
                   _REMEDY, fault=exchange.fault, protocol=exchange.protocol, error=exchange.error,
                   libcurl_code=curl.curl_code if curl else None, libcurl_error=curl.error if curl else None)

"""HTTP, once TLS works: HTTP/1.1, HTTP/2, and a proxy's own error pages."""

from __future__ import annotations

from typing import Iterator

from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.rules.evidence import interceptor
from tlsdoctor.judge.rules.registry import E, W, finding, rule
from tlsdoctor.observe.observations import Observations


@rule("http2.negotiation_failed", "proxy.upstream_failed", "http.error", "http.timed_out")
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
    h2_works_in_libcurl = curl_answered and curl.http_version == "2"  # type: ignore[union-attr]
    if h2 is not None and not h2.ok and h1 is not None and h1.ok and not (h2.timed_out and h2_works_in_libcurl):
        yield finding("http2.negotiation_failed", E, 0.9,
                      f"ALPN selected HTTP/2, then HTTP/2 failed ({h2.error}); HTTP/1.1 works.",
                      "Fix HTTP/2 on the server or the proxy in front of it, or disable h2 in ALPN; clients can "
                      "use HTTP/1.1 meanwhile (curl --http1.1).", h2_error=h2.error, http1_status=h1.status)
    if answer is None:
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

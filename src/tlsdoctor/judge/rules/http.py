"""HTTP, once TLS works: HTTP/1.1, HTTP/2, and a proxy's own error pages."""

from __future__ import annotations

from typing import Iterator

from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.rules.evidence import interceptor
from tlsdoctor.judge.rules.registry import E, W, finding, rule
from tlsdoctor.observe.observations import Observations


@rule("http2.negotiation_failed", "proxy.upstream_failed", "http.error")
def http(obs: Observations) -> Iterator[Finding]:
    """Once TLS works, does HTTP work, over both HTTP/1.1 and HTTP/2?"""
    if obs.http is None:
        return
    h1, h2 = obs.http.http1, obs.http.h2
    if h2 is not None and not h2.ok and h1.ok:
        yield finding("http2.negotiation_failed", E, 0.9,
                      f"ALPN selected HTTP/2, then HTTP/2 failed ({h2.error}); HTTP/1.1 works.",
                      "Fix HTTP/2 on the server or the proxy in front of it, or disable h2 in ALPN; clients can "
                      "use HTTP/1.1 meanwhile (curl --http1.1).", h2_error=h2.error, http1_status=h1.status)
    status = h1.status if h1.ok else (h2.status if h2 and h2.ok else None)
    if status is None:
        return
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
                      f"{obs.route.target.path}.", "Often expected for an API root; check the real request.",
                      status=status)

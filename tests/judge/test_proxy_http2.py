"""HTTP/2 broken by an inspecting proxy, not by the server: the finding says whose it is."""

from __future__ import annotations

from tlsdoctor.demo import options_for
from tlsdoctor.diagnosis import diagnose
from tlsdoctor.lab import Lab


def test_an_inspecting_proxy_that_breaks_http2_is_named_and_the_server_cleared(tls_lab: Lab) -> None:
    entry = tls_lab["proxy-breaks-http2"]
    d = diagnose(entry.url, **options_for(entry, os_store=entry.ca_file))
    assert d.verdict.code == "http2.negotiation_failed"
    assert d.verdict.evidence["peer"] == "proxy"
    assert "inspection product breaks HTTP/2" in d.verdict.summary
    assert "met without the proxy, negotiates h2" in d.verdict.summary
    assert "trust.interception" in {f.code for f in d.findings}  # trusted, so a warning beside it


def test_the_server_breaking_http2_itself_is_not_blamed_on_a_proxy(tls_lab: Lab) -> None:
    entry = tls_lab["h2-broken"]
    d = diagnose(entry.url, **options_for(entry, os_store=entry.ca_file))
    assert d.verdict.code == "http2.negotiation_failed"
    assert "peer" not in d.verdict.evidence and "inspect" not in d.verdict.summary

"""HTTP/2 that fails: broken by an inspecting proxy or the server, or refused on purpose (HTTP_1_1_REQUIRED)."""

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


def test_a_request_to_retry_over_http11_is_a_warning_where_curl_works(tls_lab: Lab) -> None:
    # RST_STREAM(HTTP_1_1_REQUIRED) asks for HTTP/1.1, and libcurl retries so by itself: the site
    # works for curl and browsers; HTTP/2 clients that do not retry fail, which the warning says.
    entry = tls_lab["h2-http11-required"]
    d = diagnose(entry.url, **options_for(entry, os_store=entry.ca_file))
    assert d.verdict.code == "ok"
    assert d.observations.curl is not None and (d.observations.curl.curl_code, d.observations.curl.http_version) == (0, "1.1")
    assert d.observations.http is not None and d.observations.http.h2 is not None
    assert d.observations.http.h2.h2_error_code == 0xD
    [warning] = [f for f in d.findings if f.code == "http2.negotiation_failed"]
    assert warning.severity.value == "warning" and "HTTP_1_1_REQUIRED" in warning.summary


def test_a_stream_reset_with_protocol_error_is_a_failure(tls_lab: Lab) -> None:
    entry = tls_lab["h2-stream-reset"]
    d = diagnose(entry.url, **options_for(entry, os_store=entry.ca_file))
    assert d.verdict.code == "http2.negotiation_failed"
    assert d.observations.http is not None and d.observations.http.h2 is not None
    assert d.observations.http.h2.h2_error_code == 0x1

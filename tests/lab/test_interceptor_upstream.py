"""The interception proxy's own connection to the origin: it verifies the origin, relays both ways, and says why it failed."""

from __future__ import annotations

import io

import pycurl

from tlsdoctor.lab import Lab


def _get(url: str, proxy: str, ca_file: str) -> tuple[int, bytes]:
    """A real libcurl GET through the proxy, trusting ``ca_file`` (the lab's CAs and the interceptor's)."""
    body = io.BytesIO()
    handle = pycurl.Curl()
    try:
        handle.setopt(pycurl.URL, url)
        handle.setopt(pycurl.PROXY, proxy)
        handle.setopt(pycurl.CAINFO, ca_file)
        handle.setopt(pycurl.CAPATH, "")
        handle.setopt(pycurl.PROXY_CAINFO, ca_file)
        handle.setopt(pycurl.WRITEDATA, body)
        handle.setopt(pycurl.TIMEOUT_MS, 5000)
        handle.perform()
        return handle.getinfo(pycurl.RESPONSE_CODE), body.getvalue()
    finally:
        handle.close()


def test_a_healthy_origin_is_relayed_through_the_interception(tls_lab: Lab) -> None:
    trusting = tls_lab["proxy-bad-gateway"]  # the interceptor, its CA in the client's file
    status, body = _get(tls_lab["ok"].url, trusting.proxy, str(trusting.ca_file))
    assert (status, body) == (200, b"ok\n")


def test_an_origin_that_fails_verification_gets_a_502_page_that_says_why(tls_lab: Lab) -> None:
    trusting = tls_lab["proxy-bad-gateway"]  # requests the expired origin
    status, body = _get(trusting.url, trusting.proxy, str(trusting.ca_file))
    assert status == 502
    assert b"upstream" in body and b"certificate has expired" in body, body


def test_a_refused_origin_gets_a_502_too(tls_lab: Lab) -> None:
    trusting = tls_lab["proxy-bad-gateway"]
    refused = tls_lab["tcp-refused"]
    status, body = _get(refused.url, trusting.proxy, str(trusting.ca_file))
    assert status == 502 and b"upstream" in body, body

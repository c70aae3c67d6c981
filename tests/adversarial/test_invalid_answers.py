"""Servers whose TLS is fine and whose answer is not HTTP: the verdict is ``http.invalid_response``.

Before this code existed, the diagnosis read libcurl's 8, 52 or 1 through the safety net and
named a TLS alert or a mid-handshake close, for a handshake that had completed and verified.
Each test serves one such server on 127.0.0.1 (real TLS, lab certificates), diagnoses it
once, and checks the fault tlsdoctor's own HEAD saw beside libcurl's code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.endpoints import HttpsOrigin
from tlsdoctor.lab.tls import TlsServerConfig

from .conftest import as_json, assert_honest_and_in_time, diagnose_hostile, human
from .servers import BrokenAnswer, serving

CASES = {
    # answer, how the connection ends, the fault our HEAD sees, libcurl's codes (52/56: libcurl's
    # read of a close without close_notify is 56 "unexpected eof", a reset 56 or 52 by timing)
    "a header without a colon": (b"HTTP/1.1 200 OK\r\nBad Header Line\r\nContent-Length: 0\r\n\r\n",
                                 "close_notify", "invalid", {8}),
    "a status line that is not HTTP": (b"\x00\x01garbage\r\n\r\n", "close_notify", "invalid", {1}),
    "nothing, then close_notify": (b"", "close_notify", "closed", {52}),
    "nothing, then an EOF without close_notify": (b"", "eof", "closed", {52, 56}),
    "nothing, then a reset": (b"", "reset", "reset", {52, 56}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_answer_that_is_not_http_is_named_as_such(case: str, authorities: LabAuthorities, root_file: Path) -> None:
    answer, ending, fault, curl_codes = CASES[case]
    leaf = authorities.intermediate.issue_cert("127.0.0.1")
    with serving(BrokenAnswer(TlsServerConfig(certificate=leaf, alpn=("http/1.1",)), answer, ending)) as port:
        d = diagnose_hostile(port, root_file)
    assert_honest_and_in_time(d)
    assert d.verdict.code == "http.invalid_response", (d.verdict.code, d.verdict.summary)
    # The layers below are fine, and the diagnosis says so by what it kept.
    assert d.observations.handshake is not None and d.observations.handshake.ok
    assert d.observations.trust is not None and d.observations.trust.validation("ca-bundle").ok
    http = d.observations.http
    assert http is not None and http.http1 is not None and http.http1.fault == fault, http
    assert d.observations.curl is not None and d.observations.curl.curl_code in curl_codes, d.observations.curl
    assert f'"fault": "{fault}"' in as_json(d)
    assert "request went out" in human(d)


def test_over_h2_a_closed_answer_is_asked_again_over_http1(authorities: LabAuthorities, root_file: Path) -> None:
    # ALPN picks h2, the server closes without answering; HTTP/1.1 closes as well: no protocol
    # works, so it is the server's answer, not HTTP/2, that is broken.
    leaf = authorities.intermediate.issue_cert("127.0.0.1")
    with serving(BrokenAnswer(TlsServerConfig(certificate=leaf), b"", "close_notify")) as port:
        d = diagnose_hostile(port, root_file)
    http = d.observations.http
    assert http is not None and http.h2 is not None and http.h2.fault == "closed", http
    assert http.http1 is not None and http.http1.fault == "closed", http
    assert d.verdict.code == "http.invalid_response", (d.verdict.code, d.verdict.summary)


def test_a_working_server_has_no_fault(authorities: LabAuthorities, root_file: Path) -> None:
    leaf = authorities.intermediate.issue_cert("127.0.0.1")
    with serving(HttpsOrigin(TlsServerConfig(certificate=leaf, alpn=("http/1.1",)))) as port:
        d = diagnose_hostile(port, root_file)
    assert d.verdict.code == "ok", d.verdict.summary
    # libcurl's answer stands in for the HEAD when it came in time; either way no fault.
    assert d.observations.http is not None and all(e.fault is None for e in d.observations.http.exchanges)


SHORT = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\nonly this much"


@pytest.mark.parametrize("ending", ["close_notify", "eof"])
def test_an_answer_cut_short_is_named_on_both_client_stacks(ending: str, authorities: LabAuthorities,
                                                              root_file: Path) -> None:
    # The client's GET reads the body (the diagnosis's HEAD does not): libcurl's 18, or its 56
    # from SSL_read, and httpx's RemoteProtocolError, all name the same code, not a TLS alert.
    from tlsdoctor.client.curl_stack import CurlStack
    from tlsdoctor.client.errors import TransportError
    from tlsdoctor.client.native_stack import NativeStack
    from tlsdoctor.client.stack import Request

    leaf = authorities.intermediate.issue_cert("127.0.0.1")
    with serving(BrokenAnswer(TlsServerConfig(certificate=leaf, alpn=("http/1.1",)), SHORT, ending)) as port:
        url = f"https://127.0.0.1:{port}/items"
        for stack in (CurlStack(ca_bundle=root_file, trust_os_store=False, proxy=""), NativeStack(ca_bundle=root_file)):
            try:
                with pytest.raises(TransportError) as caught:
                    stack.send(Request("GET", url, timeout=2))
            finally:
                stack.close()
            assert caught.value.code == "http.invalid_response", (stack.name, caught.value)
            assert caught.value.may_have_reached_server
            if stack.name == "curl":
                assert caught.value.curl_code in (18, 56), caught.value


def test_a_redirect_loop_is_an_http_answer_on_both_client_stacks(authorities: LabAuthorities, root_file: Path) -> None:
    # The CDN that fetches the origin over HTTP while the origin redirects HTTP to HTTPS: every
    # answer is a redirect to the same URL. libcurl stops at its maximum (curl 47), httpx raises
    # TooManyRedirects; neither is a TLS failure, and no other stack would do better.
    from tlsdoctor.client.curl_stack import CurlStack
    from tlsdoctor.client.errors import TransportError
    from tlsdoctor.client.native_stack import NativeStack
    from tlsdoctor.client.policy import Action, decide
    from tlsdoctor.client.stack import Request
    from tlsdoctor.lab.http import Reply

    leaf = authorities.intermediate.issue_cert("127.0.0.1")
    loop = Reply(status=301, body=b"", extra_headers=((b"location", b"/loop"),))
    with serving(HttpsOrigin(TlsServerConfig(certificate=leaf, alpn=("http/1.1",)), reply=loop)) as port:
        url = f"https://127.0.0.1:{port}/loop"
        for stack in (CurlStack(ca_bundle=root_file, trust_os_store=False, proxy=""), NativeStack(ca_bundle=root_file)):
            try:
                with pytest.raises(TransportError) as caught:
                    stack.send(Request("GET", url, timeout=5))
            finally:
                stack.close()
            assert caught.value.code == "http.error", (stack.name, caught.value)
            assert decide(caught.value.code, same_trust=True, idempotent=True, may_have_reached_server=True)[0] \
                is Action.NONE
            if stack.name == "curl":
                assert caught.value.curl_code == 47


def test_a_trickled_answer_ends_within_the_budget_as_an_http_timeout_on_both_stacks(
        authorities: LabAuthorities, root_file: Path) -> None:
    # httpx bounds each read, not a request: a byte a second kept the native stack 30 s (the
    # server's own limit) on a 1 s budget, and its read timeout read as a TLS alert. Each stack
    # now ends within the budget (the bound here is loose: an upper bound, not a speed claim)
    # with http.timed_out, and so does the client with its fallback.
    import time

    from tlsdoctor.client.client import Client
    from tlsdoctor.client.curl_stack import CurlStack
    from tlsdoctor.client.errors import TransportError
    from tlsdoctor.client.native_stack import NativeStack
    from tlsdoctor.client.stack import Request

    from .servers import TrickleHttp

    leaf = authorities.intermediate.issue_cert("127.0.0.1")
    with serving(TrickleHttp(TlsServerConfig(certificate=leaf, alpn=("http/1.1",)), interval=0.5)) as port:
        url = f"https://127.0.0.1:{port}/"
        for stack in (NativeStack(ca_bundle=root_file), CurlStack(ca_bundle=root_file, trust_os_store=False, proxy="")):
            started = time.monotonic()
            try:
                with pytest.raises(TransportError) as caught:
                    stack.send(Request("GET", url, timeout=1.0))
            finally:
                stack.close()
            assert time.monotonic() - started < 10, stack.name  # it was 30 s on native
            assert caught.value.code == "http.timed_out", (stack.name, caught.value)
        stacks = {"curl": CurlStack(ca_bundle=root_file, trust_os_store=False, proxy=""),
                  "native": NativeStack(ca_bundle=root_file)}
        with Client(stack="native", stacks=stacks, validate_every=0, timeout=1.0) as client:
            started = time.monotonic()
            with pytest.raises(TransportError) as caught:
                client.get(url)
            assert time.monotonic() - started < 10 and caught.value.code == "http.timed_out"
            assert client.attempts == 1  # a late answer is late on any stack: no fallback


BROKEN_BODIES = {
    "broken chunked framing": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n0\r\n\r\n",
    "a gzip body that is not gzip": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 12\r\n\r\nnot gzipped!",
}


@pytest.mark.parametrize("case", list(BROKEN_BODIES))
def test_a_body_that_does_not_decode_is_an_invalid_answer(case: str, authorities: LabAuthorities,
                                                          root_file: Path) -> None:
    import pycurl

    from tlsdoctor.client.curl_stack import CurlStack
    from tlsdoctor.client.errors import TransportError
    from tlsdoctor.client.native_stack import NativeStack
    from tlsdoctor.client.stack import Request

    leaf = authorities.intermediate.issue_cert("127.0.0.1")
    answer = BROKEN_BODIES[case]
    with serving(BrokenAnswer(TlsServerConfig(certificate=leaf, alpn=("http/1.1",)), answer, "close_notify")) as port:
        curl = CurlStack(ca_bundle=root_file, trust_os_store=False, proxy="")
        # libcurl decodes a Content-Encoding only when asked (CURLOPT_ACCEPT_ENCODING), as an
        # application that sets Accept-Encoding does; httpx always asks.
        curl._state().curl.setopt(pycurl.ACCEPT_ENCODING, "")
        for stack in (curl, NativeStack(ca_bundle=root_file)):
            try:
                with pytest.raises(TransportError) as caught:
                    stack.send(Request("GET", f"https://127.0.0.1:{port}/", timeout=2))
            finally:
                stack.close()
            assert caught.value.code == "http.invalid_response", (stack.name, caught.value)
            if stack.name == "curl":
                assert caught.value.curl_code in (56, 61), caught.value


@pytest.mark.parametrize("ending", ["reset", "close_notify", "eof"])
def test_a_connection_ended_before_the_answer_is_named_on_both_client_stacks(
        ending: str, authorities: LabAuthorities, root_file: Path) -> None:
    # A server that drops an upload: libcurl said "Recv failure: Connection reset by peer" (56),
    # read as tcp.reset ("before TLS began") though TLS was up; the stack now says it was.
    from tlsdoctor.client.curl_stack import CurlStack
    from tlsdoctor.client.errors import TransportError
    from tlsdoctor.client.native_stack import NativeStack
    from tlsdoctor.client.stack import Request

    leaf = authorities.intermediate.issue_cert("127.0.0.1")
    with serving(BrokenAnswer(TlsServerConfig(certificate=leaf, alpn=("http/1.1",)), b"", ending)) as port:
        for stack in (CurlStack(ca_bundle=root_file, trust_os_store=False, proxy=""), NativeStack(ca_bundle=root_file)):
            try:
                with pytest.raises(TransportError) as caught:
                    stack.send(Request("POST", f"https://127.0.0.1:{port}/upload", body=b"x" * 2_000_000,
                                       timeout=5))
            finally:
                stack.close()
            assert caught.value.code == "http.invalid_response", (stack.name, caught.value)
            assert caught.value.may_have_reached_server

"""Servers whose TLS is fine and whose answer is not HTTP: the verdict is ``http.invalid_response``.

Before this code existed, the diagnosis read libcurl's 8, 52 or 1 through the safety net and
named a TLS alert or a mid-handshake close, for a handshake that had completed and verified.
Each test serves one such server on 127.0.0.1 (real TLS, lab certificates), diagnoses it
once, and checks the fault tlsdoctor's own HEAD saw beside libcurl's code.
"""

from __future__ import annotations

import time
from pathlib import Path

import pycurl
import pytest

from tlsdoctor.client.client import Client
from tlsdoctor.client.curl_stack import CurlStack
from tlsdoctor.client.errors import TransportError
from tlsdoctor.client.native_stack import NativeStack
from tlsdoctor.client.policy import Action, decide
from tlsdoctor.client.stack import Request
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.endpoints import HttpsOrigin
from tlsdoctor.lab.http import Reply
from tlsdoctor.lab.tls import TlsServerConfig

from .conftest import as_json, assert_honest_and_in_time, diagnose_hostile, human
from .servers import BrokenAnswer, TrickleHttp, serving

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


def _http1(authorities: LabAuthorities) -> TlsServerConfig:
    """A lab certificate for 127.0.0.1, HTTP/1.1 only (the answers below are HTTP/1.1 bytes)."""
    return TlsServerConfig(certificate=authorities.intermediate.issue_cert("127.0.0.1"), alpn=("http/1.1",))


@pytest.mark.parametrize("case", list(CASES))
def test_an_answer_that_is_not_http_is_named_as_such(case: str, authorities: LabAuthorities, root_file: Path) -> None:
    answer, ending, fault, curl_codes = CASES[case]
    with serving(BrokenAnswer(_http1(authorities), answer, ending)) as port:
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
    with serving(HttpsOrigin(_http1(authorities))) as port:
        d = diagnose_hostile(port, root_file)
    assert d.verdict.code == "ok", d.verdict.summary
    # libcurl's answer stands in for the HEAD when it came in time; either way no fault.
    assert d.observations.http is not None and all(e.fault is None for e in d.observations.http.exchanges)


SHORT = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\nonly this much"


def failures_on_both_stacks(root_file: Path, request: Request, *,
                            decode_bodies: bool = False) -> dict[str, tuple[TransportError, float]]:
    """Send ``request`` on each client stack (each closed after): its TransportError and the
    seconds it took, by stack name. A stack that does not fail fails the test.

    ``decode_bodies``: libcurl decodes a Content-Encoding only when asked
    (CURLOPT_ACCEPT_ENCODING), as an application that sets Accept-Encoding does; httpx always asks.
    """
    curl = CurlStack(ca_bundle=root_file, trust_os_store=False, proxy="")
    if decode_bodies:
        curl._state().curl.setopt(pycurl.ACCEPT_ENCODING, "")
    failed = {}
    for stack in (curl, NativeStack(ca_bundle=root_file)):
        started = time.monotonic()
        try:
            with pytest.raises(TransportError) as caught:
                stack.send(request)
        finally:
            stack.close()
        failed[stack.name] = (caught.value, time.monotonic() - started)
    return failed


@pytest.mark.parametrize("ending", ["close_notify", "eof"])
def test_an_answer_cut_short_is_named_on_both_client_stacks(ending: str, authorities: LabAuthorities,
                                                              root_file: Path) -> None:
    # The client's GET reads the body (the diagnosis's HEAD does not): libcurl's 18, or its 56
    # from SSL_read, and httpx's RemoteProtocolError, all name the same code, not a TLS alert.
    with serving(BrokenAnswer(_http1(authorities), SHORT, ending)) as port:
        failed = failures_on_both_stacks(root_file, Request("GET", f"https://127.0.0.1:{port}/items", timeout=2))
    for name, (error, _seconds) in failed.items():
        assert error.code == "http.invalid_response", (name, error)
        assert error.may_have_reached_server
    assert failed["curl"][0].curl_code in (18, 56), failed["curl"][0]


def test_a_redirect_loop_is_an_http_answer_on_both_client_stacks(authorities: LabAuthorities, root_file: Path) -> None:
    # The CDN that fetches the origin over HTTP while the origin redirects HTTP to HTTPS: every
    # answer is a redirect to the same URL. libcurl stops at its maximum (curl 47), httpx raises
    # TooManyRedirects; neither is a TLS failure, and no other stack would do better.
    loop = Reply(status=301, body=b"", extra_headers=((b"location", b"/loop"),))
    with serving(HttpsOrigin(_http1(authorities), reply=loop)) as port:
        failed = failures_on_both_stacks(root_file, Request("GET", f"https://127.0.0.1:{port}/loop", timeout=5))
    for name, (error, _seconds) in failed.items():
        assert error.code == "http.error", (name, error)
        assert decide(error.code, same_trust=True, idempotent=True, may_have_reached_server=True)[0] is Action.NONE
    assert failed["curl"][0].curl_code == 47


def test_a_trickled_answer_ends_within_the_budget_as_an_http_timeout_on_both_stacks(
        authorities: LabAuthorities, root_file: Path) -> None:
    # httpx bounds each read, not a request: a byte a second kept the native stack 30 s (the
    # server's own limit) on a 1 s budget, and its read timeout read as a TLS alert. Each stack
    # now ends within the budget (the bound here is loose: an upper bound, not a speed claim)
    # with http.timed_out, and so does the client with its fallback.
    with serving(TrickleHttp(_http1(authorities), interval=0.5)) as port:
        url = f"https://127.0.0.1:{port}/"
        for name, (error, seconds) in failures_on_both_stacks(root_file, Request("GET", url, timeout=1.0)).items():
            assert seconds < 10, name  # it was 30 s on native
            assert error.code == "http.timed_out", (name, error)
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
    with serving(BrokenAnswer(_http1(authorities), BROKEN_BODIES[case], "close_notify")) as port:
        failed = failures_on_both_stacks(root_file, Request("GET", f"https://127.0.0.1:{port}/", timeout=2),
                                         decode_bodies=True)
    for name, (error, _seconds) in failed.items():
        assert error.code == "http.invalid_response", (name, error)
    assert failed["curl"][0].curl_code in (56, 61), failed["curl"][0]


@pytest.mark.parametrize("ending", ["reset", "close_notify", "eof"])
def test_a_connection_ended_before_the_answer_is_named_on_both_client_stacks(
        ending: str, authorities: LabAuthorities, root_file: Path) -> None:
    # A server that drops an upload: libcurl said "Recv failure: Connection reset by peer" (56),
    # read as tcp.reset ("before TLS began") though TLS was up; the stack now says it was.
    with serving(BrokenAnswer(_http1(authorities), b"", ending)) as port:
        upload = Request("POST", f"https://127.0.0.1:{port}/upload", body=b"x" * 2_000_000, timeout=5)
        failed = failures_on_both_stacks(root_file, upload)
    for name, (error, _seconds) in failed.items():
        assert error.code == "http.invalid_response", (name, error)
        assert error.may_have_reached_server

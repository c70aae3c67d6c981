"""The curl stack's and the client's per-request shortcuts keep every fact a response had.

A curl response copies only its status, body and raw header lines out of the handle; its final
URL, HTTP version and timings stay in the handle until read, or until the handle's next request
copies them out first (if the response is still held). The client reuses one immutable Request
for identical requests, and the stack then skips its option checks. These tests make sure that
none of this can hand a response another request's facts, or a request another's options.
"""

from __future__ import annotations

import dataclasses
import gc
import pickle
import threading
import weakref

import pytest

from tlsdoctor.client.client import Client
from tlsdoctor.client.curl_stack import CurlStack, _CurlResponse
from tlsdoctor.client.errors import TransportError
from tlsdoctor.client.native_stack import NativeStack
from tlsdoctor.client.stack import Request, Response
from tlsdoctor.lab import Lab


def _stack(lab: Lab) -> CurlStack:
    return CurlStack(ca_bundle=lab["ok"].ca_file, trust_os_store=False, proxy="")


def _recording(lab: Lab, seen: list[Request]) -> CurlStack:
    """A curl stack that also keeps every Request it is handed, in order."""

    class Recording(CurlStack):
        def send(self, request: Request) -> Response:
            seen.append(request)
            return super().send(request)

    return Recording(ca_bundle=lab["ok"].ca_file, trust_os_store=False, proxy="")


def test_a_response_held_across_the_next_request_keeps_its_own_url_version_and_timings(tls_lab: Lab) -> None:
    ok = tls_lab["ok"]
    first_url, second_url = ok.url.rstrip("/") + "/first", ok.url.rstrip("/") + "/second?q=1"
    stack = _stack(tls_lab)
    try:
        first = stack.send(Request("GET", first_url, timeout=10))  # a new connection: a TLS time
        second = stack.send(Request("GET", second_url, timeout=10))  # reuses it: none
        third = stack.send(Request("HEAD", first_url, timeout=10))
        assert first.url == first_url and second.url == second_url and third.url == first_url
        assert first.timings_ms["tls"] > 0 and second.timings_ms["tls"] == 0
        assert first.timings_ms["total"] > 0 and second.timings_ms["total"] > 0
        assert first.http_version == second.http_version == "2"
        assert first.status == second.status == 200 and third.body == b""
        assert first.header("content-length") == str(len(first.body)) and third.headers
    finally:
        stack.close()
    # Closing the stack settles what is still held; nothing reads a closed handle afterwards.
    assert third.timings_ms["total"] > 0


def test_a_response_read_on_another_thread_while_the_handle_moves_on_keeps_its_facts(tls_lab: Lab) -> None:
    ok = tls_lab["ok"]
    stack = _stack(tls_lab)
    seen: list[tuple[str, str, float]] = []
    try:
        responses = [stack.send(Request("GET", f"{ok.url.rstrip('/')}/{n}", timeout=10)) for n in range(1)]
        reader = threading.Thread(target=lambda: seen.extend(
            (r.url, r.http_version, r.timings_ms["total"]) for r in responses))
        reader.start()
        for n in range(1, 30):  # the handle's own thread keeps sending meanwhile
            responses.append(stack.send(Request("GET", f"{ok.url.rstrip('/')}/{n}", timeout=10)))
        reader.join(10)
        assert seen and seen[0][0].endswith("/0")
        assert [r.url.rsplit("/", 1)[1] for r in responses] == [str(n) for n in range(30)]
        assert all(r.timings_ms["total"] > 0 for r in responses)
    finally:
        stack.close()


def test_only_a_response_someone_still_holds_is_settled_and_a_dropped_one_is_freed_at_once(
    tls_lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handle's state keeps its last response and counts who else holds it: one the caller
    dropped is not copied out (its facts die with it), one still held is."""
    ok = tls_lab["ok"]
    settled: list[str] = []
    original = _CurlResponse._settle

    def counting(response: _CurlResponse) -> None:
        settled.append(response.__dict__["body"].decode())
        original(response)

    monkeypatch.setattr(_CurlResponse, "_settle", counting)
    stack = _stack(tls_lab)
    try:
        dropped = weakref.ref(stack.send(Request("GET", ok.url, timeout=10)))
        assert dropped() is not None  # the state holds it (a weak reference does not count)
        held = stack.send(Request("GET", ok.url, timeout=10))
        assert dropped() is None and settled == []  # freed by the next request, never settled
        stack.send(Request("HEAD", ok.url, timeout=10))
        assert len(settled) == 1 and held.__dict__["_facts"] is not None  # copied out before the HEAD
        assert held.url == ok.url and held.http_version == "2" and held.timings_ms["total"] > 0
    finally:
        stack.close()
    assert len(settled) == 2  # close settles the HEAD's response, still held by the state


def test_a_dropped_response_costs_nothing_and_a_copied_one_is_a_plain_response(tls_lab: Lab) -> None:
    ok = tls_lab["ok"]
    stack = _stack(tls_lab)
    try:
        stack.send(Request("GET", ok.url, timeout=10))
        gc.collect()
        kept = stack.send(Request("GET", ok.url, timeout=10))
        replaced = dataclasses.replace(kept, status=299)
        assert (replaced.status, replaced.url, replaced.headers) == (299, kept.url, kept.headers)
        copied = pickle.loads(pickle.dumps(kept))
        assert type(copied) is Response and dataclasses.asdict(copied) == dataclasses.asdict(kept)
    finally:
        stack.close()


def test_identical_requests_share_one_request_and_different_ones_are_configured_fully(tls_lab: Lab) -> None:
    ok = tls_lab["ok"]
    seen: list[Request] = []
    stacks = {"curl": _recording(tls_lab, seen)}
    with Client(stack="curl", stacks=stacks, validate_every=0) as client:
        get = client.get(ok.url)
        assert client.get(ok.url).body == get.body
        assert client.head(ok.url).body == b""  # HEAD after a reused GET: NOBODY is set again
        assert client.get(ok.url).body == get.body  # and unset
        assert client.get(ok.url, headers={"X-A": "1"}).status == 200
        assert client.get(ok.url, timeout=5).status == 200
        assert client.post(ok.url, b"x").status in (200, 405)
        assert client.get(ok.url).body == get.body  # GET after a POST states its method again
    assert seen[0] is seen[1] is seen[3] is seen[7]
    assert seen[4] is not seen[0] and dict(seen[4].headers) == {"X-A": "1"}
    assert seen[5].timeout == 5 and seen[0].timeout == client.timeout
    assert seen[0] == Request("GET", ok.url, {}, None, client.timeout)  # equal to one built the usual way
    with pytest.raises(TypeError):
        seen[0].headers["X-B"] = "2"  # type: ignore[index]  # shared between requests: read-only


def test_a_failure_after_quiet_warm_requests_still_carries_libcurls_debug_text(tls_lab: Lab) -> None:
    ok, expired = tls_lab["ok"], tls_lab["expired"]
    stacks = {"curl": CurlStack(ca_bundle=ok.ca_file, trust_os_store=False, proxy="")}
    with Client(stack="curl", stacks=stacks, validate_every=0) as client:
        for _ in range(3):
            client.get(ok.url)
        state = stacks["curl"]._local.state
        assert not state.verbose  # a warm keep-alive connection runs quiet
        with pytest.raises(TransportError) as raised:
            client.get(expired.url)
        assert raised.value.code == "cert.expired"
        assert "certificate" in raised.value.debug.lower() and "TLS" in raised.value.debug
        # After a failure the next request is verbose again, even to the warm origin.
        client.get(ok.url)
        assert state.verbose
        client.get(ok.url)
        assert not state.verbose


def test_what_is_set_after_construction_still_hears_every_success(tls_lab: Lab) -> None:
    """The hot path skips a success's bookkeeping when there is none; setting a listener or a
    sample rate afterwards must bring it back."""
    from tlsdoctor.client.events import EventListener

    ok = tls_lab["ok"]
    heard: list[int] = []
    sampled: list[dict[str, object]] = []

    class Heard(EventListener):
        def response(self, request: Request, response: Response) -> None:
            heard.append(response.status)

    class Reporter:
        def report(self, event: object) -> bool:
            sampled.append(vars(event))
            return True

    stacks = {"curl": CurlStack(ca_bundle=ok.ca_file, trust_os_store=False, proxy="")}
    with Client(stack="curl", stacks=stacks, validate_every=0, reporter=Reporter()) as client:
        client.get(ok.url)
        assert heard == [] and sampled == []
        client.listener = Heard()
        client.sample_rate = 1.0
        client.get(ok.url)
        assert heard == [200] and [e["kind"] for e in sampled] == ["sample"]
        client.listener = EventListener()
        client.sample_rate = 0.0
        client.get(ok.url)
        assert heard == [200] and len(sampled) == 1


def test_a_get_sent_straight_to_an_explicit_stack_still_falls_back_and_then_routes(tls_lab: Lab) -> None:
    """Client.get's shortcut (a GET already seen, an explicit stack, nothing to do after a
    success) still falls back on a failure, and a broken mark then routes around the stack."""
    entry = tls_lab["h2-broken"]
    stacks = {"curl": CurlStack(ca_bundle=entry.ca_file, trust_os_store=False, proxy=""),
              "native": NativeStack(ca_bundle=entry.ca_file)}
    with Client(stack="curl", stacks=stacks, validate_every=0) as client:
        assert client._direct is stacks["curl"]
        counts = []
        for _ in range(3):
            before = client.attempts
            response = client.get(entry.url)
            counts.append((response.stack, client.attempts - before))
        assert counts == [("native", 2), ("native", 1), ("native", 1)]
        assert client.broken.marked


def test_a_new_client_timeout_reaches_the_requests_sent_after_it(tls_lab: Lab) -> None:
    ok = tls_lab["ok"]
    seen: list[Request] = []
    stacks = {"curl": _recording(tls_lab, seen)}
    with Client(stack="curl", stacks=stacks, validate_every=0, timeout=20) as client:
        client.get(ok.url)
        client.get(ok.url)
        client.timeout = 7
        client.get(ok.url)
        client.get(ok.url)
        client.get(ok.url, timeout=3)
    assert [r.timeout for r in seen] == [20, 20, 7, 7, 3]
    assert seen[0] is seen[1] and seen[2] is seen[3] and seen[1] is not seen[2]


def test_the_shortcut_is_taken_only_when_a_success_has_nothing_else_to_do(tls_lab: Lab) -> None:
    from tlsdoctor.client.events import EventListener

    ok = tls_lab["ok"]
    stacks = {"curl": CurlStack(ca_bundle=ok.ca_file, trust_os_store=False, proxy="")}
    with Client(stack="curl", stacks=stacks, validate_every=0) as client:
        assert client._direct is stacks["curl"]
        client.sample_rate = 0.5
        assert client._direct is None
        client.sample_rate = 0.0
        client.listener = EventListener()  # the base class's no-ops: nothing to tell
        assert client._direct is stacks["curl"]
    with Client(stack="curl", stacks=stacks, validate_every=5) as validating, \
            Client(stack="auto", stacks=stacks, validate_every=0) as rolled_out:
        assert validating._direct is None and rolled_out._direct is None
        assert validating.get(ok.url).status == rolled_out.get(ok.url).status == 200

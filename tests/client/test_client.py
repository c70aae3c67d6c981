"""tlsdoctor.client against the lab: outcomes, fallback, broken marks, validation.

Every test uses real stacks (libcurl through pycurl, httpx with truststore) against real
lab servers. The curl stack is set up without the OS store where a test needs the two
stacks to trust different things, as the field's naive libcurl integrations are.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from tlsdoctor.client.broken import INITIAL_BACKOFF, MAX_BACKOFF, BrokenOrigins
from tlsdoctor.client.client import Client, origin_of
from tlsdoctor.client.curl_stack import CurlStack
from tlsdoctor.client.errors import TransportError
from tlsdoctor.client.events import EventListener
from tlsdoctor.client.native_stack import NativeStack
from tlsdoctor.client.policy import FALLBACK_POLICY, Action, decide
from tlsdoctor.client.stack import Request, Response
from tlsdoctor.findings import FINDING_CODES
from tlsdoctor.lab import Lab, LabScenario

from tests.lab.test_scenarios import python_hello_bytes, python_sends_post_quantum_share

# Where one libcurl error alone cannot tell the scenario's root cause apart (diagnosis can):
# the exception carries the best reading of the table; the scenario's code is among its
# candidates, as `tlsdoctor explain` shows.
AMBIGUOUS = {
    "incomplete-chain": "cert.untrusted_root",
    "intercepting-proxy": "cert.untrusted_root",
    "no-shared-cipher": "tls.handshake_alert",
    "clock-skew": "ok",  # the client runs with the true clock
}


class Recorder(EventListener):
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.lock = threading.Lock()

    def _add(self, name: str, *args: Any) -> None:
        with self.lock:
            self.events.append((name, args))

    def fallback(self, request: Request, from_stack: str, to_stack: str, error: TransportError) -> None:
        self._add("fallback", from_stack, to_stack, error.code)

    def retry_decision(self, request: Request, error: TransportError, action: str, reason: str) -> None:
        self._add("decision", action, reason)

    def tls(self, request: Request, stack: str, ms: float) -> None:
        self._add("tls", stack)

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


def curl_only(entry: LabScenario, **options: Any) -> Client:
    """A client on the curl stack whose trust is the scenario's CA file alone."""
    stacks = {"curl": CurlStack(ca_bundle=entry.ca_file, trust_os_store=False, proxy=entry.proxy or ""),
              "native": NativeStack(ca_bundle=entry.ca_file, proxy=entry.proxy)}
    options.setdefault("validate_every", 0)
    return Client(stack="curl", stacks=stacks, **options)


@pytest.mark.tls_scenarios(*(s for s in (
    "ok", "expired", "not-yet-valid", "wrong-host", "self-signed", "untrusted-root", "incomplete-chain",
    "sha1-signature", "rsa-1024", "bad-eku", "expiring-soon", "tls1.0-only", "no-shared-cipher",
    "alert-handshake-failure", "alert-close-notify-fatal", "legacy-renegotiation", "post-quantum-refused",
    "sni-required", "reset-after-hello", "large-hello-reset",
    "close-after-hello",
    "stall-handshake", "plain-http", "empty-reply", "not-http-answer", "no-close-notify", "proxy-tunnel",
    "proxy-https-scheme", "https-proxy-untrusted", "intercepting-proxy",
    "proxy-auth-required", "proxy-windows-auth", "proxy-refuses-connect", "proxy-bad-gateway", "corrupt-ca-bundle", "expired-root",
    "unreadable-ca-file", "clock-skew",
    "dns-unresolvable", "tcp-refused",
    "http-error", "response-stall", "tcp-silent", "proxy-unreachable", "proxy-unresolvable", "socks-tunnel",
    "socks-auth-required", "socks-refuses-connect", "h2-stream-reset", "expired-intermediate", "proxy-breaks-http2",
    "h2-http11-required",
)))
def test_the_curl_stack_meets_each_scenario_with_its_code(tls_scenario: LabScenario) -> None:
    expected_code = AMBIGUOUS.get(tls_scenario.id, tls_scenario.code)
    stack = CurlStack(ca_bundle=tls_scenario.ca_file, trust_os_store=False, proxy=tls_scenario.proxy or "")
    try:
        response = stack.send(Request("GET", tls_scenario.url, timeout=2))
    except TransportError as error:
        assert (error.code, error.curl_code) == (expected_code, tls_scenario.curl_code), error
        assert error.nel_type == FINDING_CODES[expected_code].nel_type
        if tls_scenario.id in AMBIGUOUS:
            from tlsdoctor.classify import Signal, classify

            readings = [c.code for c in classify(Signal(curl_code=error.curl_code, text=error.message))]
            assert tls_scenario.code in readings[:4]
    else:
        assert expected_code in ("ok", "proxy.upstream_failed", "http.error"), tls_scenario.id
        assert response.status == (tls_scenario.scenario.http_status or 200)
        assert response.body  # an HTTP error status is a response, with its body readable
    finally:
        stack.close()


@pytest.mark.parametrize("scenario_id, code", [
    ("tcp-silent", "tcp.timed_out"),  # httpx: ConnectTimeout, "timed out" (its connect covers TLS too)
    ("stall-handshake", "tls.handshake_timeout"),  # ... "The handshake operation timed out"
    ("response-stall", "http.timed_out"),
    ("proxy-unreachable", "proxy.unreachable"),
    ("proxy-unresolvable", "proxy.unresolvable"),  # through a proxy the client resolves only the proxy's name
    ("socks-auth-required", "proxy.auth_required"),
    ("socks-refuses-connect", "proxy.connect_refused"),
])
def test_the_native_stack_names_route_failures_as_the_curl_stack_does(tls_lab: Lab, scenario_id: str,
                                                                       code: str) -> None:
    entry = tls_lab[scenario_id]
    stack = NativeStack(ca_bundle=entry.ca_file, proxy=entry.proxy)
    try:
        with pytest.raises(TransportError) as caught:
            stack.send(Request("GET", entry.url, timeout=1.0))
    finally:
        stack.close()
    assert caught.value.code == code, caught.value


@pytest.mark.parametrize("scenario_id, reached, reading", [
    ("tcp-silent", False, "tcp.timed_out"),  # no TCP: libcurl 8 still sets PRETRANSFER_TIME, to the time spent
    ("stall-handshake", False, "tls.handshake_timeout"),
    ("response-stall", True, "http.timed_out"),  # TLS up, the request sent: it may have been acted on
])
def test_a_timeout_says_whether_the_request_may_have_reached_the_server(
        tls_lab: Lab, scenario_id: str, reached: bool, reading: str) -> None:
    # What decides whether a POST may be sent again through the other stack.
    entry = tls_lab[scenario_id]
    stack = CurlStack(ca_bundle=entry.ca_file, trust_os_store=False, proxy="")
    try:
        with pytest.raises(TransportError) as caught:
            stack.send(Request("POST", entry.url, body=b"order=1", timeout=1.0))
    finally:
        stack.close()
    assert (caught.value.curl_code, caught.value.may_have_reached_server) == (28, reached)
    assert caught.value.code == reading


def test_http2_broken_falls_back_once_then_goes_straight_to_native(tls_lab: Lab, tmp_path: Path) -> None:
    entry = tls_lab["h2-broken"]
    recorder = Recorder()
    with curl_only(entry, listener=recorder, state_dir=tmp_path) as client:
        before = client.attempts
        first = client.get(entry.url)
        assert (first.stack, first.status, client.attempts - before) == ("native", 200, 2)
        assert ("fallback", ("curl", "native", "http2.negotiation_failed")) in recorder.events
        mark = client.broken.get(origin_of(entry.url), "curl")
        assert mark is not None and mark.failures == 1
        for _ in range(3):
            before = client.attempts
            again = client.get(entry.url)
            assert (again.stack, client.attempts - before) == ("native", 1)  # no second fallback
    assert recorder.names().count("fallback") == 1
    # The mark survives a restart: a new client on the same state directory skips curl at once.
    with curl_only(entry, state_dir=tmp_path) as restarted:
        before = restarted.attempts
        assert restarted.get(entry.url).stack == "native" and restarted.attempts - before == 1


def test_interception_ca_only_in_the_os_store_falls_back_to_the_native_stack(
    tls_lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = tls_lab["intercepting-proxy"]
    # The OS store (what truststore reads on Linux) holds the lab root and the interceptor's CA;
    # the app's own CA file only the lab root: the field's antivirus case.
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_lab.run_dir / "ca-lab-interception.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    stacks = {"curl": CurlStack(ca_bundle=entry.ca_file, trust_os_store=False, proxy=entry.proxy),
              "native": NativeStack(proxy=entry.proxy)}
    recorder = Recorder()
    with Client(stack="curl", stacks=stacks, listener=recorder, validate_every=0) as client:
        response = client.get(entry.url)
        assert (response.stack, response.status) == ("native", 200)
        assert ("fallback", ("curl", "native", "cert.untrusted_root")) in recorder.events
        before = client.attempts
        assert client.get(entry.url).stack == "native" and client.attempts - before == 1


@pytest.mark.parametrize(("scenario_id", "os_store"), [
    ("intercepting-proxy", "ca-interception.pem"),  # an antivirus CA in the OS store
    ("company-root", "ca-store-corporate.pem"),  # a company's own root, which no bundled CA file holds
])
def test_the_curl_stack_with_the_os_store_merged_in_needs_no_fallback(
    tls_lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario_id: str, os_store: str
) -> None:
    entry = tls_lab[scenario_id]
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_lab.run_dir / os_store))
    stack = CurlStack(ca_bundle=entry.ca_file, trust_os_store=True, proxy=entry.proxy)
    try:
        assert stack.send(Request("GET", entry.url, timeout=3)).status == 200
    finally:
        stack.close()


def test_same_trust_means_no_retry_for_certificate_failures(tls_lab: Lab) -> None:
    entry = tls_lab["expired"]
    recorder = Recorder()
    same = {"curl": CurlStack(ca_bundle=entry.ca_file, trust_os_store=False, proxy=""),
            "native": CurlStack(ca_bundle=entry.ca_file, trust_os_store=False, proxy="")}
    with Client(stack="curl", stacks=same, listener=recorder, validate_every=0) as client:
        with pytest.raises(TransportError) as caught:
            client.get(entry.url)
        assert caught.value.code == "cert.expired" and client.attempts == 1
    assert ("decision", ("none", "the other stack trusts the same CAs: it would fail the same way")) in recorder.events


def test_connect_failures_check_the_other_stack_and_raise_the_first_error(tls_lab: Lab) -> None:
    entry = tls_lab["tcp-refused"]
    with curl_only(entry) as client:
        with pytest.raises(TransportError) as caught:
            client.get(entry.url)
    assert (caught.value.code, caught.value.curl_code, caught.value.stack) == ("tcp.refused", 7, "curl")
    assert client.attempts == 2
    assert client.broken.get(origin_of(entry.url), "curl") is None  # both failed: no stack is to blame


def test_a_body_that_may_have_reached_the_server_is_not_sent_twice() -> None:
    action, reason = decide("tls.abrupt_close", same_trust=False, idempotent=False, may_have_reached_server=True)
    assert action is Action.NONE and "not idempotent" in reason
    assert decide("tls.abrupt_close", same_trust=False, idempotent=True, may_have_reached_server=True)[0] \
        is Action.RETRY_OTHER_STACK


@pytest.mark.parametrize("scenario_id, code, python_meets_it_too", [
    # libcurl on OpenSSL 3.5+ sends a post-quantum key share: a ~1.5 KB hello, reset by a server
    # that reads one segment, or refused by one that cannot parse ML-KEM. The native stack's
    # Python ssl (OpenSSL 3.0 here) sends a ~520-byte hello with classic shares, and is served.
    ("large-hello-reset", "tls.abrupt_close", lambda: python_hello_bytes() > 1400),
    ("post-quantum-refused", "tls.handshake_alert", lambda: python_sends_post_quantum_share()),
])
def test_a_server_that_refuses_libcurls_hello_falls_back_to_the_stack_whose_hello_it_takes(
        tls_lab: Lab, tmp_path: Path, scenario_id: str, code: str, python_meets_it_too: Any) -> None:
    if python_meets_it_too():
        pytest.skip("this Python's ssl writes the same kind of hello: no stack gets through")
    entry = tls_lab[scenario_id]
    recorder = Recorder()
    with curl_only(entry, listener=recorder, state_dir=tmp_path) as client:
        response = client.get(entry.url)
        assert (response.stack, response.status) == ("native", 200)
        assert ("fallback", ("curl", "native", code)) in recorder.events
        assert client.get(entry.url).stack == "native"  # marked broken for curl: straight to native


@pytest.mark.parametrize("scheme", ["http", "socks5h"])
def test_a_proxy_that_refuses_connections_is_the_proxy_on_both_stacks(scheme: str) -> None:
    # Nothing listens on port 9 of 127.0.0.1: with a proxy set there, every connection either
    # stack opens is to the proxy, which httpx reports only as "Connection refused".
    proxy = f"{scheme}://127.0.0.1:9"
    for stack in (CurlStack(ca_bundle=None, trust_os_store=False, proxy=proxy), NativeStack(proxy=proxy)):
        try:
            with pytest.raises(TransportError) as failed:
                stack.send(Request("GET", "https://127.0.0.1:8443/", timeout=2))
        finally:
            stack.close()
        assert failed.value.code == "proxy.unreachable", (stack.name, failed.value)


def test_a_socks4_proxy_leaves_the_client_on_curl_with_native_said_unavailable(tls_lab: Lab) -> None:
    # httpx speaks no SOCKS4; libcurl does. The client runs on the stack that can, and says why
    # the other cannot, rather than refusing to start.
    entry, proxy = tls_lab["socks-tunnel"], tls_lab["socks-tunnel"].proxy
    assert proxy is not None and proxy.startswith("socks5h://")
    with Client(stack="curl", ca_bundle=entry.ca_file, trust_os_store=False, validate_every=0,
                proxy=proxy.replace("socks5h://", "socks4a://")) as client:
        assert "native" in client.unavailable and "httpx" in client.unavailable["native"]
        response = client.get(entry.url)
        assert (response.stack, response.status) == ("curl", 200)


def curl_failure(entry: LabScenario) -> TransportError:
    """What the curl stack raises for the scenario, its trust the scenario's CA file alone."""
    stack = CurlStack(ca_bundle=entry.ca_file, trust_os_store=False, proxy=entry.proxy)
    try:
        with pytest.raises(TransportError) as failed:
            stack.send(Request("GET", entry.url, timeout=2))
    finally:
        stack.close()
    return failed.value


def test_a_certificate_failure_at_an_https_proxy_says_so(tls_lab: Lab) -> None:
    # libcurl's 60 reads the same for the proxy's certificate and the server's; its
    # CURLINFO_PROXY_SSL_VERIFYRESULT says which, and the error carries it.
    entry = tls_lab["https-proxy-untrusted"]
    assert entry.proxy is not None and entry.proxy.startswith("https://")
    failed = curl_failure(entry)
    assert failed.curl_code == 60 and "(20)" in failed.message
    assert "at the HTTPS proxy" in failed.message and failed.code == "cert.untrusted_root"
    assert failed.nel_type == "tls.cert.authority_invalid"
    from tlsdoctor.classify import Signal, classify
    from tlsdoctor.client.errors import AT_PROXY

    assert classify(Signal(curl_code=60, verify_result=10, text=f"x ({AT_PROXY})"))[0].code == "cert.expired"
    # The server's own failure through a plain proxy does not say so.
    origin = curl_failure(tls_lab["intercepting-proxy"])
    assert origin.curl_code == 60 and "at the HTTPS proxy" not in origin.message


@pytest.mark.tls_scenarios("empty-reply", "not-http-answer")
def test_an_answer_that_is_not_http_is_checked_on_the_other_stack(tls_scenario: LabScenario, tmp_path: Path) -> None:
    # Both stacks meet the same broken server: each names it, the other stack is asked once
    # (its parser might accept what libcurl refuses), and nothing is marked broken.
    native = NativeStack(ca_bundle=tls_scenario.ca_file)
    try:
        with pytest.raises(TransportError) as on_native:
            native.send(Request("GET", tls_scenario.url, timeout=2))
    finally:
        native.close()
    assert on_native.value.code == "http.invalid_response", on_native.value
    recorder = Recorder()
    with curl_only(tls_scenario, listener=recorder, state_dir=tmp_path) as client:
        with pytest.raises(TransportError) as on_curl:
            client.get(tls_scenario.url)
        assert (on_curl.value.code, on_curl.value.curl_code, on_curl.value.stack) == \
            ("http.invalid_response", tls_scenario.curl_code, "curl")
        assert client.attempts == 2 and recorder.names().count("fallback") == 1
        assert client.broken.get(origin_of(tls_scenario.url), "curl") is None
        # A request whose body reached the server is not sent again: POST is not idempotent.
        with pytest.raises(TransportError):
            client.post(tls_scenario.url, b"order=1")
        assert client.attempts == 3


def test_a_malformed_url_is_the_applications_error_not_a_transport_failure(tls_lab: Lab) -> None:
    # Sent anyway, libcurl said "URL rejected" (curl 3), read as a TLS alert, and fell back.
    entry = tls_lab["ok"]
    recorder = Recorder()
    with curl_only(entry, listener=recorder) as client:
        for url in ("https://bob:hunter2@127.0.0.1:99999/", "https://127.0.0.1 /x", "ftp://127.0.0.1/", "https:///x"):
            with pytest.raises(ValueError, match="malformed URL") as caught:
                client.get(url)
            assert "hunter2" not in str(caught.value)
        with pytest.raises(ValueError):
            client.post("https://127.0.0.1:99999/", b"x", headers={"content-type": "text/plain"})
        assert client.attempts == 0 and not recorder.events


def test_policy_covers_every_code_and_never_retries_revocation() -> None:
    assert set(FALLBACK_POLICY) == set(FINDING_CODES)
    assert FALLBACK_POLICY["cert.revoked"] is Action.NONE
    assert FALLBACK_POLICY["tls.handshake_alert"] is Action.RETRY_OTHER_STACK
    assert FALLBACK_POLICY["cert.expired"] is Action.RETRY_IF_OTHER_TRUST
    assert FALLBACK_POLICY["dns.name_not_resolved"] is Action.CHECK_OTHER_STACK
    assert FALLBACK_POLICY["http.invalid_response"] is Action.CHECK_OTHER_STACK


def test_an_http_error_is_a_response_with_a_readable_body(tls_lab: Lab) -> None:
    entry = tls_lab["proxy-bad-gateway"]
    with Client(stack="curl", ca_bundle=entry.ca_file, proxy=entry.proxy, validate_every=0) as client:
        response = client.get(entry.url)
    assert response.status == 502 and b"certificate verify failed" in response.body


def test_backoff_doubles_from_five_minutes_to_two_days_and_success_clears(tmp_path: Path) -> None:
    now = [1_000_000.0]
    marks = BrokenOrigins(tmp_path / "state.json", clock=lambda: now[0])
    backoffs = [marks.mark("https://a:443", "curl").backoff for _ in range(12)]
    assert backoffs[:3] == [INITIAL_BACKOFF, 2 * INITIAL_BACKOFF, 4 * INITIAL_BACKOFF]
    assert backoffs[-1] == MAX_BACKOFF
    assert marks.is_broken("https://a:443", "curl")
    now[0] += MAX_BACKOFF + 1
    assert not marks.is_broken("https://a:443", "curl")
    reloaded = BrokenOrigins(tmp_path / "state.json", clock=lambda: now[0])
    assert reloaded.get("https://a:443", "curl").failures == 12  # type: ignore[union-attr]
    reloaded.clear("https://a:443", "curl")
    assert BrokenOrigins(tmp_path / "state.json").get("https://a:443", "curl") is None


def test_a_damaged_state_file_costs_the_marks_not_the_client(tmp_path: Path) -> None:
    (tmp_path / "broken-origins.json").write_text("{not json")
    marks = BrokenOrigins(tmp_path / "broken-origins.json")
    assert not marks.is_broken("https://a:443", "curl")
    marks.mark("https://a:443", "curl")
    assert json.loads((tmp_path / "broken-origins.json").read_text())["schema"] == "tlsdoctor.broken-origins/1"


class SlowStack:
    """A stack that answers 200 after a pause, counting concurrent sends (validation replays)."""

    def __init__(self, name: str, pause: threading.Event | None = None) -> None:
        self.name, self.trust_source, self.pause = name, name, pause
        self.sends = 0
        self.lock = threading.Lock()

    def send(self, request: Request) -> Response:
        with self.lock:
            self.sends += 1
        if self.pause is not None:
            self.pause.wait(timeout=10)
        return Response(200, (), b"ok", request.url, self.name, "1.1", {})

    def close(self) -> None: ...


def test_validation_never_runs_twice_at_once_and_counts_skips() -> None:
    release = threading.Event()
    stacks = {"curl": SlowStack("curl"), "native": SlowStack("native", pause=release)}
    client = Client(stack="curl", stacks=stacks, validate_every=10)  # type: ignore[arg-type]
    threads = [threading.Thread(target=lambda: [client.get("https://127.0.0.1:9/x") for _ in range(100)])
               for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    release.set()
    assert client.validator.wait_idle(timeout=10)
    v = client.validator
    assert v.max_in_flight == 1
    assert v.started >= 1 and v.started + v.skipped == 100  # 1,000 requests, every 10th due
    assert stacks["native"].sends == v.started  # only started validations touched the other stack
    client.close()


def test_validation_reports_agree_or_differ(tls_lab: Lab) -> None:
    entry = tls_lab["h2-broken"]  # curl (h2) fails where native (HTTP/1.1) works
    seen: list[tuple[str, dict[str, str]]] = []

    class Watch(EventListener):
        def validation(self, request: Request, verdict: str, outcomes: Any) -> None:
            seen.append((verdict, dict(outcomes)))

    with Client(stack="native", ca_bundle=entry.ca_file, trust_os_store=False, validate_every=1,
                listener=Watch()) as client:
        assert client.get(entry.url).status == 200
        assert client.validator.wait_idle(timeout=10)
    assert seen and seen[0][0] == "differ" and seen[0][1]["curl"].startswith("http2.negotiation_failed")


def test_listeners_that_raise_never_break_a_request(tls_lab: Lab) -> None:
    class Broken(EventListener):
        def tls(self, *args: Any) -> None:
            raise RuntimeError("listener bug")

        def request_start(self, *args: Any) -> None:
            raise RuntimeError("listener bug")

    entry = tls_lab["ok"]
    with Client(stack="curl", ca_bundle=entry.ca_file, listener=Broken(), validate_every=0) as client:
        assert client.get(entry.url).status == 200


def test_reports_carry_the_code_of_each_failure_and_nothing_identifying(tls_lab: Lab, tmp_path: Path) -> None:
    from tlsdoctor.client.report import JsonLinesSink, Reporter, read_reports

    reporter = Reporter([JsonLinesSink(tmp_path / "reports")])
    expected = {}
    for sid in ("expired", "wrong-host", "tls1.0-only", "plain-http", "proxy-auth-required", "h2-broken"):
        entry = tls_lab[sid]
        with curl_only(entry, reporter=reporter, state_dir=tmp_path / sid, app_version="7.2.5") as client:
            url = entry.url + "secret/path?token=hunter2#frag"
            try:
                client.get(url, headers={"Authorization": "Bearer hunter2", "Cookie": "session=hunter2"})
            except TransportError:
                pass
        expected[sid] = (entry.code, entry.curl_code)
    assert reporter.flush(timeout=10)
    reporter.close()
    raw = "\n".join(p.read_text() for p in (tmp_path / "reports").glob("reports.jsonl*"))
    assert "hunter2" not in raw and "secret/path" not in raw and "?token" not in raw
    reports = read_reports(tmp_path / "reports")
    by_origin = {r["request"]["origin"]: r for r in reports}
    # A proxy (or DNS, TCP) failure that the other stack meets too is the network's, not a
    # stack's: policy says report it only if the other stack works, so there is none.
    assert origin_of(tls_lab["proxy-auth-required"].url) not in by_origin or \
        by_origin[origin_of(tls_lab["proxy-auth-required"].url)]["outcome"]["code"] != "proxy.auth_required"
    del expected["proxy-auth-required"]
    for sid, (code, curl_code) in expected.items():
        report = by_origin[origin_of(tls_lab[sid].url)]
        assert report["schema"] == "tlsdoctor.report/1" and report["app_version"] == "7.2.5"
        assert (report["outcome"]["code"], report["outcome"]["curl_code"]) == (code, curl_code), sid
        assert report["stack"] == "curl" and report["cohort"]["value"] == "curl"
        assert len(report["install"]) == 16
    assert by_origin[origin_of(tls_lab["h2-broken"].url)]["kind"] == "fallback"
    assert by_origin[origin_of(tls_lab["h2-broken"].url)]["fallback"]["ok"] is True
    assert by_origin[origin_of(tls_lab["expired"].url)]["kind"] == "failure"


def test_the_rollout_decides_the_stack_and_the_kill_switch_moves_everyone(tls_lab: Lab, tmp_path: Path) -> None:
    from tlsdoctor.client.rollout import Rollout, rollout_payload

    payload = tmp_path / "rollout.json"
    payload.write_text(json.dumps(rollout_payload(1.0)))
    now = [0.0]
    entry = tls_lab["ok"]
    rollout = Rollout(payload=payload, install_id="a" * 32, reload_interval=30, clock=lambda: now[0])
    with Client(ca_bundle=entry.ca_file, rollout=rollout, validate_every=0) as client:
        assert client.get(entry.url).stack == "curl"
        payload.write_text(json.dumps(rollout_payload(1.0, kill_switch=True)) + " ")
        now[0] += 31
        response = client.get(entry.url)
        assert response.stack == "native"
        assert client.choose_stack()[1]["rule"] == "kill-switch"  # type: ignore[index]


@pytest.mark.parametrize("sid", ["incomplete-chain", "intercepting-proxy", "no-shared-cipher", "expired"])
def test_with_diagnose_failures_reports_carry_the_root_cause(tls_lab: Lab, tmp_path: Path, sid: str) -> None:
    """One libcurl error cannot tell these apart; a diagnosis can, and the report says so."""
    from tlsdoctor.client.report import JsonLinesSink, Reporter, read_reports

    entry = tls_lab[sid]
    reporter = Reporter([JsonLinesSink(tmp_path)])
    stacks = {"curl": CurlStack(ca_bundle=entry.ca_file, trust_os_store=False, proxy=entry.proxy or ""),
              "native": CurlStack(ca_bundle=entry.ca_file, trust_os_store=False, proxy=entry.proxy or "")}
    with Client(stack="curl", stacks=stacks, ca_bundle=entry.ca_file, proxy=entry.proxy, reporter=reporter,
                validate_every=0, diagnose_failures=True) as client:
        with pytest.raises(TransportError) as caught:
            client.get(entry.url)
        assert caught.value.code == AMBIGUOUS.get(sid, entry.code)  # the immediate reading
        assert client.wait_for_diagnoses(timeout=30)
    assert reporter.flush(timeout=10)
    reporter.close()
    (report,) = read_reports(tmp_path)
    assert (report["outcome"]["code"], report["outcome"]["curl_code"]) == (entry.code, entry.curl_code)
    assert report["outcome"]["diagnosed"] is True


def test_debug_text_is_captured_for_failures_and_a_warm_connection_runs_quiet(tls_lab: Lab) -> None:
    ok, expired = tls_lab["ok"], tls_lab["expired"]
    stack = CurlStack(ca_bundle=ok.ca_file, trust_os_store=False)  # capture_debug="failures", the default
    try:
        with pytest.raises(TransportError) as raised:
            stack.send(Request("GET", expired.url, timeout=10))
        assert "SSL certificate" in raised.value.debug or "certificate" in raised.value.debug.lower()
        stack.send(Request("GET", ok.url, timeout=10))  # a new origin: verbose, since it may fail
        state = stack._local.state
        assert state.warm_origin == origin_of(ok.url)
        stack.send(Request("GET", ok.url, timeout=10))  # warm keep-alive connection: quiet
        assert not state.verbose and state.debug == []
    finally:
        stack.close()
    with pytest.raises(ValueError, match="capture_debug"):
        CurlStack(ca_bundle=ok.ca_file, capture_debug="sometimes")


def test_the_handle_states_each_request_fully_when_methods_and_headers_change(tls_lab: Lab) -> None:
    ok = tls_lab["ok"]
    stack = CurlStack(ca_bundle=ok.ca_file, trust_os_store=False)
    try:
        assert stack.send(Request("HEAD", ok.url, timeout=10)).body == b""
        get = stack.send(Request("GET", ok.url, {"X-Test": "1"}, timeout=10))
        assert get.status == 200 and get.body
        assert stack.send(Request("GET", ok.url, timeout=10)).body == get.body
        assert stack.send(Request("HEAD", ok.url, timeout=10)).body == b""
    finally:
        stack.close()

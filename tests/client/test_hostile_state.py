"""The client on a machine we do not control: a hostile state directory, a stack that cannot load,
a stalled server, a hostile error text. A request that worked must never fail because of any of it.

Real stacks against real lab servers on 127.0.0.1; subprocesses are bounded by a timeout and
reaped; the two-process test really runs two Python processes on one state directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tlsdoctor.client.broken import MAX_BACKOFF, MAX_FAILURES, BrokenOrigins, parse_marks
from tlsdoctor.client.client import Client
from tlsdoctor.client.curl_stack import CurlStack
from tlsdoctor.client.native_stack import NativeStack
from tlsdoctor.client.origin import origin_of
from tlsdoctor.client.report import JsonLinesSink, Reporter, read_reports
from tlsdoctor.lab import Lab, LabScenario

WAIT = 60.0  # the bound for any subprocess; never reached when things work
NOW = 1_800_000_000.0
KEY = "curl https://a.test:443"

# Valid JSON (and some invalid) of every shape the file could hold after a crash, a bug in an older
# version, a user's edit or a hostile program.
HOSTILE_FILES = {
    "a list": "[]",
    "a string": '"marks"',
    "null": "null",
    "marks a list": '{"marks": []}',
    "a mark a number": '{"marks": {"curl https://a.test:443": 5}}',
    "failures a string": '{"marks": {"curl https://a.test:443": {"failures": "many", "until": 1}}}',
    "failures huge": '{"marks": {"curl https://a.test:443": {"failures": 1000000, "until": 1900000000}}}',
    "failures 1e308": '{"marks": {"curl https://a.test:443": {"failures": 1e308, "until": 1900000000}}}',
    "until Infinity": '{"marks": {"curl https://a.test:443": {"failures": 1, "until": Infinity}}}',
    "until NaN": '{"marks": {"curl https://a.test:443": {"failures": 1, "until": NaN}}}',
    "until huge": '{"marks": {"curl https://a.test:443": {"failures": 1, "until": 1e300}}}',
    "booleans": '{"marks": {"curl https://a.test:443": {"failures": true, "until": false}}}',
    "deep nesting": "[" * 100_000 + "]" * 100_000,
    "binary": "\x00\xff\xfe garbage",
    "not json": "{not json",
}


@pytest.mark.parametrize("content", HOSTILE_FILES.values(), ids=HOSTILE_FILES.keys())
def test_any_state_file_loads_and_marks_stay_bounded(tmp_path: Path, content: str) -> None:
    path = tmp_path / "broken-origins.json"
    path.write_text(content, encoding="utf-8", errors="surrogateescape")
    clock = [NOW]
    marks = BrokenOrigins(path, clock=lambda: clock[0])
    loaded = marks.get("https://a.test:443", "curl")
    if loaded is not None:
        assert 1 <= loaded.failures <= MAX_FAILURES and loaded.until <= NOW + MAX_BACKOFF
    mark = marks.mark("https://a.test:443", "curl")  # never OverflowError, never a permanent mark
    assert mark.until <= NOW + MAX_BACKOFF
    clock[0] = NOW + MAX_BACKOFF + 1
    assert not marks.is_broken("https://a.test:443", "curl")
    saved = json.loads(path.read_text())  # what we write back is strict JSON (no Infinity, no NaN)
    assert saved["schema"] == "tlsdoctor.broken-origins/1" and KEY in saved["marks"]


def test_parse_marks_clamps_what_it_keeps() -> None:
    marks = parse_marks(json.dumps({"marks": {KEY: {"failures": 10**9, "until": 10**12}, "": {}, "x" * 700: {}}}), NOW)
    assert list(marks) == [KEY]
    assert marks[KEY].failures == MAX_FAILURES and marks[KEY].until == NOW + MAX_BACKOFF


@pytest.mark.parametrize("layout", ["parent is a file", "state file is a directory", "read-only directory"])
def test_an_unusable_state_directory_keeps_marks_in_memory_and_never_raises(tmp_path: Path, layout: str) -> None:
    if layout == "parent is a file":
        (tmp_path / "state").write_text("a file where a directory should be")
        path = tmp_path / "state" / "broken-origins.json"
    elif layout == "state file is a directory":
        path = tmp_path / "broken-origins.json"
        path.mkdir()
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes to read-only directories")
        path = tmp_path / "ro" / "broken-origins.json"
        path.parent.mkdir()
        path.parent.chmod(0o500)
    marks = BrokenOrigins(path)
    assert marks.mark("https://a.test:443", "curl").failures == 1
    assert marks.mark("https://a.test:443", "curl").failures == 2  # once per mark, even when the disk fails
    assert marks.is_broken("https://a.test:443", "curl")
    assert marks.write_errors == 2
    marks.clear("https://a.test:443", "curl")
    assert not marks.is_broken("https://a.test:443", "curl")


_HAMMER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from tlsdoctor.client.broken import BrokenOrigins

    marks = BrokenOrigins(Path(sys.argv[1]))
    for n in range(int(sys.argv[3])):
        marks.mark(f"https://{sys.argv[2]}-{n}.test:443", "curl")
        if n % 10 == 0:  # clears of origins never marked: must not remove the other writer's marks
            marks.clear(f"https://never-{n}.test:443", "curl")
""")


def test_two_processes_hammering_one_state_directory_keep_every_mark(tmp_path: Path) -> None:
    path = tmp_path / "broken-origins.json"
    writers = [subprocess.Popen([sys.executable, "-c", _HAMMER, str(path), name, "200"])
               for name in ("first", "second")]
    try:
        for writer in writers:
            assert writer.wait(WAIT) == 0
    finally:
        for writer in writers:
            writer.kill()
            writer.wait()
    marks = parse_marks(path.read_text(), time.time())
    assert len(marks) == 400
    assert {k.split("-")[0] for k in marks} == {"curl https://first", "curl https://second"}


# -- requests that worked never fail on state or reporting -----------------------------------------


class ExplodingReporter:
    def report(self, event: Any) -> bool:
        raise RuntimeError("the reporter is broken")


def _clients(entry: LabScenario, **options: Any) -> Client:
    stacks = {"curl": CurlStack(ca_bundle=entry.ca_file, trust_os_store=False),
              "native": NativeStack(ca_bundle=entry.ca_file)}
    return Client(stack="curl", stacks=stacks, validate_every=0, **options)


@pytest.mark.parametrize("content", ['{"marks": {"x": {"failures": 1000000, "until": Infinity}}}', "[]"])
def test_a_fallback_that_worked_survives_a_hostile_state_dir_and_reporter(tls_lab: Lab, tmp_path: Path,
                                                                         content: str) -> None:
    entry = tls_lab["h2-broken"]  # curl (h2) fails, native (HTTP/1.1) works: a mark is written
    (tmp_path / "state").write_text("not a directory")
    with _clients(entry, state_dir=tmp_path / "state", reporter=ExplodingReporter(), sample_rate=1.0) as client:
        assert client.get(entry.url).status == 200
        assert client.broken.is_broken(origin_of(entry.url), "curl")  # remembered in memory
        assert client.get(entry.url).stack == "native"
    state = tmp_path / "state2"
    state.mkdir()
    (state / "broken-origins.json").write_text(content)
    with _clients(entry, state_dir=state, reporter=ExplodingReporter()) as client:
        assert client.get(entry.url).status == 200


# -- a stack that cannot load ------------------------------------------------------------------------

_WITHOUT_PYCURL = textwrap.dedent("""
    import json, sys
    sys.modules["pycurl"] = None  # what a machine without libcurl looks like to Python: ImportError
    from tlsdoctor.client import Client, JsonLinesSink, Reporter
    assert "pycurl" not in sys.modules or sys.modules["pycurl"] is None
    url, ca_file, reports = sys.argv[1:4]
    with Reporter([JsonLinesSink(reports)]) as reporter:
        with Client(stack="curl", ca_bundle=ca_file, reporter=reporter, validate_every=1) as client:
            response = client.get(url)
            print(json.dumps({"stack": response.stack, "status": response.status,
                              "unavailable": client.unavailable}))
""")


def test_a_stack_that_cannot_load_leaves_the_client_working_on_the_other(tls_lab: Lab, tmp_path: Path) -> None:
    entry = tls_lab["ok"]
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    done = subprocess.run([sys.executable, "-c", _WITHOUT_PYCURL, entry.url, str(entry.ca_file), str(tmp_path)],
                          capture_output=True, text=True, timeout=WAIT, env=env, check=False)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert (outcome["stack"], outcome["status"]) == ("native", 200)
    assert "pycurl" in outcome["unavailable"]["curl"]
    (report,) = [r for r in read_reports(tmp_path) if r["outcome"].get("stack_unavailable")]
    assert report["stack"] == "curl" and report["kind"] == "failure"
    assert report["outcome"]["message"].startswith("stack unavailable: ModuleNotFoundError: import of pycurl")


def test_importing_the_client_never_imports_pycurl() -> None:
    code = "import sys; import tlsdoctor.client; print('pycurl' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=WAIT, check=True)
    assert done.stdout.strip() == "False"


# -- a stalled server ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["curl", "native"])
def test_a_stalled_handshake_ends_as_a_timeout_within_the_request_timeout(tls_lab: Lab, stack: str) -> None:
    entry = tls_lab["stall-handshake"]
    # The first stack stalls for its whole connect timeout (2 s); the fallback gets what the
    # request's 3 s leave (1 s), not a connect timeout of its own (which would end at 4 s).
    # Seconds, not fractions: a loaded CI machine adds a few hundred ms to any stall.
    stacks = {"curl": CurlStack(ca_bundle=entry.ca_file, trust_os_store=False, connect_timeout=2.0),
              "native": NativeStack(ca_bundle=entry.ca_file, connect_timeout=2.0)}
    with Client(stack=stack, stacks=stacks, validate_every=0, timeout=3.0) as client:
        started = time.monotonic()
        with pytest.raises(Exception) as raised:
            client.get(entry.url)
        elapsed = time.monotonic() - started
    assert raised.value.code == "tls.handshake_timeout"  # type: ignore[attr-defined]
    assert elapsed < 3.0 + 0.9  # the fallback gets what the first attempt left, not a second timeout


def test_get_on_a_stalled_server_ends_as_a_timeout_within_its_timeout(tls_lab: Lab) -> None:
    entry = tls_lab["stall-handshake"]
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "tlsdoctor", "get", "--ca-bundle", str(entry.ca_file),
                           "--timeout", "2", entry.url], capture_output=True, text=True, timeout=WAIT, env=env,
                          check=False)
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert "tls.handshake_timeout" in done.stderr and "abrupt_close" not in done.stderr
    assert elapsed < 2 + 3  # the timeout, plus the interpreter's start-up


# -- a hostile error text --------------------------------------------------------------------------

# 16 KB error texts made of what used to cost seconds: quadratic key=value and URL-userinfo
# patterns, nested ".*" rows of the classification table, escape sequences.
HOSTILE_TEXTS = {
    unit.strip() or "spaces": (unit * (16_384 // len(unit) + 1))[:16_384]
    for unit in ("password=", "a.", "https://u:p@", "407 ", "x509v3 ", "Failed to connect to  port 1 ", "curl ",
                 "\x1b[31m", "Bearer ", "token :  ")
}


def _request_thread_cost(text: str) -> float:
    """CPU seconds the request thread spends turning ``text`` into an exception and a report."""
    from tlsdoctor.client.errors import transport_error
    from tlsdoctor.client.report import PendingReport

    started = time.thread_time()
    error = transport_error(text, stack="native")
    PendingReport(kind="failure", stack="native", cohort=None, method="GET", url="https://h.test/", http_version=None,
                  outcome={"ok": False, "code": error.code, "message": error.message}, fallback=None,
                  environment={}, timings_ms={}, install="i", app_version="1")
    return time.thread_time() - started


@pytest.mark.parametrize("text", HOSTILE_TEXTS.values(), ids=HOSTILE_TEXTS.keys())
def test_a_16_kb_hostile_error_text_costs_the_request_thread_under_50_ms(text: str) -> None:
    assert min(_request_thread_cost(text) for _ in range(3)) < 0.050


class HostileStatusLine:
    """A plain-HTTP server on 127.0.0.1 that answers every request with a 16 KB status line."""

    def __init__(self, junk: bytes) -> None:
        import socket
        import threading

        self.junk = junk
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        deadline = time.monotonic() + WAIT
        while not self.stopping.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2.0)
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 " + self.junk + b"\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.listener.close()


def test_a_server_with_a_16_kb_status_line_costs_the_client_no_more_than_a_short_one(tmp_path: Path) -> None:
    secret = "S3CRET-IN-STATUS"
    hostile = ("password=" + secret + " " + "a." * 8_000 + " https://u:" + secret + "@h/")[:16_384].encode()
    servers = {"short": HostileStatusLine(b"\x01broken"), "hostile": HostileStatusLine(hostile)}
    costs: dict[str, float] = {}
    try:
        with Reporter([JsonLinesSink(tmp_path)]) as reporter, \
                Client(stack="native", stacks={"native": NativeStack()}, reporter=reporter, validate_every=0,
                       timeout=5) as client:
            for name, server in servers.items():
                best = float("inf")
                for _ in range(3):
                    started = time.thread_time()
                    with pytest.raises(Exception):
                        client.get(f"http://127.0.0.1:{server.port}/")
                    best = min(best, time.thread_time() - started)
                costs[name] = best
            assert reporter.flush(WAIT)
    finally:
        for server in servers.values():
            server.close()
    assert costs["hostile"] - costs["short"] < 0.050, costs
    reports = read_reports(tmp_path)
    assert len(reports) == 6 and secret not in json.dumps(reports)


def test_a_long_error_cut_inside_a_url_keeps_no_part_of_its_password() -> None:
    # A status line of 'a.'s ending in a URL with credentials: cut where the exception's limit
    # falls (before the URL's '@'), a plain slice left "https://bob:s3cr" that no redaction sees.
    from tlsdoctor.client.errors import MESSAGE_CHARS, transport_error
    from tlsdoctor.client.report import PendingReport

    text = "a." * (MESSAGE_CHARS // 2 - 8) + "https://bob:s3cr/et@Secret@h.test/x"
    error = transport_error(text, stack="native")
    assert "s3cr" not in error.message and "Secret" not in error.message
    report = PendingReport(kind="failure", stack="native", cohort=None, method="GET", url="https://h.test/",
                           http_version=None, outcome={"ok": False, "code": error.code, "message": text * 9},
                           fallback=None, environment={}, timings_ms={}, install="i", app_version="1").build()
    assert "s3cr" not in str(report) and "Secret" not in str(report)

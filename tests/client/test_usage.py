"""Usage counters (``tlsdoctor.usage/1``) and the HTTP sink, against real servers on loopback.

The client is driven against the lab (real libcurl, real httpx) so the counts come from real
fallbacks; the collector is a real ``http.server`` on 127.0.0.1 that fails, then recovers.
"""

from __future__ import annotations

import http.server
import json
import random
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tlsdoctor.client.client import Client
from tlsdoctor.client.curl_stack import CurlStack
from tlsdoctor.client.native_stack import NativeStack
from tlsdoctor.client.report import JsonLinesSink, Reporter, build_report, read_reports
from tlsdoctor.client.sink import HttpSink
from tlsdoctor.client.usage import USAGE_SCHEMA, UsageWriter, build_usage
from tlsdoctor.lab import Lab

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec" / "diagnosis-json.md"
WAIT = 10.0


def usage_lines(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (directory / "usage.jsonl").read_text().splitlines()]


def spec_usage_example() -> dict[str, Any]:
    text = SPEC.read_text()
    section = text[text.index("## Usage counters"):]
    return json.loads(re.search(r"```json\n(.*?)```", section, re.S)[1])


def shape(value: Any) -> Any:
    """The key structure of a document (values' types only, dynamic maps reduced)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    return type(value).__name__


def test_a_usage_document_has_exactly_the_spec_shape() -> None:
    example = spec_usage_example()
    doc = build_usage(
        install=example["install"], app_version=example["app_version"], seq=example["seq"],
        start=datetime(2026, 11, 22, 10, tzinfo=UTC), end=datetime(2026, 11, 22, 11, tzinfo=UTC),
        cohort=example["cohort"], environment=example["environment"], stacks=example["stacks"],
        fallbacks=example["fallbacks"], validations=example["validations"], reports=example["reports"],
    )
    assert doc == example
    assert shape(doc) == shape(example)


def test_the_client_counts_first_attempts_failures_and_rescues(tls_lab: Lab, tmp_path: Path) -> None:
    ok, h2 = tls_lab["ok"], tls_lab["h2-broken"]
    refused = tls_lab["tcp-refused"]
    reports_dir = tmp_path / "reports"
    reporter = Reporter([JsonLinesSink(reports_dir)])
    usage = UsageWriter(reports_dir, period=3600)
    stacks = {"curl": CurlStack(ca_bundle=h2.ca_file, trust_os_store=False),
              "native": NativeStack(ca_bundle=h2.ca_file)}
    with Client(stack="curl", stacks=stacks, state_dir=tmp_path / "state", reporter=reporter, usage=usage,
                validate_every=0, app_version="7.2.5") as client:
        for _ in range(3):
            client.get(ok.url)
        client.get(h2.url)  # curl fails on HTTP/2, native rescues it, curl is marked broken there
        client.get(h2.url)  # straight to native: a first attempt on native
        with pytest.raises(Exception):
            client.get(refused.url)  # both stacks fail
        reporter.flush(WAIT)
    reporter.close()
    [doc] = usage_lines(reports_dir)
    assert doc["schema"] == USAGE_SCHEMA and doc["seq"] == 0
    assert doc["install"] == client.report_install_id and doc["app_version"] == "7.2.5"
    curl, native = doc["stacks"]["curl"], doc["stacks"]["native"]
    assert curl["requests"] == 5 and curl["ok"] == 3 and curl["rescued_by_fallback"] == 1
    assert curl["failures"]["http2.negotiation_failed"] == 1 and sum(curl["failures"].values()) == 2
    assert native == {"requests": 1, "ok": 1, "failures": {}, "rescued_by_fallback": 0}
    assert doc["fallbacks"] == {"taken": 2, "succeeded": 1}
    assert doc["reports"] == {"written": len(read_reports(reports_dir)), "dropped": 0}
    assert doc["environment"]["libcurl"] and set(doc["environment"]) == {"proxy_configured", "os",
                                                                        "tls_library", "libcurl"}


def test_seq_survives_a_restart_and_idle_periods_are_written(tmp_path: Path) -> None:
    now = [1_800_000_000.0]
    for _ in range(2):
        writer = UsageWriter(tmp_path, period=None, clock=lambda: now[0], install="abc")
        now[0] += 3600
        writer.write_now()
        now[0] += 60
        writer.close()
    docs = usage_lines(tmp_path)
    assert [d["seq"] for d in docs] == [0, 1, 2, 3]
    assert all(d["stacks"] == {} for d in docs)  # no requests: still written
    assert docs[0]["period"] == {"start": "2027-01-15T08:00:00Z", "end": "2027-01-15T09:00:00Z"}


def test_the_timer_writes_once_per_period(tmp_path: Path) -> None:
    writer = UsageWriter(tmp_path, period=0.2, install="abc")
    deadline = time.monotonic() + WAIT
    while not (tmp_path / "usage.jsonl").exists() or len(usage_lines(tmp_path)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    writer.close()
    assert [d["seq"] for d in usage_lines(tmp_path)][:3] == list(range(min(3, len(usage_lines(tmp_path)))))


# -- the HTTP sink against a collector that fails, then recovers ------------------------------------


class Collector:
    """A real HTTP collector on 127.0.0.1: 503 while ``failing`` is set, else 200; records bodies."""

    def __init__(self) -> None:
        self.failing = threading.Event()
        self.lines: list[dict[str, Any]] = []
        self.attempts: list[tuple[float, int]] = []  # (monotonic time, status answered)
        self.content_types: set[str] = set()
        self.lock = threading.Lock()
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 5

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 400 if self.path == "/reject" else 503 if collector.failing.is_set() else 200
                with collector.lock:
                    collector.attempts.append((time.monotonic(), status))
                    collector.content_types.add(self.headers["Content-Type"])
                    if status == 200:
                        collector.lines.extend(json.loads(line) for line in body.splitlines())
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None: ...

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ingest"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "Collector":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(WAIT)


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        yield running


def a_report(n: int) -> dict[str, Any]:
    return build_report(
        kind="failure", stack="curl", cohort=None, method="GET", url=f"https://host{n}.test/",
        http_version="2", outcome={"ok": False, "code": "tls.abrupt_close", "curl_code": 35},
        fallback=None, environment={}, timings_ms={}, install="abc", app_version="1",
    )


def test_the_sink_survives_an_outage_counts_its_drops_and_backs_off(collector: Collector) -> None:
    bound = 50
    sink = HttpSink(collector.url, max_queue=bound, batch_size=10, flush_interval=0.02,
                    backoff_base=0.05, backoff_cap=0.4, rng=random.Random(7))
    usage = UsageWriter(None, period=None, sinks=[sink], install="abc")
    try:
        collector.failing.set()
        offered = 200
        started = time.monotonic()
        for n in range(offered):
            sink.write(a_report(n))  # never blocks: the outage is the worker's problem
        assert time.monotonic() - started < 2.0
        deadline = time.monotonic() + WAIT
        while sum(1 for _, status in collector.attempts if status == 503) < 5:
            assert time.monotonic() < deadline, "the sink stopped retrying"
            time.sleep(0.02)
        collector.failing.clear()
        usage.write_now()  # the usage document carries the drops, and is itself queued
        assert sink.flush(WAIT)
    finally:
        sink.close(WAIT)
    reports = [line for line in collector.lines if line["schema"] == "tlsdoctor.report/1"]
    [doc] = [line for line in collector.lines if line["schema"] == USAGE_SCHEMA]
    dropped = offered - bound
    # Nothing lost beyond the bound: exactly the first `bound` reports arrived, in order, once each.
    assert [r["request"]["origin"] for r in reports] == [f"https://host{n}.test:443" for n in range(bound)]
    assert doc["reports"]["dropped"] == dropped == sink.dropped_total["reports"]
    assert collector.content_types == {"application/x-ndjson"}
    # Backoff observed: every retry waited at least the jittered delay the sink chose, each delay
    # within its doubling ceiling, and the outage did not turn into a busy loop.
    failed = [t for t, status in collector.attempts if status == 503]
    gaps = [b - a for a, b in zip(failed, failed[1:])]
    delays = list(sink.backoffs)[: len(gaps)]
    assert all(gap >= delay - 0.01 for gap, delay in zip(gaps, delays))
    assert all(0 <= delay <= min(0.4, 0.05 * 2 ** k) for k, delay in enumerate(delays))
    outage = failed[-1] - failed[0]
    assert len(failed) <= 2 + outage / 0.01  # a busy loop would make thousands


def test_a_refused_batch_is_dropped_and_counted_not_retried_forever(collector: Collector) -> None:
    sink = HttpSink(collector.url.replace("/ingest", "/reject"), batch_size=5, flush_interval=0.01,
                    backoff_base=0.01)
    try:
        for n in range(12):
            sink.write(a_report(n))
        assert sink.flush(WAIT)
    finally:
        sink.close(WAIT)
    assert sink.take_dropped() == {"reports": 12, "usage": 0}
    assert sink.attempts == 3 and not sink.backoffs  # one POST per batch, no retries
    with pytest.raises(ValueError):
        HttpSink("ftp://127.0.0.1/")


def test_a_client_with_an_unreachable_collector_still_answers(tls_lab: Lab, tmp_path: Path) -> None:
    ok = tls_lab["ok"]
    sink = HttpSink("http://127.0.0.1:9/", max_queue=5, flush_interval=0.01, backoff_base=0.01, timeout=1)
    reporter = Reporter([sink])
    usage = UsageWriter(tmp_path, period=3600)  # finds the reporter's HTTP sink to count its drops
    stacks = {"curl": CurlStack(ca_bundle=ok.ca_file, trust_os_store=False), "native": NativeStack(ca_bundle=ok.ca_file)}
    try:
        with Client(stack="curl", stacks=stacks, reporter=reporter, usage=usage, sample_rate=1.0,
                    validate_every=0) as client:
            for _ in range(10):
                assert client.get(ok.url).status == 200
            reporter.flush(1.0)  # delivered to the sink at once; the sink itself cannot flush
    finally:
        reporter.close(1.0)
        sink.close(0.5)
    [doc] = usage_lines(tmp_path)
    assert doc["stacks"]["curl"]["requests"] == 10
    assert doc["reports"]["written"] == 10 and doc["reports"]["dropped"] == 10 - 5

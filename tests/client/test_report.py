"""Failure reports: the ``tlsdoctor.report/1`` shape, what never gets into one, and how reports
reach disk and Sentry without ever holding up a request.

Everything here talks to 127.0.0.1 only; every socket has a timeout, every wait a deadline, and
every subprocess is killed and reaped in a ``finally``.
"""

from __future__ import annotations

import gzip
import http.server
import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tlsdoctor.client.report import (
    COHORT_KEYS,
    ENVIRONMENT_KEYS,
    FALLBACK_KEYS,
    OUTCOME_KEYS,
    REPORT_SCHEMA,
    TIMING_KEYS,
    JsonLinesSink,
    PendingReport,
    Reporter,
    SentrySink,
    build_report,
    origin_of,
    read_reports,
    scrub,
    should_sample,
)

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec" / "diagnosis-json.md"
WAIT = 10.0  # the deadline for anything a test waits on; never reached when things work


def a_failure_report(**overrides: Any) -> dict[str, Any]:
    """The spec's example, as the client would build it for a curl 35 behind a proxy."""
    fields: dict[str, Any] = dict(  # noqa: C408 - keyword arguments, as build_report takes them
        kind="failure",
        stack="curl",
        cohort={"feature": "http-stack", "value": "curl", "rule": "rollout-5pct"},
        method="GET",
        url="https://example.test/",
        http_version="2",
        outcome={"ok": False, "code": "tls.abrupt_close", "curl_code": 35, "nel_type": "tls.protocol.error",
                 "message": "TLS connect error: error:0A000126:SSL routines::unexpected eof while reading"},
        fallback={"stack": "native", "ok": True},
        environment={"proxy_configured": True, "proxy_source": "env", "os": "Linux-6.1",
                     "tls_library": "OpenSSL 3.6.5", "libcurl": "8.23.0", "clock_offset_s": None},
        timings_ms={"dns": 1, "connect": 2, "tls": 9, "total": 15},
        install="9f2c0d1e",
        app_version="7.2.5",
        ts=datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC),
    )
    fields.update(overrides)
    return build_report(**fields)


# -- the event ---------------------------------------------------------------------------------


def _spec_example() -> dict[str, Any]:
    section = SPEC.read_text(encoding="utf-8").split("tlsdoctor.report/1", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert block, "the spec's report section has no JSON example"
    return json.loads(block[1])


def _shape(value: Any) -> Any:
    """Keys all the way down: what a consumer of the contract relies on."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return None


def test_a_report_has_exactly_the_keys_of_the_spec_example() -> None:
    example = _spec_example()
    report = a_failure_report()

    assert _shape(report) == _shape(example)
    assert report["schema"] == REPORT_SCHEMA == example["schema"]
    # Same facts in, same event out: the example is what build_report writes for it.
    assert {key: report[key] for key in ("ts", "stack", "cohort", "fallback", "timings_ms", "kind")} == {
        key: example[key] for key in ("ts", "stack", "cohort", "fallback", "timings_ms", "kind")
    }
    assert report["request"] == {"method": "GET", "origin": "https://example.test:443", "http_version": "2"}
    assert report["environment"] == example["environment"]


def test_the_published_key_lists_are_the_keys_written() -> None:
    report = a_failure_report()
    assert (tuple(report["cohort"]), tuple(report["outcome"]), tuple(report["fallback"])) == (
        COHORT_KEYS, OUTCOME_KEYS, FALLBACK_KEYS)
    assert (tuple(report["environment"]), tuple(report["timings_ms"])) == (ENVIRONMENT_KEYS, TIMING_KEYS)


def test_a_failed_fallback_and_a_validation_carry_the_other_stacks_code() -> None:
    report = a_failure_report(kind="validation", fallback={"stack": "native", "ok": False, "code": "cert.expired",
                                                           "curl_code": None, "nel_type": "tls.cert.date_invalid"})
    assert report["fallback"] == {"stack": "native", "ok": False, "code": "cert.expired",
                                  "nel_type": "tls.cert.date_invalid"}


def test_missing_facts_are_null_and_unknown_keys_are_dropped() -> None:
    report = a_failure_report(
        environment={"proxy_configured": False, "home_directory": "/home/alice"},
        timings_ms={"total": 12.6, "tls": float("nan")},
        outcome={"ok": True, "code": "ok", "response_body": "secret body"},
        fallback=None,
        cohort=None,
        kind="sample",
    )
    assert report["environment"] == {"proxy_configured": False, "proxy_source": None, "os": None,
                                     "tls_library": None, "libcurl": None, "clock_offset_s": None}
    assert report["timings_ms"] == {"dns": None, "connect": None, "tls": None, "total": 13}
    assert report["outcome"] == {"ok": True, "code": "ok", "curl_code": None, "nel_type": None, "message": None}
    assert report["fallback"] is None and report["cohort"] is None
    assert "alice" not in json.dumps(report) and "secret body" not in json.dumps(report)


def test_a_naive_timestamp_is_taken_as_utc_and_written_with_a_z() -> None:
    assert a_failure_report(ts=datetime(2026, 1, 2, 3, 4, 5))["ts"] == "2026-01-02T03:04:05Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", a_failure_report(ts=None)["ts"])


@pytest.mark.parametrize("kind", ["failure", "fallback", "validation", "sample"])
def test_each_kind_of_the_spec_is_accepted(kind: str) -> None:
    assert a_failure_report(kind=kind)["kind"] == kind


def test_an_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="failure, fallback, validation, sample"):
        a_failure_report(kind="success")


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://alice:hunter2@example.test/account/42?token=abc#frag", "https://example.test:443"),
        ("http://example.test/", "http://example.test:80"),
        ("HTTPS://Example.TEST:8443/p;params?q", "https://example.test:8443"),
        ("https://[2001:db8::1]:8443/x", "https://[2001:db8::1]:8443"),
        ("https://example.test:99999/", "https://example.test"),  # no port rather than a wrong one
        ("http://[::1/", ""),  # unparseable: nothing is safe to keep
    ],
)
def test_the_request_is_reduced_to_its_origin(url: str, origin: str) -> None:
    assert origin_of(url) == origin
    assert a_failure_report(url=url)["request"]["origin"] == origin


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("curl: (60) SSL certificate problem for https://alice:hunter2pw@example.test/p", "hunter2pw"),
        ("GET https://example.test/reset?token=tok3nvalue&x=1 failed", "tok3nvalue"),
        ("CONNECT refused; sent Proxy-Authorization: Basic YWxpY2U6aHVudGVy", "YWxpY2U6aHVudGVy"),
        ("> Authorization: Bearer abc", "abc"),  # however short
        ("request had Cookie: session=s3ss10n; theme=dark", "s3ss10n"),
        ("request had Cookie: session=s3ss10n; theme=dark", "dark"),
        ("< Set-Cookie: id=c00k1e; Path=/; HttpOnly", "c00k1e"),
        ('login failed: {"password": "pa ss w0rd"}', "pa ss w0rd"),
        ("retry with api_key=k3yk3y", "k3yk3y"),
        ("https://example.test/private/path/of/alice", "alice"),  # paths go too
    ],
)
def test_scrub_removes_credentials_cookies_queries_and_paths(message: str, secret: str) -> None:
    scrubbed = scrub(message)
    assert secret not in scrubbed
    assert "[redacted]" in scrubbed


def test_scrub_keeps_what_explains_the_failure() -> None:
    message = "curl: (35) OpenSSL/3.0.13: error:0A000410:SSL routines::sslv3 alert handshake failure"
    assert scrub(message) == message
    assert scrub("Failed to connect to https://example.test:8443/ port 8443") == (
        "Failed to connect to https://example.test:8443/[redacted] port 8443"
    )


def test_scrub_caps_the_length() -> None:
    assert len(scrub("x" * 10_000)) == 500
    assert len(scrub("y " * 100_000, max_chars=50)) == 50


# Secrets as they appear in the field: URL-safe characters, base64, percent-escapes.
SECRETS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/=%", min_size=8,
                  max_size=40)
PLACES = [
    "https://alice:{s}@example.test/",
    "https://{s}@example.test:8443/x",
    "https://example.test/cb?code={s}&state=1",
    "https://example.test/#access_token={s}",
    "Authorization: Bearer {s}",
    "* Proxy-Authorization: Basic {s}",
    "sent header Authorization: Token {s} to proxy",
    "Cookie: sid={s}; lang=en",
    "Set-Cookie: sid={s}; Secure",
    "password={s}",
    "token: {s}",
    '"refresh_token": "{s}"',
    "curl: (7) Failed to connect to https://u:{s}@example.test/?q={s}",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=SECRETS, place=st.sampled_from(PLACES), prefix=st.sampled_from(["", "curl: (35) ", "x\n"]),
       suffix=st.sampled_from(["", " (retrying)", ".", "\nnext line"]))
def test_no_secret_survives_in_a_report(secret: str, place: str, prefix: str, suffix: str) -> None:
    # A secret that happens to be spelled inside the scaffolding (``example.test``) proves nothing.
    assume(secret not in json.dumps(a_failure_report()) + place + prefix + suffix + "[redacted]")
    text = prefix + place.format(s=secret) + suffix
    report = a_failure_report(
        url=f"https://alice:{secret}@example.test:8443/path/{secret}?sig={secret}#{secret}",
        outcome={"ok": False, "code": "tls.abrupt_close", "curl_code": 35, "message": text},
        environment={"os": text, "tls_library": text},
        cohort={"feature": "http-stack", "value": "curl", "rule": text},
    )
    assert secret not in json.dumps(report)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=700) | st.builds(lambda s, p: p.format(s=s), SECRETS, st.sampled_from(PLACES)))
def test_scrub_is_idempotent_so_sentry_can_scrub_again(text: str) -> None:
    once = scrub(text)
    assert scrub(once) == once
    assert len(once) <= 500


def test_should_sample_never_always_and_in_proportion() -> None:
    rng = random.Random(4)
    assert not any(should_sample(0.0, rng) for _ in range(1000))
    assert not should_sample(float("nan"), rng)
    assert all(should_sample(1.0, rng) for _ in range(1000))
    assert 2300 < sum(should_sample(0.25, rng) for _ in range(10_000)) < 2700


# -- JSON Lines ----------------------------------------------------------------------------------


def _raw_lines(directory: Path) -> list[bytes]:
    """Every newline-terminated line of every report file, as bytes."""
    lines: list[bytes] = []
    for path in sorted(directory.glob("reports.jsonl*")):
        data = path.read_bytes()
        assert not data or data.endswith(b"\n"), f"{path.name} ends in a torn line"
        lines.extend(data.split(b"\n")[:-1])
    return lines


def test_a_report_round_trips_through_json_lines(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path)
    report = a_failure_report()
    sink.write(report)
    sink.write(a_failure_report(kind="sample"))
    sink.close()
    assert read_reports(tmp_path) == [report, a_failure_report(kind="sample")]
    assert (tmp_path / "reports.jsonl").stat().st_mode & 0o777 == 0o600


def test_rotation_keeps_the_newest_reports_and_bounds_the_total(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path, max_bytes=4096, backups=3)
    for i in range(2000):
        sink.write({"i": i, "pad": "p" * 100})
    sink.close()

    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["reports.jsonl", "reports.jsonl.1", "reports.jsonl.2", "reports.jsonl.3"]
    assert all((tmp_path / name).stat().st_size <= 4096 for name in files)
    assert sum((tmp_path / name).stat().st_size for name in files) <= 4 * 4096
    kept = [event["i"] for event in read_reports(tmp_path)]
    assert kept == list(range(kept[0], 2000)), "oldest first, newest last, nothing missing in between"
    assert len(kept) > 3 * 4096 // 120


def test_no_backups_means_one_bounded_file(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path, max_bytes=2048, backups=0)
    for i in range(500):
        sink.write({"i": i})
    sink.close()
    assert [p.name for p in tmp_path.iterdir()] == ["reports.jsonl"]
    assert (tmp_path / "reports.jsonl").stat().st_size <= 2048
    assert read_reports(tmp_path)[-1] == {"i": 499}


def test_an_oversized_or_unserialisable_event_is_refused_and_the_file_stays_clean(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path, max_bytes=2048)
    with pytest.raises(ValueError):
        sink.write({"pad": "x" * 4096})
    with pytest.raises(ValueError):
        sink.write({"nan": float("nan")})
    sink.write({"ok": 1})
    sink.close()
    assert read_reports(tmp_path) == [{"ok": 1}]


def test_a_torn_last_line_never_glues_onto_the_next_event(tmp_path: Path) -> None:
    """A crash mid-write, simulated: the file is cut in the middle of its last line."""
    sink = JsonLinesSink(tmp_path)
    for i in range(3):
        sink.write({"i": i, "pad": "x" * 50})
    path = tmp_path / "reports.jsonl"
    os.truncate(path, path.stat().st_size - 20)

    sink.write({"i": 3})  # the same writer, whose file was torn under it
    os.truncate(path, path.stat().st_size - 3)
    sink.close()
    restarted = JsonLinesSink(tmp_path)  # a writer after a restart
    restarted.write({"i": 4})
    restarted.close()

    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"", "the file ends with a complete line"
    unparseable = []
    for line in lines[:-1]:
        try:
            json.loads(line)
        except ValueError:
            unparseable.append(line)
    assert unparseable == [lines[2], lines[3]], "each torn fragment alone on its own line"
    assert lines[2].startswith(b'{"i":2,') and lines[3] == b'{"i":'
    assert read_reports(tmp_path) == [{"i": 0, "pad": "x" * 50}, {"i": 1, "pad": "x" * 50}, {"i": 4}]


def test_a_short_write_is_repaired_by_the_next_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk writes half a line and reports it; the next event starts on a fresh line."""
    sink = JsonLinesSink(tmp_path)
    sink.write({"i": 0})
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, data[: len(data) // 2]))
    with pytest.raises(OSError, match="short write"):
        sink.write({"i": 1, "pad": "x" * 40})
    monkeypatch.setattr(os, "write", real_write)
    sink.write({"i": 2})
    sink.close()
    assert read_reports(tmp_path) == [{"i": 0}, {"i": 2}]


def test_every_event_is_one_write_of_whole_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The design's premise, checked directly: one ``os.write`` per event, of whole lines, also
    when the repair newline goes first and when the file rotates."""
    sink = JsonLinesSink(tmp_path, max_bytes=1024, backups=1)
    writes: list[bytes] = []
    real_write = os.write

    def spy(fd: int, data: bytes) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spy)
    for i in range(30):  # rotates a few times
        sink.write({"i": i, "pad": "x" * 60})
        if i == 10:
            with open(tmp_path / "reports.jsonl", "ab") as torn:
                torn.write(b'{"torn":')
    sink.close()
    assert len(writes) == 30
    assert all(data.endswith(b"\n") and data.count(b"\n") == 1 for data in writes if not data.startswith(b"\n"))
    assert [data for data in writes if data.startswith(b"\n")] == [b'\n{"i":11,"pad":"' + b"x" * 60 + b'"}\n']


def test_a_trailing_line_without_newline_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "reports.jsonl").write_bytes(b'{"i":0}\n{"i":1}')  # even though it parses
    assert read_reports(tmp_path) == [{"i": 0}]


def _killed_writer_event(i: int) -> bytes:
    """The line the writer subprocess below writes for event ``i``."""
    return (json.dumps({"i": i, "pad": "x" * (i % 50 * 4000)}, separators=(",", ":")) + "\n").encode()


def _is_a_fragment_of_one_event(line: bytes) -> bool:
    """A strict prefix of one event's line: torn, but not glued to anything else."""
    number = re.match(rb'\{"i":(\d+),', line)
    if number is None:
        return re.fullmatch(rb'\{("(i("(:\d*)?)?)?)?)?', line) is not None
    whole = _killed_writer_event(int(number[1]))
    return whole.startswith(line) and len(line) < len(whole) - 1


def test_a_writer_killed_mid_loop_leaves_only_whole_lines(tmp_path: Path) -> None:
    """SIGKILL a process that writes reports as fast as it can, at a random moment, 20 times.

    Linux may cut even one ``write`` short when SIGKILL arrives between two pages of it, so the
    file may end in a fragment. What must hold: every report that reads back is intact, a
    fragment is never glued to the next event (the next writer starts a fresh line), at most one
    fragment per kill, and the total stays bounded.
    """
    writer = (
        "import sys\n"
        "from tlsdoctor.client.report import JsonLinesSink\n"
        "sink = JsonLinesSink(sys.argv[1], max_bytes=1 << 20, backups=2)\n"
        "for i in range(50_000_000):\n"
        "    sink.write({'i': i, 'pad': 'x' * (i % 50 * 4000)})\n"  # up to 49 pages per line
        "    if i == 20:\n"
        "        print('writing', flush=True)\n"
    )
    rng = random.Random(7)
    kills = 20
    for round_number in range(kills + 1):
        process = subprocess.Popen([sys.executable, "-c", writer, str(tmp_path)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert process.stdout is not None
            ready, _, _ = select.select([process.stdout], [], [], WAIT * 3)
            assert ready and process.stdout.readline() == b"writing\n", "the writer did not start"
            if round_number == kills:  # the last writer exits cleanly, after a restart's repair
                process.terminate()
                process.wait(timeout=WAIT)
                break
            time.sleep(rng.uniform(0.0, 0.05))  # somewhere in the middle of a write, or between two
            os.kill(process.pid, signal.SIGKILL)
            assert process.wait(timeout=WAIT) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=WAIT)
            for pipe in (process.stdout, process.stderr):
                if pipe:
                    pipe.close()

        torn = 0
        for path in tmp_path.glob("reports.jsonl*"):
            *lines, last = path.read_bytes().split(b"\n")
            if last:  # the segment after the last newline: only the current file may have one
                assert path.name == "reports.jsonl" and _is_a_fragment_of_one_event(last), last[:80]
            for line in lines:
                try:
                    event = json.loads(line)
                except ValueError:
                    assert _is_a_fragment_of_one_event(line), f"round {round_number}: glued: {line[:80]!r}"
                    torn += 1
                else:
                    assert _killed_writer_event(event["i"]) == line + b"\n"
        assert torn <= round_number, "more fragments than kills"
        assert all(_killed_writer_event(e["i"]) == json.dumps(e, separators=(",", ":")).encode() + b"\n"
                   for e in read_reports(tmp_path))
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 3 << 20


@pytest.mark.parametrize("sinks", [1, 2], ids=["one writer", "two writers on one directory"])
def test_concurrent_writers_lose_and_tear_nothing(tmp_path: Path, sinks: int) -> None:
    """8 threads × 500 events, rotating as they go: every line parses and every event is there.
    With two sink objects the threads also race on rotation (as two processes would)."""
    writers = [JsonLinesSink(tmp_path, max_bytes=64 * 1024, backups=100) for _ in range(sinks)]
    start = threading.Barrier(8, timeout=WAIT)
    failures: list[BaseException] = []

    def write_many(thread: int) -> None:
        try:
            start.wait()
            for i in range(500):
                writers[thread % sinks].write({"thread": thread, "i": i, "pad": "x" * (i % 97)})
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=write_many, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 3)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    for writer in writers:
        writer.close()

    lines = _raw_lines(tmp_path)
    events = [json.loads(line) for line in lines]
    assert len(events) == 8 * 500
    assert {(e["thread"], e["i"]) for e in events} == {(t, i) for t in range(8) for i in range(500)}
    assert len(list(tmp_path.iterdir())) > 2, "the test exercised rotation"


# -- the reporter --------------------------------------------------------------------------------


class BlockingSink:
    """Holds the worker inside ``write`` until the test releases it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.inside = False
        self.events: list[Mapping[str, Any]] = []

    def write(self, event: Mapping[str, Any]) -> None:
        self.inside = True
        self.entered.set()
        assert self.release.wait(WAIT)
        self.inside = False
        self.events.append(event)

    def flush(self, timeout: float) -> None: ...

    def close(self) -> None: ...


class RecordingSink:
    def __init__(self, fail_on: set[int] | None = None) -> None:
        self.events: list[Mapping[str, Any]] = []
        self.calls = 0
        self.fail_on = fail_on or set()
        self.closed = False

    def write(self, event: Mapping[str, Any]) -> None:
        self.calls += 1
        if self.calls in self.fail_on:
            raise OSError("disk full")
        self.events.append(event)

    def flush(self, timeout: float) -> None: ...

    def close(self) -> None:
        self.closed = True


class FailingSink(RecordingSink):
    def write(self, event: Mapping[str, Any]) -> None:
        raise RuntimeError("sentry is down")


@pytest.fixture
def blocked() -> Iterator[tuple[Reporter, BlockingSink]]:
    sink = BlockingSink()
    reporter = Reporter([sink], max_queue=2)
    try:
        yield reporter, sink
    finally:
        sink.release.set()
        reporter.close(WAIT)


def test_report_returns_while_the_sink_is_still_blocked(blocked: tuple[Reporter, BlockingSink]) -> None:
    reporter, sink = blocked
    assert reporter.report({"n": 1})
    assert sink.entered.wait(WAIT)

    accepted = reporter.report({"n": 2})  # the worker is stuck in the sink; the caller is not

    assert accepted
    assert sink.inside and not sink.release.is_set(), "report() came back while the sink was still blocked"
    sink.release.set()
    assert reporter.flush(WAIT)
    assert [event["n"] for event in sink.events] == [1, 2]


def test_a_full_queue_drops_and_counts_instead_of_waiting(blocked: tuple[Reporter, BlockingSink]) -> None:
    reporter, sink = blocked
    assert reporter.report({"n": 1})
    assert sink.entered.wait(WAIT)  # n=1 is in the sink, the queue (2 places) is empty
    assert reporter.report({"n": 2}) and reporter.report({"n": 3})

    assert not reporter.report({"n": 4})
    assert not reporter.report({"n": 5})

    assert reporter.dropped == 2
    sink.release.set()
    assert reporter.flush(WAIT)
    assert [event["n"] for event in sink.events] == [1, 2, 3]
    assert reporter.delivered == 3


def test_flush_gives_up_at_its_deadline_when_a_sink_hangs(blocked: tuple[Reporter, BlockingSink]) -> None:
    reporter, sink = blocked
    reporter.report({"n": 1})
    assert sink.entered.wait(WAIT)
    assert reporter.flush(0.05) is False


def test_a_failing_sink_is_counted_and_the_others_still_get_every_report() -> None:
    failing, flaky, healthy = FailingSink(), RecordingSink(fail_on={2}), RecordingSink()
    reporter = Reporter([failing, flaky, healthy])
    for n in range(5):
        assert reporter.report({"n": n})
    assert reporter.flush(WAIT)

    assert reporter.errors == 5 + 1
    assert [e["n"] for e in healthy.events] == [0, 1, 2, 3, 4]
    assert [e["n"] for e in flaky.events] == [0, 2, 3, 4], "the worker kept going after the failure"
    assert reporter.close(WAIT)
    assert healthy.closed


def test_after_close_reports_are_refused_not_lost_silently() -> None:
    sink = RecordingSink()
    reporter = Reporter([sink])
    reporter.report({"n": 0})
    assert reporter.close(WAIT)
    assert [e["n"] for e in sink.events] == [0]
    assert not reporter.report({"n": 1})
    assert reporter.dropped == 1


def test_the_drop_count_goes_into_the_next_delivered_report(blocked: tuple[Reporter, BlockingSink]) -> None:
    reporter, sink = blocked
    accepted = [reporter.report({"n": n}) for n in range(12)]  # the worker holds one, the queue two
    dropped = accepted.count(False)
    assert dropped and reporter.counters().dropped == dropped
    sink.release.set()
    assert reporter.flush(WAIT)
    assert reporter.report({"n": "after"}) and reporter.flush(WAIT)
    counts = [event["reports_dropped_before"] for event in sink.events]
    # Summed over what was delivered, the field accounts for every drop, exactly once.
    assert sum(counts) == dropped and counts[-1] == 0
    snapshot = reporter.counters()
    assert (snapshot.accepted, snapshot.delivered, snapshot.dropped) == (accepted.count(True) + 1,
                                                                           accepted.count(True) + 1, dropped)


def test_a_pending_report_is_built_and_scrubbed_on_the_reporters_thread() -> None:
    sink = RecordingSink()
    built_on: list[str] = []

    class Spy(PendingReport):
        def build(self) -> dict[str, Any]:
            built_on.append(threading.current_thread().name)
            return super().build()

    hostile = "HTTP/1.1 " + "password=" * 4000 + " https://u:pw@host.test/reset/T0KEN?sig=x"
    with Reporter([sink], name="the-reporter") as reporter:
        assert reporter.report(Spy(
            kind="failure", stack="curl", cohort=None, method="GET", url="https://u:pw@host.test/p?q=1",
            http_version=None, outcome={"ok": False, "code": "tls.abrupt_close", "message": hostile},
            fallback=None, environment={}, timings_ms={}, install="i", app_version="1"))
        assert reporter.flush(WAIT)
    assert built_on == ["the-reporter"]
    (event,) = sink.events
    assert event["request"]["origin"] == "https://host.test:443"
    assert "T0KEN" not in json.dumps(event) and "pw@" not in json.dumps(event)


def test_reports_reach_json_lines_through_the_reporter(tmp_path: Path) -> None:
    with Reporter([JsonLinesSink(tmp_path)]) as reporter:
        for kind in ("failure", "fallback", "validation", "sample"):
            reporter.report(a_failure_report(kind=kind))
        assert reporter.flush(WAIT)
    assert [event["kind"] for event in read_reports(tmp_path)] == ["failure", "fallback", "validation", "sample"]


# -- Sentry --------------------------------------------------------------------------------------


class EnvelopeServer:
    """A stand-in for Sentry's ingestion endpoint on 127.0.0.1: records envelope bodies."""

    def __init__(self) -> None:
        self.bodies: list[tuple[bytes, bytes]] = []  # (as sent, decompressed)
        self.received = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 5  # every socket operation of the handler

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if re.fullmatch(r"/api/\d+/envelope/", self.path):
                    outer.bodies.append((raw, _decompress(raw, self.headers.get("Content-Encoding", ""))))
                    outer.received.set()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(WAIT)


def _decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        import brotli  # the SDK only sends br when brotli is importable, so it is here too

        return brotli.decompress(body)
    assert encoding in ("", "identity"), f"unexpected Content-Encoding {encoding!r}"
    return body


def parse_envelope(body: bytes) -> tuple[dict[str, Any], list[tuple[dict[str, Any], bytes]]]:
    """Sentry's envelope format: a JSON header line, then items, each a JSON header line and a
    payload of ``length`` bytes (or up to the next newline when the header has no length)."""
    header_line, _, rest = body.partition(b"\n")
    items = []
    for _ in range(100):
        if not rest.strip():
            break
        item_header_line, _, rest = rest.partition(b"\n")
        item_header = json.loads(item_header_line)
        if "length" in item_header:
            length = item_header["length"]
            payload, rest = rest[:length], rest[length:]
            rest = rest[1:] if rest.startswith(b"\n") else rest
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((item_header, payload))
    return json.loads(header_line), items


SECRETS_IN_A_FAILURE = ("hunter2pw", "qu3rytok", "b34rertoken", "c00kiev4l", "fr4gment", "4ccount")


def a_failure_with_secrets() -> dict[str, Any]:
    return a_failure_report(
        url="https://alice:hunter2pw@example.test/4ccount?token=qu3rytok#fr4gment",
        outcome={"ok": False, "code": "tls.abrupt_close", "curl_code": 35, "nel_type": "tls.protocol.error",
                 "message": "TLS connect error via proxy; sent Authorization: Bearer b34rertoken "
                            "and Cookie: sid=c00kiev4l to https://alice:hunter2pw@example.test/?token=qu3rytok"},
    )


def test_a_sentry_envelope_leaves_the_process_with_tags_fingerprint_and_the_report() -> None:
    import sentry_sdk

    assert not sentry_sdk.get_client().is_active()
    report = a_failure_with_secrets()
    with EnvelopeServer() as server:
        sink = SentrySink(f"http://publickey@127.0.0.1:{server.port}/42", environment="test")
        try:
            sink.write(report)
            sink.flush(WAIT)
            assert server.received.wait(WAIT), "no envelope reached the endpoint"
        finally:
            sink.close(WAIT)

    events = []
    for raw, body in server.bodies:
        _header, items = parse_envelope(body)
        events.extend(json.loads(payload) for item_header, payload in items if item_header["type"] == "event")
        for secret in SECRETS_IN_A_FAILURE:
            assert secret.encode() not in body and secret.encode() not in raw
    assert len(events) == 1
    event = events[0]
    assert event["message"] == "tlsdoctor: tls.abrupt_close on curl"
    assert event["level"] == "error"
    assert {key: event["tags"][key] for key in ("stack", "code", "curl_code", "kind", "cohort")} == {
        "stack": "curl", "code": "tls.abrupt_close", "curl_code": "35", "kind": "failure", "cohort": "curl"}
    assert event["fingerprint"] == ["tlsdoctor", "tls.abrupt_close"]
    assert event["contexts"]["tlsdoctor"] == report
    assert event["release"] == "7.2.5" and event["environment"] == "test"
    # Nothing about the machine or the host application's scope rides along.
    assert not event.get("server_name")
    assert not {"user", "request", "breadcrumbs", "extra", "modules", "threads"} & set(event)
    assert set(event["contexts"]) == {"tlsdoctor"}

    assert sink._client.should_send_default_pii() is False
    # The host application's Sentry (none here) was neither replaced nor fed.
    assert not sentry_sdk.get_client().is_active()
    assert not sentry_sdk.get_global_scope().client.is_active()
    assert not sentry_sdk.get_isolation_scope().client.is_active()


def test_sentry_scrubs_again_and_levels_by_kind() -> None:
    """An event that did not come from build_report still loses its secrets in before_send."""
    hand_made = dict(a_failure_report(kind="sample"))
    hand_made["outcome"] = {"ok": True, "code": "ok", "curl_code": None, "nel_type": None,
                            "message": "ok after Authorization: Bearer b34rertoken"}
    with EnvelopeServer() as server:
        sink = SentrySink(f"http://publickey@127.0.0.1:{server.port}/42", kinds={"sample"})
        try:
            sink.write(a_failure_report(kind="failure"))  # not a kind this sink sends
            sink.write(hand_made)
            sink.flush(WAIT)
            assert server.received.wait(WAIT)
        finally:
            sink.close(WAIT)
    events = [json.loads(payload) for _, body in server.bodies for item_header, payload in parse_envelope(body)[1]
              if item_header["type"] == "event"]
    assert len(events) == 1
    assert events[0]["level"] == "info" and events[0]["tags"]["code"] == "ok"
    assert events[0]["tags"]["curl_code"] == "none"
    assert "b34rertoken" not in json.dumps(events[0])


def test_a_reporter_with_both_sinks_delivers_to_each(tmp_path: Path) -> None:
    report = a_failure_with_secrets()
    with EnvelopeServer() as server:
        reporter = Reporter([JsonLinesSink(tmp_path), SentrySink(f"http://publickey@127.0.0.1:{server.port}/42")])
        try:
            assert reporter.report(report)
            assert reporter.flush(WAIT)
            assert server.received.wait(WAIT)
        finally:
            assert reporter.close(WAIT)
    assert read_reports(tmp_path) == [{**report, "reports_dropped_before": 0}]
    assert reporter.errors == 0 and reporter.dropped == 0
    on_disk = (tmp_path / "reports.jsonl").read_text()
    assert not any(secret in on_disk for secret in SECRETS_IN_A_FAILURE)

"""Usage counters: ``tlsdoctor.usage/1`` documents, the denominator of a fleet's failure reports.

Reports alone say "curl 35 — 40 events"; they cannot say whether curl's users fail *more* than
the platform stack's, because nobody counted the requests that worked. Once per period (default
one hour) and at exit, each install writes how many requests it made per stack and how they
ended, beside its report JSON Lines (``usage.jsonl``), in the shape of
``docs/spec/diagnosis-json.md`` ("Usage counters").

Three pieces, so that the simulator writes exactly what a real client writes:

- :class:`UsageCounters` tallies one period, thread-safe, cheap enough for every request.
- :func:`build_usage` shapes one document (the privacy boundary, like ``build_report``: every
  string capped and scrubbed, unknown keys never emitted).
- :class:`UsageWriter` owns the counters, the period timer, the ``seq`` number and the sinks;
  :class:`~tlsdoctor.client.Client` feeds it (``Client(usage=UsageWriter(dir))``).

``seq`` increases by one per document of an install and survives restarts (``usage-seq`` beside
the JSON Lines): a gap in an install's ``seq`` is a lost document, which is how ``tlsdoctor fleet
gate`` knows that data is missing rather than that nothing happened. Drops are counted the same
way: reports the :class:`~tlsdoctor.client.report.Reporter` refused and lines an HTTP sink had to
discard go into the *next* document's ``reports.dropped``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tlsdoctor.client.report.event import _flag, _integer, _text, _timestamp
from tlsdoctor.client.report.jsonlines import JsonLinesSink
from tlsdoctor.client.report.reporter import ReportSink

USAGE_SCHEMA = "tlsdoctor.usage/1"
USAGE_ENVIRONMENT_KEYS = ("proxy_configured", "os", "tls_library", "libcurl")
DEFAULT_PERIOD_S = 3600.0
SEQ_FILE = "usage-seq"


class UsageLinesSink(JsonLinesSink):
    """``usage.jsonl``: the report sink's crash-safe, rotated JSON Lines, under its own name."""

    FILENAME = "usage.jsonl"


class UsageCounters:
    """What happened in one period. Every method is O(1) under one short lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.stacks: dict[str, dict[str, Any]] = {}
        self.fallbacks = {"taken": 0, "succeeded": 0}
        self.validations = {"agreed": 0, "differed": 0}
        self.reports = {"written": 0, "dropped": 0}

    def _stack(self, name: str) -> dict[str, Any]:
        entry = self.stacks.get(name)
        if entry is None:
            entry = self.stacks[name] = {"requests": 0, "ok": 0, "failures": {}, "rescued_by_fallback": 0}
        return entry

    def record_request(self, stack: str, code: str | None, fallback_ok: bool | None = None, count: int = 1) -> None:
        """``count`` first attempts on ``stack`` that ended alike: ``code`` None when they worked,
        else their finding code; ``fallback_ok`` None when no fallback was tried, else whether the
        other stack answered. A fallback attempt is counted under ``fallbacks``, never as a request."""
        with self._lock:
            entry = self._stack(stack)
            entry["requests"] += count
            if code is None:
                entry["ok"] += count
                return
            failures = entry["failures"]
            failures[code] = failures.get(code, 0) + count
            if fallback_ok is not None:
                self.fallbacks["taken"] += count
                if fallback_ok:
                    self.fallbacks["succeeded"] += count
                    entry["rescued_by_fallback"] += count

    def record_validation(self, agreed: bool) -> None:
        with self._lock:
            self.validations["agreed" if agreed else "differed"] += 1

    def record_report(self, accepted: bool) -> None:
        """A report handed to the reporter: ``accepted`` False when its bounded queue refused it."""
        with self._lock:
            self.reports["written" if accepted else "dropped"] += 1

    def take(self) -> dict[str, Any]:
        """This period's tallies, and a fresh period."""
        with self._lock:
            taken = {"stacks": self.stacks, "fallbacks": self.fallbacks, "validations": self.validations,
                     "reports": self.reports}
            self._reset()
            return taken


@functools.lru_cache(maxsize=4096)
def _short_text(value: str, cap: int) -> str | None:
    """Scrubbed like every report string; cached because a usage document's strings (versions,
    OS, cohort rule, stack names, finding codes) repeat from one document to the next, and
    scrubbing is pure."""
    return _text(value, cap)


def _field(value: Any, cap: int = 200) -> str | None:
    if value is None:
        return None
    return _short_text(value, cap) if isinstance(value, str) and len(value) <= cap else _text(value, cap)


def _count(value: Any) -> int:
    number = _integer(value)
    return number if number is not None and number >= 0 else 0


def build_usage(
    *,
    install: str,
    app_version: str,
    seq: int,
    start: datetime,
    end: datetime,
    cohort: Mapping[str, Any] | None,
    environment: Mapping[str, Any],
    stacks: Mapping[str, Mapping[str, Any]],
    fallbacks: Mapping[str, Any],
    validations: Mapping[str, Any],
    reports: Mapping[str, Any],
) -> dict[str, Any]:
    """One ``tlsdoctor.usage/1`` document, shaped and scrubbed: exactly the spec's keys."""
    shaped_stacks: dict[str, Any] = {}
    for name, entry in stacks.items():
        failures = {_field(code, 64): _count(n) for code, n in (entry.get("failures") or {}).items()}
        shaped_stacks[_field(name, 32) or "unknown"] = {
            "requests": _count(entry.get("requests")),
            "ok": _count(entry.get("ok")),
            "failures": failures,
            "rescued_by_fallback": _count(entry.get("rescued_by_fallback")),
        }
    return {
        "schema": USAGE_SCHEMA,
        "install": _field(install, 64),
        "app_version": _field(app_version, 64),
        "seq": _count(seq),
        "period": {"start": _timestamp(start), "end": _timestamp(end)},
        "cohort": None if cohort is None else {key: _field(cohort.get(key)) for key in ("feature", "value", "rule")},
        "environment": {
            "proxy_configured": _flag(environment.get("proxy_configured")),
            "os": _field(environment.get("os")),
            "tls_library": _field(environment.get("tls_library")),
            "libcurl": _field(environment.get("libcurl")),
        },
        "stacks": shaped_stacks,
        "fallbacks": {key: _count(fallbacks.get(key)) for key in ("taken", "succeeded")},
        "validations": {key: _count(validations.get(key)) for key in ("run", "skipped_busy", "agreed", "differed")},
        "reports": {key: _count(reports.get(key)) for key in ("written", "dropped")},
    }


class _SeqFile:
    """The next ``seq``, kept in a file so that it survives restarts (written atomically)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._next = self._load()

    def _load(self) -> int:
        if self.path is None:
            return 0
        try:
            return max(0, int(self.path.read_text(encoding="ascii").strip() or 0))
        except (OSError, ValueError):
            return 0  # lost or damaged: the fleet sees a restart of seq, not a silent overlap

    def take(self) -> int:
        seq, self._next = self._next, self._next + 1
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".usage-seq.")
                with os.fdopen(fd, "w", encoding="ascii") as f:
                    f.write(f"{self._next}\n")
                os.replace(tmp, self.path)
        return seq


class UsageWriter:
    """Writes this install's ``tlsdoctor.usage/1`` documents: every ``period`` seconds and at exit.

    ``directory`` gets ``usage.jsonl`` and ``usage-seq`` (normally the reports' directory);
    ``sinks`` are more destinations (an :class:`~tlsdoctor.client.sink.HttpSink`), whose own
    drop counters are read into each document. ``period=None`` starts no timer: the caller
    calls :meth:`write_now` (the simulator does, on its simulated clock).

    The client binds itself (:meth:`bind`) for the install id, app version, cohort and
    environment; a caller without a client passes them. A write never raises.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        period: float | None = DEFAULT_PERIOD_S,
        sinks: Sequence[ReportSink] = (),
        clock: Callable[[], float] = time.time,
        install: str | None = None,
        app_version: str = "0",
        cohort: Callable[[], Mapping[str, Any] | None] | None = None,
        environment: Callable[[], Mapping[str, Any]] | None = None,
        first_seq: int | None = None,
    ) -> None:
        if period is not None and not period > 0:
            raise ValueError("period must be a positive number of seconds (or None for no timer)")
        self.directory = Path(directory) if directory is not None else None
        self.sinks: list[ReportSink] = list(sinks)
        if self.directory is not None:
            self.sinks.insert(0, UsageLinesSink(self.directory, max_bytes=4 << 20))
        self.counters = UsageCounters()
        self.period = period
        self._clock = clock
        self.install = install or "unknown"
        self.app_version = app_version
        self._cohort = cohort or (lambda: None)
        self._environment = environment or (lambda: {})
        self._seq = _SeqFile(self.directory / SEQ_FILE if self.directory is not None else None)
        if first_seq is not None:
            self._seq._next = first_seq
        self._validator: Any = None
        self._validator_seen = (0, 0)
        self._extra_sinks: list[Any] = []  # e.g. the reporter's HTTP sink: their drops count too
        self._period_start = clock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._closed = False
        self.errors = 0
        self._thread: threading.Thread | None = None
        if period is not None:
            self._thread = threading.Thread(target=self._run, name="tlsdoctor-usage", daemon=True)
            self._thread.start()
            # An application that forgets close() still writes its last period at exit.
            ref = weakref.ref(self)
            atexit.register(lambda: (w := ref()) is not None and w.close(timeout=2.0))

    # -- what the client calls ----------------------------------------------------------------

    def bind(self, client: Any) -> None:
        """Take install id, app version, cohort, environment and validation stats from ``client``."""
        self.install = client.report_install_id
        self.app_version = client.app_version
        self._cohort = lambda: client.choose_stack()[1]
        self._environment = client._environment
        self._validator = client.validator
        reporter = getattr(client, "reporter", None)
        for sink in getattr(reporter, "sinks", ()):
            if hasattr(sink, "take_dropped") and sink not in self.sinks:
                self._extra_sinks.append(sink)

    def record_request(self, stack: str, code: str | None, fallback_ok: bool | None = None, count: int = 1) -> None:
        self.counters.record_request(stack, code, fallback_ok, count)

    def record_validation(self, agreed: bool) -> None:
        self.counters.record_validation(agreed)

    def record_report(self, accepted: bool) -> None:
        self.counters.record_report(accepted)

    # -- writing --------------------------------------------------------------------------------

    def write_now(self) -> dict[str, Any] | None:
        """Close the current period: build its document and hand it to every sink."""
        with self._write_lock:
            try:
                now = self._clock()
                tallies = self.counters.take()
                validations = dict(tallies["validations"])
                validations["run"], validations["skipped_busy"] = self._validator_delta()
                reports = dict(tallies["reports"])
                for sink in [*self.sinks, *self._extra_sinks]:
                    take = getattr(sink, "take_dropped", None)
                    if take is not None:
                        reports["dropped"] += take().get("reports", 0)
                doc = build_usage(
                    install=self.install, app_version=self.app_version, seq=self._seq.take(),
                    start=datetime.fromtimestamp(self._period_start, UTC), end=datetime.fromtimestamp(now, UTC),
                    cohort=self._cohort(), environment=self._environment(), stacks=tallies["stacks"],
                    fallbacks=tallies["fallbacks"], validations=validations, reports=reports,
                )
                self._period_start = now
            except Exception:  # noqa: BLE001 - counting must never break the application
                self.errors += 1
                return None
            for sink in self.sinks:
                try:
                    sink.write(doc)
                except Exception:  # noqa: BLE001 - the next document's seq shows the gap
                    self.errors += 1
            return doc

    def _validator_delta(self) -> tuple[int, int]:
        if self._validator is None:
            return 0, 0
        started, skipped = self._validator.started, self._validator.skipped
        before = self._validator_seen
        self._validator_seen = (started, skipped)
        return started - before[0], skipped - before[1]

    def _run(self) -> None:
        assert self.period is not None
        while not self._stop.wait(self.period):
            self.write_now()

    def close(self, timeout: float = 5.0) -> None:
        """Write the last period's document and stop the timer (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.write_now()
        for sink in self.sinks:
            with contextlib.suppress(Exception):
                sink.flush(timeout)
        # Only the file this writer opened is closed: other sinks (an HTTP sink the reporter
        # shares) belong to whoever created them.
        if self.directory is not None:
            with contextlib.suppress(Exception):
                self.sinks[0].close()

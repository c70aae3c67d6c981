"""Diagnosing many URLs: streamed in input order, in constant memory, across cores, politely.

Measured before this design (issue 9): 200 URLs took ~25 s on one core (~130 ms of CPU
per diagnosis), every result was kept (~0.23 MB a URL), and JSON Lines came out in
completion order. Now:

- **Across cores.** Diagnosis is CPU-bound between its network waits (X.509 parsing and
  verification, TLS handshakes), so the work goes to worker *processes* (one per core by
  default), each running several diagnoses concurrently on its own event loop. A batch
  too small to pay for a process start runs in this process.
- **Input order, streamed.** Each result is handed back as soon as every earlier input's
  result has been; results that finish early wait in a reorder buffer. Inputs are read
  lazily and at most ``window`` of them are in flight or waiting, so memory stays
  constant whatever the batch's length: neither the inputs nor the results are kept.
- **Politeness.** At most ``per_host`` diagnoses run against one origin (host and port:
  one server) at a time; each diagnosis opens a handful of connections, one after
  another within its stages, so a batch listing one server 1,000 times never floods it.
  The scheduler skips ahead (within the window) to inputs whose server is free.
- **Redaction.** What is printed of an input is redacted (userinfo, query, fragment) and
  stripped of control characters: a batch file is often a log excerpt with tokens in it.

The scheduling is sans-IO-ish: :class:`Scheduler` decides what to start and what to emit;
:func:`run_batch` moves items between it and the workers (:mod:`tlsdoctor.batch_workers`:
where diagnoses run, and what happens when a worker process dies).
"""

from __future__ import annotations

import heapq
import os
import sys
from collections import deque
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

# Diagnoses in flight: None means PER_CORE for each core. A diagnosis is CPU-bound between its
# network waits (handshakes, X.509 parsing and path validation: ~30 ms of CPU each against the lab),
# and its timeouts are wall-clock: too many in flight only queues CPU work behind CPU work, so each
# diagnosis takes longer, a loaded machine turns the wait into false `tcp.timed_out` verdicts, and
# the thread and GIL churn costs CPU of its own. Measured with 200 lab URLs on 2 cores
# (bench/batch_bench.py, load average ~5): 32 in flight cost ~50 ms of worker CPU per URL and gave
# 6 false timeouts; 8, 12, 16 and 24 in flight cost ~30-35 ms and gave none, with wall times
# within the shared machine's noise of each other. Enough in flight to overlap slow servers'
# waits, few enough that CPU work does not queue: 6 per core. On a slow network, where a
# diagnosis mostly waits, ask for more with --concurrency.
DEFAULT_CONCURRENCY: int | None = None
PER_CORE = 6
DEFAULT_PER_HOST = 4
_IN_PROCESS_BELOW = 8  # fewer inputs than this: a worker process costs more than it saves
MAX_URL_CHARS = 8192  # longer lines are reported as bad input, not parsed (and not held whole)


@dataclass(frozen=True)
class BatchResult:
    """What the renderer needs of one input's diagnosis, and nothing more (memory: a few hundred bytes)."""

    index: int
    url: str  # redacted, printable
    ok: bool
    code: str  # the verdict's finding code, or "error" for bad input
    curl_code: int | None
    summary: str
    json: str | None = None  # the tlsdoctor.diagnosis/1 document (JSON Lines mode)

    @property
    def bad_input(self) -> bool:
        return self.code == "error" and not self.internal_error

    @property
    def internal_error(self) -> bool:
        """Not the input's fault: a bug, or the worker process diagnosing it died."""
        return self.code == "error" and self.summary.startswith("internal error")


def read_url_list(path: str) -> Iterator[str]:
    """URLs one a line, lazily; blank lines and ``#`` comments skipped. Raises OSError to start with."""
    handle = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="replace")  # noqa: SIM115

    def lines() -> Iterator[str]:
        try:
            for line in handle:
                text = line.strip()
                if text and not text.startswith("#"):
                    yield text[: MAX_URL_CHARS + 1]
        finally:
            if handle is not sys.stdin:
                handle.close()

    return lines()


def count_urls(path: str) -> int | None:
    """How many URLs a file lists (for the progress bar); ``None`` for standard input."""
    if path == "-":
        return None
    with open(path, encoding="utf-8", errors="replace") as handle:
        return sum(1 for line in handle if line.strip() and not line.lstrip().startswith("#"))


def origin_key(url: str) -> str:
    """The server a URL names (host and port), for politeness; the raw text when it does not parse."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        return f"{(parts.hostname or '').lower()}:{port}"
    except ValueError:
        return url


# -- scheduling: what to start next, what to emit next (no I/O) ---------------------------------------


class Scheduler:
    """Input order out, politeness in, bounded memory throughout.

    ``window`` bounds how far ahead of the oldest unfinished input work may start, which
    bounds both the reorder buffer and the inputs held while their server is busy.
    """

    def __init__(self, urls: Iterable[str], *, concurrency: int, per_host: int, window: int | None = None) -> None:
        self._urls = iter(urls)
        self.concurrency, self.per_host = concurrency, per_host
        # A slow diagnosis (a stalled server waits out its timeouts) must not stall the ones
        # behind it: the window lets work run well ahead; each held result is a few kB.
        self.window = window or max(16 * concurrency, 256)
        self._read = 0  # inputs taken from the iterator
        self._exhausted = False
        self._waiting: deque[tuple[int, str, str]] = deque()  # read, not started (their server was busy)
        self._busy: dict[str, int] = {}
        self._running: dict[int, str] = {}  # index -> origin
        self._done: list[tuple[int, Any]] = []  # heap of finished results not yet emitted
        self._next_emit = 0

    @property
    def finished(self) -> bool:
        return self._exhausted and not self._waiting and not self._running and not self._done

    @property
    def running(self) -> int:
        return len(self._running)

    def to_start(self) -> list[tuple[int, str]]:
        """The inputs to start now (index, url), oldest first, within every bound."""
        started: list[tuple[int, str]] = []
        while len(self._running) < self.concurrency:
            item = self._next_startable()
            if item is None:
                break
            index, url, origin = item
            self._busy[origin] = self._busy.get(origin, 0) + 1
            self._running[index] = origin
            started.append((index, url))
        return started

    def _next_startable(self) -> tuple[int, str, str] | None:
        for position, item in enumerate(self._waiting):
            if self._busy.get(item[2], 0) < self.per_host:
                del self._waiting[position]
                return item
        while not self._exhausted and self._read < self._next_emit + self.window:
            try:
                url = next(self._urls)
            except StopIteration:
                self._exhausted = True
                break
            item = (self._read, url, origin_key(url))
            self._read += 1
            if self._busy.get(item[2], 0) < self.per_host:
                return item
            self._waiting.append(item)
        return None

    def finish(self, index: int, result: Any) -> list[Any]:
        """Record ``index``'s result; returns the results now ready to emit, in input order."""
        origin = self._running.pop(index)
        self._busy[origin] -= 1
        if not self._busy[origin]:
            del self._busy[origin]
        heapq.heappush(self._done, (index, result))
        ready = []
        while self._done and self._done[0][0] == self._next_emit:
            ready.append(heapq.heappop(self._done)[1])
            self._next_emit += 1
        return ready


# -- the batch ---------------------------------------------------------------------------------------


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_processes(concurrency: int) -> int:
    return max(1, min(cores(), concurrency))


def run_batch(
    urls: Iterable[str],
    options: dict[str, Any],
    *,
    json_lines: bool = False,
    concurrency: int | None = DEFAULT_CONCURRENCY,
    per_host: int = DEFAULT_PER_HOST,
    processes: int | None = None,
    total: int | None = None,
    window: int | None = None,
) -> Iterator[BatchResult]:
    """Diagnose every URL; yields one :class:`BatchResult` per input, in input order, as they are ready.

    ``concurrency`` defaults to :data:`PER_CORE` per core (or per worker process, when
    ``processes`` is given); ``processes`` defaults to one per core (capped by ``concurrency``); ``total`` (when
    known) lets a small batch run in this process instead. A worker process that dies (a
    crash in a native library, the OOM killer, a stray ``kill``) costs the URLs it was
    diagnosing, each reported as an ``internal error:`` result; a new worker takes its place.
    """
    if concurrency is None:
        concurrency = PER_CORE * (processes if processes else cores())
    scheduler = Scheduler(urls, concurrency=concurrency, per_host=per_host, window=window)
    if processes is None:
        processes = default_processes(concurrency)
        if total is not None and total < _IN_PROCESS_BELOW:
            processes = 0
    from tlsdoctor.batch_workers import ProcessPool, ThreadPool

    slots = -(-concurrency // max(processes, 1))
    pool: ThreadPool | ProcessPool
    if processes <= 0:
        pool = ThreadPool(options, json_lines, concurrency)
    else:
        pool = ProcessPool(options, json_lines, processes, slots)
    try:
        while not scheduler.finished:
            for item in scheduler.to_start():
                pool.submit(item)
            if scheduler.finished:
                break
            result = pool.next_result()
            yield from scheduler.finish(result.index, result)
    finally:
        pool.close()

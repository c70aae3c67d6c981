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
:func:`run_batch` moves items between it and the workers.
"""

from __future__ import annotations

import heapq
import os
import queue
import sys
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

DEFAULT_CONCURRENCY = 32
DEFAULT_PER_HOST = 4
_IN_PROCESS_BELOW = 8  # fewer inputs than this: a worker process costs more than it saves


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
        return self.code == "error"


def read_url_list(path: str) -> Iterator[str]:
    """URLs one a line, lazily; blank lines and ``#`` comments skipped. Raises OSError to start with."""
    handle = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="replace")  # noqa: SIM115

    def lines() -> Iterator[str]:
        try:
            for line in handle:
                text = line.strip()
                if text and not text.startswith("#"):
                    yield text
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


# -- workers: where diagnoses run ----------------------------------------------------------------------


def diagnose_one(index: int, url: str, options: dict[str, Any], json_lines: bool) -> BatchResult:
    """One input's diagnosis, reduced to a :class:`BatchResult`; never raises for a bad URL or a bug."""
    import asyncio

    return asyncio.run(_diagnose_one(index, url, options, json_lines))


async def _diagnose_one(index: int, url: str, options: dict[str, Any], json_lines: bool) -> BatchResult:
    from tlsdoctor.diagnosis import DiagnoseError, diagnose_async

    shown = printable_url(url)
    try:
        d = await diagnose_async(url, **options)
    except DiagnoseError as exc:
        return _error(index, url, shown, f"bad input: {exc}", json_lines)
    except Exception as exc:  # noqa: BLE001 - one input's bug must not end the batch; it is reported
        return _error(index, url, shown, f"internal error: {type(exc).__name__}: {exc}", json_lines)
    document = None
    if json_lines:
        from tlsdoctor.render.diagnosis import diagnosis_json

        document = diagnosis_json(d)
    v = d.verdict
    return BatchResult(index, shown, d.ok, v.code, v.curl_code, v.summary, document)


def _error(index: int, url: str, shown: str, message: str, json_lines: bool) -> BatchResult:
    import json

    from tlsdoctor.redact import redact_text

    # The message may quote the input (or part of it) as typed: the redacted form replaces it.
    message = printable(redact_text(message.replace(url, shown) if url else message))
    document = None
    if json_lines:
        document = json.dumps({"schema": "tlsdoctor.diagnosis/1", "target": {"url": shown}, "error": message})
    return BatchResult(index, shown, False, "error", None, message, document)


def printable_url(url: str) -> str:
    """The input as it may be printed: without credentials, query or fragment, one printable line."""
    from tlsdoctor.redact import redact_url

    return printable(redact_url(url))


def printable(text: str) -> str:
    from tlsdoctor.redact import printable as one_line

    return one_line(text, keep_newlines=False)


def _worker_loop(get: Callable[[], Any], put: Callable[[Any], None], options: dict[str, Any],
                 json_lines: bool, slots: int) -> None:
    """A worker: ``slots`` diagnoses at a time on one event loop, fed by ``get``, answering through ``put``.

    ``get`` returns ``(index, url)`` or ``None`` to stop. Used both in worker processes
    (multiprocessing queues) and, for small batches, in a thread of this process.
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    # Waiting for work gets its own threads: in the default executor, idle consumers would
    # take the threads that diagnoses need for libcurl (asyncio.to_thread) and deadlock.
    waiting = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="tlsdoctor-batch-get")

    async def consume() -> None:
        loop = asyncio.get_running_loop()
        while True:
            item = await loop.run_in_executor(waiting, get)
            if item is None:
                return
            index, url = item
            put(await _diagnose_one(index, url, options, json_lines))

    async def main() -> None:
        # Each diagnosis runs blocking calls in threads (getaddrinfo, the libcurl attempt) that can
        # each wait a whole timeout on a stalled server; the default pool (cores + 4 threads) would
        # make a DNS lookup queue behind them and read as a DNS timeout.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=4 * slots, thread_name_prefix="tlsdoctor-batch-io"))
        await asyncio.gather(*(consume() for _ in range(slots)))

    try:
        asyncio.run(main())
    finally:
        waiting.shutdown(wait=False)


def _process_main(tasks: Any, results: Any, options: dict[str, Any], json_lines: bool, slots: int) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops us
    try:
        _worker_loop(tasks.get, results.put, options, json_lines, slots)
    finally:
        results.put(None)  # this worker is done


# -- the batch ---------------------------------------------------------------------------------------


def default_processes(concurrency: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, concurrency))


def run_batch(
    urls: Iterable[str],
    options: dict[str, Any],
    *,
    json_lines: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    per_host: int = DEFAULT_PER_HOST,
    processes: int | None = None,
    total: int | None = None,
    window: int | None = None,
) -> Iterator[BatchResult]:
    """Diagnose every URL; yields one :class:`BatchResult` per input, in input order, as they are ready.

    ``processes`` defaults to one per core (capped by ``concurrency``); ``total`` (when
    known) lets a small batch run in this process instead.
    """
    scheduler = Scheduler(urls, concurrency=concurrency, per_host=per_host, window=window)
    if processes is None:
        processes = default_processes(concurrency)
        if total is not None and total < _IN_PROCESS_BELOW:
            processes = 0
    slots = -(-concurrency // max(processes, 1))
    if processes <= 0:
        pool: _Pool = _ThreadPool(options, json_lines, concurrency)
    else:
        pool = _ProcessPool(options, json_lines, processes, slots)
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


class _Pool:
    def submit(self, item: tuple[int, str]) -> None:
        raise NotImplementedError

    def next_result(self) -> BatchResult:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _ThreadPool(_Pool):
    """One worker loop in a thread of this process (small batches: no process start to pay)."""

    def __init__(self, options: dict[str, Any], json_lines: bool, slots: int) -> None:
        self.tasks: queue.Queue[Any] = queue.Queue()
        self.results: queue.Queue[Any] = queue.Queue()
        self.slots = slots
        self.thread = threading.Thread(target=_worker_loop, name="tlsdoctor-batch", daemon=True,
                                       args=(self.tasks.get, self.results.put, options, json_lines, slots))
        self.thread.start()

    def submit(self, item: tuple[int, str]) -> None:
        self.tasks.put(item)

    def next_result(self) -> BatchResult:
        while True:
            try:
                return self.results.get(timeout=0.5)
            except queue.Empty:
                if not self.thread.is_alive():
                    raise RuntimeError("the batch worker stopped") from None

    def close(self) -> None:
        for _ in range(self.slots):
            self.tasks.put(None)
        self.thread.join(timeout=30)


class _ProcessPool(_Pool):
    """Worker processes, started through a fork server that has already imported the diagnosis code."""

    def __init__(self, options: dict[str, Any], json_lines: bool, processes: int, slots: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["tlsdoctor.batch", "tlsdoctor.diagnosis", "tlsdoctor.render.diagnosis"])
        self.tasks = context.Queue()
        self.results = context.Queue()
        self.slots = slots
        self.workers = [
            context.Process(target=_process_main, name=f"tlsdoctor-batch-{n}", daemon=True,
                            args=(self.tasks, self.results, options, json_lines, slots))
            for n in range(processes)
        ]
        for worker in self.workers:
            worker.start()

    def submit(self, item: tuple[int, str]) -> None:
        self.tasks.put(item)

    def next_result(self) -> BatchResult:
        while True:
            try:
                result = self.results.get(timeout=0.5)
            except queue.Empty:
                dead = [w for w in self.workers if w.exitcode not in (None, 0)]
                if dead:  # its diagnoses in flight would never come back: say so, do not hang
                    raise RuntimeError(f"a batch worker process died (exit status {dead[0].exitcode})") from None
                continue
            if result is not None:
                return result
            if not any(w.is_alive() for w in self.workers) and self.results.empty():
                raise RuntimeError("every batch worker process stopped") from None

    def close(self) -> None:
        for _ in range(len(self.workers) * self.slots):
            self.tasks.put(None)
        for worker in self.workers:
            worker.join(timeout=10)
        for worker in self.workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=5)
        self.tasks.close()
        self.results.close()

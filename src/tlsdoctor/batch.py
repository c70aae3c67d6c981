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
import signal
import sys
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

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


# -- workers: where diagnoses run ----------------------------------------------------------------------


def diagnose_one(index: int, url: str, options: dict[str, Any], json_lines: bool) -> BatchResult:
    """One input's diagnosis, reduced to a :class:`BatchResult`; never raises for a bad URL or a bug."""
    import asyncio

    return asyncio.run(_diagnose_one(index, url, options, json_lines))


async def _diagnose_one(index: int, url: str, options: dict[str, Any], json_lines: bool) -> BatchResult:
    from tlsdoctor.diagnosis import DiagnoseError, diagnose_async

    if len(url) > MAX_URL_CHARS:
        return _error(index, "", printable_url(url[:200]) + "…", f"bad input: longer than {MAX_URL_CHARS} characters",
                      json_lines)
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

    ``get`` blocks and returns ``(index, url)``, or ``None`` to stop. One thread reads (a pipe
    end must not be read by two threads at once) and hands items to the loop; ``put`` runs on
    the loop's thread. Used both in worker processes (pipes) and, for small batches, in a
    thread of this process (queues).
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    async def main() -> None:
        loop = asyncio.get_running_loop()
        # Each diagnosis runs blocking calls in threads (getaddrinfo, the libcurl attempt) that can
        # each wait a whole timeout on a stalled server; the default pool (cores + 4 threads) would
        # make a DNS lookup queue behind them and read as a DNS timeout.
        loop.set_default_executor(ThreadPoolExecutor(max_workers=4 * slots, thread_name_prefix="tlsdoctor-batch-io"))
        inbox: asyncio.Queue[Any] = asyncio.Queue()

        def read() -> None:
            while True:
                try:
                    item = get()
                except (EOFError, OSError):  # the parent went away: stop
                    item = None
                try:
                    loop.call_soon_threadsafe(inbox.put_nowait, item)
                except RuntimeError:  # the loop is closed already
                    return
                if item is None:
                    return

        threading.Thread(target=read, name="tlsdoctor-batch-get", daemon=True).start()

        async def consume() -> None:
            while True:
                item = await inbox.get()
                if item is None:
                    inbox.put_nowait(None)  # and the other consumers stop too
                    return
                index, url = item
                put(await _diagnose_one(index, url, options, json_lines))

        await asyncio.gather(*(consume() for _ in range(slots)))

    asyncio.run(main())


def _process_main(tasks: Any, results: Any, options: dict[str, Any], json_lines: bool, slots: int) -> None:
    """A worker process: its own pipes, so that one killed mid-write leaves no shared lock held
    (a ``multiprocessing.Queue`` shared by the workers would: the others would hang on it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops us

    def put(result: BatchResult) -> None:
        try:
            results.send(result)
        except OSError:  # the parent stopped listening (it was interrupted): nobody to tell
            pass

    _worker_loop(tasks.recv, put, options, json_lines, slots)


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
        self.tasks.put(None)
        self.thread.join(timeout=30)


class _Worker:
    """One worker process, its two pipe ends, and the inputs it holds (all being diagnosed: it
    is never sent more than it has slots for)."""

    def __init__(self, context: Any, number: int, options: dict[str, Any], json_lines: bool, slots: int) -> None:
        task_reader, self.tasks = context.Pipe(duplex=False)
        self.results, result_writer = context.Pipe(duplex=False)
        self.process = context.Process(target=_process_main, name=f"tlsdoctor-batch-{number}", daemon=True,
                                       args=(task_reader, result_writer, options, json_lines, slots))
        self.process.start()
        task_reader.close()  # the child's ends: closed here, so that its death reads as end of file
        result_writer.close()
        self.in_flight: dict[int, str] = {}

    def how_it_ended(self) -> str:
        self.process.join(timeout=1)
        code = self.process.exitcode
        if code is None:
            return "stopped answering"
        if code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with status {code}"

    def close(self) -> None:
        for end in (self.tasks, self.results):
            try:
                end.close()
            except OSError:
                pass


class _ProcessPool(_Pool):
    """Worker processes, started through a fork server that has already imported the diagnosis code.

    Each worker has its own task and result pipes, and the pool knows which inputs each one
    holds, so a worker that dies is noticed at once (its process sentinel) and costs exactly
    the URLs it was diagnosing: each becomes an ``internal error:`` result naming how the
    worker ended, and a fresh worker takes its place (at most :data:`MAX_RESTARTS` times per
    batch; a batch that kills every worker it gets ends with errors, not a hang).
    """

    def __init__(self, options: dict[str, Any], json_lines: bool, processes: int, slots: int) -> None:
        import multiprocessing

        self.context = multiprocessing.get_context("forkserver")
        # What every worker needs, imported once in the fork server and shared copy-on-write: the
        # diagnosis and what it imports lazily on its first run (h2, pycurl), then the per-process
        # caches filled (tlsdoctor.batch_warmup: trust stores, the classification table).
        self.context.set_forkserver_preload(["tlsdoctor.batch", "tlsdoctor.diagnosis", "tlsdoctor.render.diagnosis",
                                             "h2.connection", "pycurl", "concurrent.futures.thread",
                                             "tlsdoctor.batch_warmup"])
        self.options, self.json_lines, self.slots = options, json_lines, slots
        self.started = 0
        self.restarts_left = MAX_RESTARTS
        self.workers: list[_Worker] = []
        self.ready: deque[BatchResult] = deque()
        for _ in range(processes):
            self._start_worker()

    def _start_worker(self) -> None:
        self.workers.append(_Worker(self.context, self.started, self.options, self.json_lines, self.slots))
        self.started += 1

    def submit(self, item: tuple[int, str]) -> None:
        if not self.workers:  # every restart spent: the input cannot be diagnosed here
            self.ready.append(_lost(item[0], item[1], "not diagnosed: every batch worker process died",
                                    self.json_lines))
            return
        worker = min(self.workers, key=lambda w: len(w.in_flight))
        worker.in_flight[item[0]] = item[1]
        try:
            worker.tasks.send(item)
        except OSError:  # it died a moment ago: its sentinel tells next_result, which reports this item too
            pass

    def next_result(self) -> BatchResult:
        from multiprocessing.connection import wait

        while not self.ready:
            if not self.workers:
                raise RuntimeError("no batch worker process left")  # submit() answers for new inputs
            by_end = {w.results: w for w in self.workers}
            by_sentinel = {w.process.sentinel: w for w in self.workers}
            for ready in wait([*by_end, *by_sentinel], timeout=5.0):
                worker = by_end.get(ready) or by_sentinel[ready]  # type: ignore[call-overload]
                if worker not in self.workers:
                    continue  # handled through its other end in this same round
                if ready is worker.results:
                    try:
                        result = worker.results.recv()
                    except (EOFError, OSError):
                        self._lose(worker)
                        continue
                    worker.in_flight.pop(result.index, None)
                    self.ready.append(result)
                else:
                    self._lose(worker)
        return self.ready.popleft()

    def _lose(self, worker: _Worker) -> None:
        """A worker ended while the batch runs: keep what it finished, report what it held."""
        try:
            while worker.results.poll():
                result = worker.results.recv()
                worker.in_flight.pop(result.index, None)
                self.ready.append(result)
        except (EOFError, OSError):
            pass
        how = worker.how_it_ended()
        for index, url in sorted(worker.in_flight.items()):
            self.ready.append(_lost(index, url, f"the batch worker process diagnosing this URL {how}", self.json_lines))
        worker.close()
        self.workers.remove(worker)
        if self.restarts_left > 0:
            self.restarts_left -= 1
            self._start_worker()

    def close(self) -> None:
        for worker in self.workers:
            try:
                worker.tasks.send(None)
            except OSError:
                pass
        for worker in self.workers:
            worker.process.join(timeout=10)
        for worker in self.workers:
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(timeout=5)
            worker.close()
        self.workers.clear()


MAX_RESTARTS = 8


def _lost(index: int, url: str, what: str, json_lines: bool) -> BatchResult:
    """The result for an input whose worker died: one ``internal error:`` line, like any bug's."""
    shown = printable_url(url[:MAX_URL_CHARS])
    return _error(index, url, shown, f"internal error: {what}", json_lines)

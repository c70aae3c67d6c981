"""Where a batch's diagnoses run: worker processes (or, for a small batch, a thread), and what
happens when a worker process dies.

:func:`tlsdoctor.batch.run_batch` decides what to start and in which order to emit; the pools
here run each input's diagnosis and hand back one :class:`~tlsdoctor.batch.BatchResult` per
input, whatever happens: a bad URL, a bug in a diagnosis, a worker process killed mid-way.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections import deque
from typing import Any, Callable

from tlsdoctor.batch import MAX_URL_CHARS, BatchResult

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


class Pool:
    def submit(self, item: tuple[int, str]) -> None:
        raise NotImplementedError

    def next_result(self) -> BatchResult:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class ThreadPool(Pool):
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


class ProcessPool(Pool):
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
        self.context.set_forkserver_preload(["tlsdoctor.batch_workers", "tlsdoctor.diagnosis", "tlsdoctor.render.diagnosis",
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

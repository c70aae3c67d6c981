"""The reporter: a bounded queue of reports and one thread that builds and delivers them."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self

from tlsdoctor.client.report.event import PendingReport

# The field the worker adds to every event it delivers: how many reports this reporter dropped
# (queue full, or after close) since the previous delivered one. Summed over a file it is the
# total lost, so a fleet can reconcile reports with usage counters (docs/spec/diagnosis-json.md).
DROPPED_FIELD = "reports_dropped_before"


class ReportSink(Protocol):
    """Where the :class:`Reporter`'s worker delivers events. ``write`` may block or raise; the
    reporter isolates the request path from both."""

    def write(self, event: Mapping[str, Any]) -> None: ...

    def flush(self, timeout: float) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ReporterCounters:
    """A consistent snapshot of a reporter's counters, for usage documents and tests."""

    accepted: int  # taken into the queue
    delivered: int  # through every sink (a sink's failure still counts as delivered)
    dropped: int  # refused: queue full, or reported after close
    errors: int  # sink writes, flushes and closes that raised


class Reporter:
    """A bounded queue of reports and one daemon thread that delivers them to the sinks.

    :meth:`report` is the only method the request path calls, and it neither blocks nor raises:
    a full queue (sinks slower than failures arrive, a Sentry outage) drops the event and counts
    it in :attr:`dropped`; a sink that raises is counted in :attr:`errors` and the worker carries
    on with the next sink and the next event. The thread is a daemon so that a forgotten
    :meth:`close` never keeps an application from exiting.

    A :class:`~tlsdoctor.client.report.event.PendingReport` is built (shaped and scrubbed) on the
    worker thread, not on the caller's: the request path pays for a queue put, whatever the
    server's error text holds. Every delivered event gets :data:`DROPPED_FIELD`.
    """

    _STOP = object()

    def __init__(self, sinks: Sequence[ReportSink], *, max_queue: int = 1000, name: str = "tlsdoctor-reporter") -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.sinks = list(sinks)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._state = threading.Condition()
        self._pending = 0  # accepted by report() and not yet through every sink
        self._closed = False
        self.dropped = 0
        self.errors = 0
        self.delivered = 0
        self.accepted = 0
        self._dropped_reported = 0  # drops already written into a delivered event
        self._worker = threading.Thread(target=self._run, name=name, daemon=True)
        self._worker.start()

    def report(self, event: Mapping[str, Any] | PendingReport) -> bool:
        """Hand ``event`` (a built event or a :class:`PendingReport`) to the worker; False (and
        counted in :attr:`dropped`) if it was not accepted. The reporter takes ownership: do not
        mutate ``event`` afterwards."""
        try:
            with self._state:
                if self._closed:
                    self.dropped += 1
                    return False
                self._pending += 1
            try:
                self._queue.put_nowait(event)
                with self._state:
                    self.accepted += 1
            except queue.Full:
                with self._state:
                    self._pending -= 1
                    self.dropped += 1
                    self._state.notify_all()
                return False
            return True
        except Exception:  # noqa: BLE001 - a report must never fail the request it describes
            return False

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if event is self._STOP:
                return
            failures = 0
            try:
                event = self._prepare(event)
            except Exception:  # noqa: BLE001 - an event that cannot be built is counted, not delivered
                event, failures = None, 1
            for sink in self.sinks if event is not None else ():
                try:
                    sink.write(event)
                except Exception:  # noqa: BLE001 - counted, never propagated
                    failures += 1
            with self._state:
                self.errors += failures
                self.delivered += 1
                self._pending -= 1
                self._state.notify_all()

    def _prepare(self, event: Mapping[str, Any] | PendingReport) -> dict[str, Any]:
        built = event.build() if isinstance(event, PendingReport) else dict(event)
        with self._state:
            built[DROPPED_FIELD] = self.dropped - self._dropped_reported
            self._dropped_reported = self.dropped
        return built

    def counters(self) -> ReporterCounters:
        """The counters as one consistent snapshot (the usage/1 writer reads ``dropped`` here)."""
        with self._state:
            return ReporterCounters(accepted=self.accepted, delivered=self.delivered, dropped=self.dropped,
                                    errors=self.errors)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait at most ``timeout`` seconds until every accepted event went through the sinks
        (and the sinks flushed); True if that happened in time."""
        deadline = time.monotonic() + timeout
        with self._state:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._state.wait(remaining)
        for sink in self.sinks:
            try:
                sink.flush(max(0.0, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001
                with self._state:
                    self.errors += 1
        return True

    def close(self, timeout: float = 5.0) -> bool:
        """Stop accepting reports, deliver what is queued (at most ``timeout`` seconds), stop the
        worker and close the sinks. True if everything queued was delivered."""
        deadline = time.monotonic() + timeout
        with self._state:
            already_closed, self._closed = self._closed, True
        if already_closed:
            return not self._worker.is_alive()
        drained = self.flush(timeout)
        try:
            self._queue.put(self._STOP, timeout=max(0.0, deadline - time.monotonic()))
        except queue.Full:
            return False  # the worker is stuck in a sink; it is a daemon and dies with the process
        self._worker.join(max(0.0, deadline - time.monotonic()))
        if self._worker.is_alive():
            return False
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:  # noqa: BLE001
                with self._state:
                    self.errors += 1
        return drained

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

"""Shadow validation: now and then, replay a request on the other stack and compare.

Every Nth idempotent request is sent again on the other stack, in the background; the
verdict (agree or differ, with both outcomes) is reported. At most one validation runs
at a time: a new one is *skipped*, not queued, while one runs, so that validation can
never pile up work (the field case: a validation helper launched too often caused
timeouts of its own).
"""

from __future__ import annotations

import itertools
import threading
from typing import Callable


class ShadowValidator:
    def __init__(self, every: int = 100) -> None:
        self.every = every
        self._counter = itertools.count(1)
        self._running = threading.Lock()
        self._stats_lock = threading.Lock()
        self.started = 0
        self.skipped = 0
        self.in_flight = 0
        self.max_in_flight = 0  # what tests assert: never above 1

    def maybe_run(self, idempotent: bool, job: Callable[[], None]) -> bool:
        """Start ``job`` in the background if this request is due and none is running."""
        return self.due(idempotent) and self.start(job)

    def due(self, idempotent: bool) -> bool:
        """Whether this request is the Nth: asked on every request, so no lock. ``next`` on an
        ``itertools.count`` is one C call, atomic under the GIL; where it is not, a race costs
        one validation more or less, never a request."""
        return self.every > 0 and idempotent and next(self._counter) % self.every == 0

    def start(self, job: Callable[[], None]) -> bool:
        """Run ``job`` in the background unless a validation is running (then it is skipped)."""
        if not self._running.acquire(blocking=False):
            with self._stats_lock:
                self.skipped += 1
            return False
        with self._stats_lock:
            self.started += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

        def run() -> None:
            try:
                job()
            except Exception:  # noqa: BLE001 - a validation must never surface anywhere
                pass
            finally:
                with self._stats_lock:
                    self.in_flight -= 1
                self._running.release()

        threading.Thread(target=run, name="tlsdoctor-validation", daemon=True).start()
        return True

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """For tests and shutdown: wait (bounded) until no validation runs."""
        if self._running.acquire(timeout=timeout):
            self._running.release()
            return True
        return False

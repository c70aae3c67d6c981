"""An HTTP sink: report and usage lines POSTed in batches to a log collector.

Fleets rarely read files off users' machines; they run a collector (Vector's ``http_server``
source, Fluent Bit's ``http`` input, Logstash's ``http`` input) and point agents at it. This sink
sends what :class:`~tlsdoctor.client.report.Reporter` and
:class:`~tlsdoctor.client.usage.UsageWriter` produce to such a URL, as **NDJSON** bodies
(``Content-Type: application/x-ndjson``, one JSON document per line), which all three accept
(see docs/fleet.md for their configuration).

The design follows fleet agents (Fluent Bit, the Elastic and Datadog agents):

- **Bounded.** At most ``max_queue`` report lines wait in memory, including the batch being
  sent. A report arriving when the queue is full is dropped and counted, and the next usage
  document carries the count (``reports.dropped``). Usage documents have a reserve of their own
  (``max_usage_queue``, 41 days of hourly documents by default): a burst of reports must not
  push out the one line that says how many reports were lost. A usage document dropped all the
  same shows as a ``seq`` gap. The collector can thus reconcile what was lost instead of
  guessing.
- **Never in the way.** :meth:`write` only appends to the queue under a lock; one daemon thread
  does all network I/O, with a timeout on every request. A request of the application is never
  blocked or failed by the collector.
- **Exponential backoff with full jitter** (AWS Architecture Blog, "Exponential Backoff and
  Jitter", 2015): after the k-th consecutive failure the worker sleeps a uniform random time in
  ``[0, min(cap, base * 2**(k-1))]``. Full jitter spreads a fleet's retries after a collector
  outage, so that ten thousand agents do not come back in lockstep. A batch leaves the queue
  only when the collector accepted it (2xx); 408, 429 and 5xx and transport errors are retried;
  other 4xx answers mean the batch itself is refused, so it is dropped (counted), not retried
  forever.
- Verification is always on (OS trust store through ``truststore``, like the rollout payload
  fetch, so a collector behind a TLS-inspecting proxy is still reachable where the OS trusts it).
"""

from __future__ import annotations

import collections
import json
import random
import threading
import time
from collections.abc import Mapping
from typing import Any

from tlsdoctor.redact import redact_input

RETRYABLE_STATUS = frozenset({408, 429}) | frozenset(range(500, 600))
CONTENT_TYPE = "application/x-ndjson"


def _kind(event: Mapping[str, Any]) -> str:
    return "usage" if event.get("schema") == "tlsdoctor.usage/1" else "reports"


class HttpSink:
    """POST batches of JSON lines to ``url``; a ``ReportSink`` for the reporter and usage writer."""

    def __init__(
        self,
        url: str,
        *,
        max_queue: int = 10_000,
        max_usage_queue: int = 1000,
        batch_size: int = 500,
        flush_interval: float = 5.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        timeout: float = 5.0,
        headers: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme not in ("http", "https"):
            raise ValueError(f"collector URL must be http(s), not {redact_input(url)!r}")
        if max_queue < 1 or batch_size < 1 or max_usage_queue < 1:
            raise ValueError("max_queue, max_usage_queue and batch_size must be at least 1")
        if not (backoff_base > 0 and backoff_cap >= backoff_base and timeout > 0 and flush_interval >= 0):
            raise ValueError("backoff_base, timeout must be positive and backoff_cap >= backoff_base")
        self.url = url
        self.limits = {"reports": max_queue, "usage": max_usage_queue}
        self._queued = {"reports": 0, "usage": 0}
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.timeout = timeout
        self.headers = {"Content-Type": CONTENT_TYPE, **(headers or {})}
        self._rng = rng or random.Random()
        self._queue: collections.deque[tuple[str, bytes]] = collections.deque()
        self._state = threading.Condition()
        self._in_flight = 0  # lines of the batch being sent (still in the queue)
        self._stop = threading.Event()
        self._dropped: dict[str, int] = {"reports": 0, "usage": 0}
        self.dropped_total: dict[str, int] = {"reports": 0, "usage": 0}
        self.sent = 0  # lines the collector accepted
        self.attempts = 0  # POSTs made
        self.failures = 0  # POSTs that failed (retried or refused)
        self.backoffs: collections.deque[float] = collections.deque(maxlen=1000)  # delays chosen, seconds
        self.last_error: str | None = None
        self._client: Any = None
        self._worker = threading.Thread(target=self._run, name="tlsdoctor-http-sink", daemon=True)
        self._worker.start()

    # -- the producer side: never blocks on the network ----------------------------------------

    def write(self, event: Mapping[str, Any]) -> None:
        kind = _kind(event)
        try:
            line = json.dumps(event, separators=(",", ":"), allow_nan=False).encode() + b"\n"
        except (TypeError, ValueError):
            line = None
        with self._state:
            if line is None or self._queued[kind] >= self.limits[kind] or self._stop.is_set():
                self._dropped[kind] += 1
                self.dropped_total[kind] += 1
                return
            self._queue.append((kind, line))
            self._queued[kind] += 1
            if len(self._queue) >= self.batch_size:
                self._state.notify_all()

    def take_dropped(self) -> dict[str, int]:
        """Lines dropped since the last call, by kind (``reports``, ``usage``): what the next
        usage document reports."""
        with self._state:
            taken, self._dropped = self._dropped, {"reports": 0, "usage": 0}
            return taken

    @property
    def queued(self) -> int:
        with self._state:
            return len(self._queue)

    def flush(self, timeout: float = 5.0) -> bool:
        """Ask the worker to send now; wait (at most ``timeout``) until the queue is empty."""
        deadline = time.monotonic() + timeout
        with self._state:
            self._state.notify_all()
            while self._queue:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._state.wait(min(remaining, 0.05))
                self._state.notify_all()
        return True

    def close(self, timeout: float = 5.0) -> bool:
        """Send what is queued (bounded by ``timeout``), then stop; True when nothing was left."""
        drained = self.flush(timeout)
        self._stop.set()
        with self._state:
            self._state.notify_all()
        self._worker.join(timeout)
        with self._state:
            left = len(self._queue)
            if left:
                for kind, _ in self._queue:
                    self._dropped[kind] += 1
                    self.dropped_total[kind] += 1
                self._queue.clear()
                self._queued = {"reports": 0, "usage": 0}
        if self._client is not None:
            self._client.close()
        return drained and not left

    # -- the worker -------------------------------------------------------------------------------

    def backoff(self, failures: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(failures-1))]."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** min(failures - 1, 62))
        return self._rng.uniform(0.0, ceiling)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            with self._state:
                if len(self._queue) < self.batch_size:
                    self._state.wait(self.flush_interval if self.flush_interval > 0 else None)
                if self._stop.is_set():
                    return
                batch = list(self._queue)[: self.batch_size]
            if not batch:
                continue
            outcome = self._post(b"".join(line for _, line in batch))
            if outcome == "retry":
                failures += 1
                delay = self.backoff(failures)
                self.backoffs.append(delay)
                if self._stop.wait(delay):
                    return
                continue
            failures = 0
            with self._state:
                for _ in batch:
                    kind, _line = self._queue.popleft()
                    self._queued[kind] -= 1
                    if outcome == "refused":
                        self._dropped[kind] += 1
                        self.dropped_total[kind] += 1
                if outcome == "sent":
                    self.sent += len(batch)
                self._state.notify_all()

    def _http(self) -> Any:
        if self._client is None:
            import ssl

            import httpx

            verify: ssl.SSLContext | bool = True
            try:
                import truststore

                verify = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            except Exception:  # noqa: BLE001 - truststore unusable here: certifi, still verified
                verify = True
            self._client = httpx.Client(verify=verify, timeout=self.timeout, follow_redirects=False,
                                        trust_env=True)
        return self._client

    def _post(self, body: bytes) -> str:
        """``sent``, ``retry`` or ``refused``."""
        self.attempts += 1
        try:
            response = self._http().post(self.url, content=body, headers=self.headers)
        except Exception as exc:  # noqa: BLE001 - any transport failure is retried later
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            return "retry"
        if 200 <= response.status_code < 300:
            self.last_error = None
            return "sent"
        self.failures += 1
        self.last_error = f"HTTP {response.status_code}"
        return "retry" if response.status_code in RETRYABLE_STATUS else "refused"

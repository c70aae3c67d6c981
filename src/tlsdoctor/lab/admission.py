"""Which connections the lab keeps when it is full: it sheds abusers, not clients.

A cap on concurrent connections keeps a flood from using up file descriptors, but a cap
alone sheds the wrong side: once 512 slowloris connections hold every slot, each new
client is refused, and a per-connection deadline of minutes keeps the abusers in place
(issue 12: 2,000 stalled connections failed legitimate requests for ~15 s; 520
connections sending a byte every 10 s kept the lab refusing for a whole minute).

So every connection is tracked in a *phase*, and the limits are per phase and per source
(the way nginx's ``client_header_timeout`` and Apache's ``mod_reqtimeout`` bound the
parts of a connection that do no work):

- ``handshake``: accepted, no TLS handshake (or first request, on plain ports) completed
  yet. Bounded by ``handshake_timeout`` (seconds, not minutes).
- ``idle``: handshake done (or a response sent) and the next request not complete yet.
  Bounded by ``idle_timeout``; a request trickled a byte at a time stays ``idle``.
- ``busy``: a request is being answered, or a tunnel relays. Bounded only by the lab's
  I/O timeout and connection deadline, as before.

When the lab is full (in total, or for one source address), a new connection does not
get refused: the stalest connection that does no work (``handshake`` or ``idle``, oldest
first, from the same source when that source is the one over its cap) is closed to make
room. A client that completes its handshake in milliseconds is never the stalest;
connections that stall are. Only when every slot is ``busy`` is the newcomer refused.

Endpoints report progress with :func:`progress`; the runner sets the current connection
in a context variable, so endpoints need no extra argument and code outside the lab
(where no connection is tracked) calls it for nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from enum import Enum


class Phase(str, Enum):
    HANDSHAKE = "handshake"
    IDLE = "idle"
    BUSY = "busy"


@dataclass(frozen=True)
class Limits:
    """The lab's admission limits; see the module docstring for what each bounds."""

    max_connections: int = 512
    max_per_source: int = 384  # below the total: one source cannot take every slot
    handshake_timeout: float = 5.0
    idle_timeout: float = 15.0


@dataclass(eq=False)
class Tracked:
    """One admitted connection: where it comes from, what it is doing, since when."""

    source: str
    task: asyncio.Task[None] | None
    transport: asyncio.BaseTransport
    phase: Phase = Phase.HANDSHAKE
    since: float = field(default_factory=time.monotonic)
    evicted: bool = False
    admission: Admission | None = field(default=None, repr=False)


_current: contextvars.ContextVar[Tracked | None] = contextvars.ContextVar("tlsdoctor_lab_connection", default=None)


def progress(phase: Phase) -> None:
    """The current connection moved on: handshake done, request read, response sent.

    Called by endpoints and the HTTP responders; a no-op outside a lab connection.
    """
    tracked = _current.get()
    if tracked is not None and tracked.admission is not None:
        tracked.admission.move(tracked, phase)


class Admission:
    """The table of live connections, ordered by staleness within each phase.

    Each phase keeps an insertion-ordered dict; a connection that moves is re-inserted at
    the end, so the stalest of a phase is always first and both eviction and expiry cost
    only the connections they close.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._phases: dict[Phase, OrderedDict[Tracked, None]] = {p: OrderedDict() for p in Phase}
        self._per_source: Counter[str] = Counter()
        self.shed = 0  # newcomers refused because every slot was busy
        self.evicted = 0  # connections closed to make room, or past their phase's timeout

    def __len__(self) -> int:
        return sum(len(d) for d in self._phases.values())

    def count(self, phase: Phase) -> int:
        return len(self._phases[phase])

    def admit(self, source: str, task: asyncio.Task[None] | None, transport: asyncio.BaseTransport) -> Tracked | None:
        """Track a new connection, making room if needed; None if it must be refused."""
        if self._per_source[source] >= self.limits.max_per_source:
            if not self._evict_stalest(source):
                self.shed += 1
                return None
        if len(self) >= self.limits.max_connections:
            if not self._evict_stalest(None):
                self.shed += 1
                return None
        tracked = Tracked(source, task, transport, admission=self)
        self._phases[Phase.HANDSHAKE][tracked] = None
        self._per_source[source] += 1
        _current.set(tracked)
        return tracked

    def move(self, tracked: Tracked, phase: Phase) -> None:
        table = self._phases[tracked.phase]
        if tracked in table:
            del table[tracked]
            tracked.phase, tracked.since = phase, time.monotonic()
            self._phases[phase][tracked] = None

    def release(self, tracked: Tracked) -> None:
        """Forget a connection; releasing one already released (evicted) does nothing."""
        table = self._phases[tracked.phase]
        if tracked not in table:
            return
        del table[tracked]
        self._per_source[tracked.source] -= 1
        if not self._per_source[tracked.source]:
            del self._per_source[tracked.source]

    def expire(self, now: float | None = None) -> int:
        """Close every connection past its phase's timeout; how many were closed."""
        now = time.monotonic() if now is None else now
        closed = 0
        for phase, limit in ((Phase.HANDSHAKE, self.limits.handshake_timeout), (Phase.IDLE, self.limits.idle_timeout)):
            table = self._phases[phase]
            for _ in range(len(table)):  # oldest first: stop at the first one still in time
                tracked = next(iter(table))
                if now - tracked.since < limit:
                    break
                self._close(tracked)
                closed += 1
        return closed

    def _evict_stalest(self, source: str | None) -> bool:
        candidates = []
        for phase in (Phase.HANDSHAKE, Phase.IDLE):
            for tracked in self._phases[phase]:  # stalest first; on loopback the first matches
                if source is None or tracked.source == source:
                    candidates.append(tracked)
                    break
        if not candidates:
            return False
        self._close(min(candidates, key=lambda t: t.since))
        return True

    def _close(self, tracked: Tracked) -> None:
        """Abort (RST, no lingering) and cancel; the runner's handler releases the slot."""
        self.release(tracked)
        self.evicted += 1
        tracked.evicted = True
        tracked.transport.abort()
        if tracked.task is not None:
            tracked.task.cancel()

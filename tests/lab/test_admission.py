"""The admission table's choices, as data: who is closed to make room, who times out.

The slowloris tests (test_slowloris.py) prove the behaviour with real sockets; these pin
the rules: stalest first, same source first, busy connections never, phases' timeouts.
"""

from __future__ import annotations

from dataclasses import dataclass

from tlsdoctor.lab.admission import Admission, Limits, Phase


@dataclass
class Transport:
    """Only what the table calls on a transport: abort() (what it does to a real one is RST)."""

    aborted: bool = False

    def abort(self) -> None:
        self.aborted = True


def admit(table: Admission, source: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    transport = Transport()
    return table.admit(source, None, transport), transport  # type: ignore[arg-type]


def test_full_table_closes_the_stalest_idle_or_handshaking_connection() -> None:
    table = Admission(Limits(max_connections=3, max_per_source=3))
    (first, t1), (second, t2), (third, t3) = admit(table), admit(table), admit(table)
    table.move(first, Phase.IDLE)  # progress refreshes: `first` is now the freshest
    newcomer, _ = admit(table)
    assert newcomer is not None and t2.aborted and not t1.aborted and not t3.aborted
    assert second.evicted and len(table) == 3


def test_busy_connections_are_never_evicted_and_newcomers_are_shed_instead() -> None:
    table = Admission(Limits(max_connections=2, max_per_source=2))
    for tracked, _ in (admit(table), admit(table)):
        table.move(tracked, Phase.BUSY)
    newcomer, _ = admit(table)
    assert newcomer is None and table.shed == 1 and table.evicted == 0


def test_a_source_over_its_cap_makes_room_from_its_own_connections() -> None:
    table = Admission(Limits(max_connections=10, max_per_source=2))
    other, t_other = admit(table, "127.0.0.2")
    _, t_a = admit(table, "127.0.0.1")
    admit(table, "127.0.0.1")
    admit(table, "127.0.0.1")  # over 127.0.0.1's cap: its stalest goes, not 127.0.0.2's older one
    assert t_a.aborted and not t_other.aborted and not other.evicted


def test_phase_timeouts() -> None:
    table = Admission(Limits(handshake_timeout=5, idle_timeout=15))
    stalled, t_stalled = admit(table)
    idle, t_idle = admit(table)
    busy, t_busy = admit(table)
    table.move(idle, Phase.IDLE)
    table.move(busy, Phase.BUSY)
    now = max(t.since for t in (stalled, idle, busy))
    assert table.expire(now + 1) == 0
    assert table.expire(now + 6) == 1 and t_stalled.aborted
    assert table.expire(now + 16) == 1 and t_idle.aborted
    assert table.expire(now + 10_000) == 0 and not t_busy.aborted  # the I/O timeout bounds busy ones


def test_release_is_idempotent() -> None:
    table = Admission(Limits())
    tracked, _ = admit(table)
    table.release(tracked)
    table.release(tracked)
    assert len(table) == 0

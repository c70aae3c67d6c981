"""Every question ``tlsdoctor fleet`` asks of a fleet, written once as an Ibis expression.

Each function takes the layout tables (:class:`~tlsdoctor.fleet.engine.Tables`) and a
:class:`Window` and returns an expression; :class:`~tlsdoctor.fleet.engine.Engine` compiles it to
DuckDB or Spark. Nothing here touches an engine, so a query cannot differ between engines
except through Ibis's compilers (which the DuckDB-vs-Spark test would catch).

Conventions: a *failure report* is a report of kind ``failure`` or ``fallback`` (``validation``
and ``sample`` reports describe successes); it is *visible* when no fallback rescued it (kind
``failure``). An install is *active* on a stack when its usage documents count requests there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FAILURE_KINDS = ("failure", "fallback")
#: Environment facets whose values may concentrate a cause (all in both usage and reports).
FACETS = ("proxy_configured", "os", "app_version", "libcurl")


@dataclass(frozen=True)
class Window:
    """Days ``since``..``until`` (day numbers, inclusive; None for open ends)."""

    since: int | None = None
    until: int | None = None

    def apply(self, table: Any) -> Any:
        if self.since is not None:
            table = table.filter(table.day_n >= self.since)
        if self.until is not None:
            table = table.filter(table.day_n <= self.until)
        return table


def failure_reports(tables: Any, window: Window) -> Any:
    r = window.apply(tables.reports)
    return r.filter(r.kind.isin(FAILURE_KINDS) & r.code.notnull() & (r.code != "ok"))


def active_stacks(tables: Any, window: Window) -> Any:
    s = window.apply(tables.usage_stacks)
    return s.filter(s.requests > 0)


# -- causes ---------------------------------------------------------------------------------------


def causes(tables: Any, window: Window) -> Any:
    """Per (code, stack): installs affected, events, what the user saw, first and last seen."""
    r = failure_reports(tables, window)
    return r.group_by([r.code, r.stack]).aggregate(
        installs=r.install.nunique(),
        events=r.count(),
        visible_events=r.visible.cast("int64").sum(),
        visible_installs=r.install.nunique(where=r.visible),
        first_seen=r.ts.min(),
        last_seen=r.ts.max(),
    )


def active_installs(tables: Any, window: Window) -> Any:
    """Per stack: installs that made requests on it, and how many requests (the denominators)."""
    s = active_stacks(tables, window)
    return s.group_by(s.stack).aggregate(active_installs=s.install.nunique(), requests=s.requests.sum())


def counted_failures(tables: Any, window: Window) -> Any:
    """Per (code, stack): failures as usage documents counted them (complete, unlike reports)."""
    f = window.apply(tables.usage_failures)
    return f.group_by([f.code, f.stack]).aggregate(counted_events=f.n.sum(), counted_installs=f.install.nunique())


def daily_causes(tables: Any, window: Window) -> Any:
    r = failure_reports(tables, window)
    return r.group_by([r.code, r.stack, r.day]).aggregate(events=r.count(), installs=r.install.nunique())


def facet_affected(tables: Any, window: Window, facet: str) -> Any:
    r = failure_reports(tables, window)
    return r.group_by([r.code, r.stack, r[facet].cast("string").name("value")]).aggregate(
        installs=r.install.nunique())


def facet_active(tables: Any, window: Window, facet: str) -> Any:
    s = active_stacks(tables, window)
    return s.group_by([s.stack, s[facet].cast("string").name("value")]).aggregate(installs=s.install.nunique())


def interceptors(tables: Any, window: Window) -> Any:
    """For ``trust.interception``: the intercepting CA names reports carry, by installs."""
    r = failure_reports(tables, window)
    r = r.filter((r.code == "trust.interception") & r.interceptor.notnull())
    return r.group_by([r.stack, r.interceptor]).aggregate(installs=r.install.nunique())


# -- the timeline (the HTML report) ------------------------------------------------------------------


def daily_active(tables: Any, window: Window) -> Any:
    s = active_stacks(tables, window)
    return s.group_by([s.day, s.stack]).aggregate(active_installs=s.install.nunique())


def daily_failing(tables: Any, window: Window) -> Any:
    r = failure_reports(tables, window)
    return r.group_by([r.day, r.stack]).aggregate(
        failing_installs=r.install.nunique(), visible_installs=r.install.nunique(where=r.visible))


# -- the gate -----------------------------------------------------------------------------------------


def day_range(tables: Any, window: Window) -> Any:
    u = window.apply(tables.usage)
    return u.aggregate(first_day=u.day_n.min(), last_day=u.day_n.max(), documents=u.count())


def completeness(tables: Any, window: Window) -> Any:
    """Usage documents present vs expected from each install's ``seq`` range; reports dropped."""
    u = window.apply(tables.usage)
    per_install = u.group_by(u.install).aggregate(
        present=u.seq.nunique(), low=u.seq.min(), high=u.seq.max(),
        written=u.reports_written.sum(), dropped=u.reports_dropped.sum(),
    )
    return per_install.aggregate(
        installs=per_install.count(),
        present=per_install.present.sum(),
        expected=(per_install.high - per_install.low + 1).sum(),
        reports_written=per_install.written.sum(),
        reports_dropped=per_install.dropped.sum(),
    )


def gate_units(tables: Any, window: Window, cohorts: tuple[str, str], horizon: int, last_day: int) -> Any:
    """One row per install (the randomised unit) whose first ``horizon`` days in its cohort are in.

    An install's cohort is the one of its latest usage document (a coverage step moves installs
    from control to treatment, never back, with the same seed); its observation window starts
    on its first day in that cohort. Every unit is observed for the same number of days, so a
    unit's outcome never changes after it enters: the stream of units is what the sequential
    test consumes (see :mod:`tlsdoctor.fleet.sequential`)."""
    u = window.apply(tables.usage)
    u = u.filter(u.cohort_value.isin(cohorts))
    latest = u.group_by(u.install).aggregate(cohort=u.cohort_value.argmax(u.seq))
    mine = u.join(latest, "install").filter(lambda t: t.cohort_value == t.cohort)
    start = mine.group_by([mine.install, mine.cohort]).aggregate(d0=mine.day_n.min())
    start = start.filter(start.d0 + (horizon - 1) <= last_day)
    inside = mine.join(start, ["install", "cohort"]).filter(lambda t: t.day_n < t.d0 + horizon)
    return inside.group_by([inside.install, inside.cohort, inside.d0]).aggregate(
        visible=inside.visible.sum(), failures=inside.failures.sum(), requests=inside.requests.sum())


def gate_cohorts(units: Any) -> Any:
    """Per cohort: units, units with a user-visible failure, failures and requests."""
    return units.group_by(units.cohort).aggregate(
        installs=units.count(),
        failing=(units.visible > 0).cast("int64").sum(),
        failures=units.failures.sum(),
        requests=units.requests.sum(),
    )


def gate_codes(tables: Any, window: Window, units: Any, horizon: int) -> Any:
    """Per (cohort, code): units that saw that code (visibly) inside their observation window."""
    r = failure_reports(tables, window)
    r = r.filter(r.visible)
    joined = r.join(units, "install").filter(lambda t: (t.day_n >= t.d0) & (t.day_n < t.d0 + horizon))
    return joined.group_by([joined.cohort, joined.code]).aggregate(installs=joined.install.nunique())

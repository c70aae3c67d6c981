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
# The causes document is ONE query (causes_document): each table is scanned once. What costs is
# counting distinct installs (an engine hashes every install id once per count), so the counts
# are arranged to hash install ids as few times as possible:
#
# - each big table is first folded to one row per (keys, install, environment values): the
#   install's combinations of facet values (almost always one per install);
# - that is folded again to one row per (keys, install): the install count is then a COUNT(*)
#   and "how many combinations" tells the installs of one combination (nearly all) from those of
#   several (an app upgrade, a proxy turned on mid-window);
# - a facet value's installs are a COUNT(*) over the one-combination installs plus an exact
#   distinct count over the few others (an anti-join and a semi-join against that small set).
#
# So every count stays exact, and the usage side hashes install ids about three times where
# five COUNT(DISTINCT) queries did five (bench/README.md has the figures).

#: The values a cause's affected installs are broken down by: the facets, and for
#: ``trust.interception`` the name of the CA that signed the presented chain.
BREAKDOWNS = (*FACETS, "interceptor")


def _held(combos: Any, per_install: Any, keys: list[str], names: tuple[str, ...]) -> Any:
    """Per (keys, facet, value): distinct installs that held that value (null included).

    ``combos`` has one row per (keys, install, values of ``names``); ``per_install`` one row per
    (keys, install) with ``combos``, how many rows of ``combos`` it folds."""
    import ibis

    several = per_install.filter(per_install.combos > 1).select(*keys, "install")
    single = combos.anti_join(several, [*keys, "install"])
    mixed = combos.semi_join(several, [*keys, "install"])
    counted = []
    for name in names:
        value = single[name].cast("string")
        counted.append(single.group_by([*(single[k] for k in keys), ibis.literal(name).name("facet"),
                                        value.name("value")]).aggregate(installs=single.count()))
        held = mixed.select(*keys, "install", facet=ibis.literal(name), value=mixed[name].cast("string")).distinct()
        counted.append(held.group_by([*(held[k] for k in keys), held.facet, held.value]).aggregate(
            installs=held.count()))
    t = counted[0].union(*counted[1:], distinct=False)
    return t.group_by([*(t[k] for k in keys), t.facet, t.value]).aggregate(installs=t.installs.sum())


def causes_document(tables: Any, window: Window) -> Any:
    """Every figure of ``tlsdoctor.fleet-causes/1`` as one relation, its rows told apart by ``part``:

    - ``cause``: per (code, stack): installs, events, visible_events, visible_installs,
      first_seen, last_seen;
    - ``daily``: per (code, stack, day): events, installs;
    - ``affected``: per (code, stack, facet, value): installs (facet ``interceptor`` included);
    - ``active``: per stack: installs (active installs), requests;
    - ``base``: per (stack, facet, value): active installs;
    - ``counted``: per (code, stack): events as usage documents counted them.
    """
    r = failure_reports(tables, window)
    keys = ["code", "stack"]
    combos = r.group_by([r.code, r.stack, r.install, *(r[name] for name in BREAKDOWNS)]).aggregate(
        events=r.count(), visible_events=r.visible.cast("int64").sum(), first_seen=r.ts.min(), last_seen=r.ts.max())
    failing = combos.group_by([combos.code, combos.stack, combos.install]).aggregate(
        combos=combos.count(), events=combos.events.sum(), visible_events=combos.visible_events.sum(),
        first_seen=combos.first_seen.min(), last_seen=combos.last_seen.max())
    cause = failing.group_by([failing.code, failing.stack]).aggregate(
        installs=failing.count(), events=failing.events.sum(), visible_events=failing.visible_events.sum(),
        visible_installs=(failing.visible_events > 0).cast("int64").sum(),
        first_seen=failing.first_seen.min(), last_seen=failing.last_seen.max())
    daily = r.group_by([r.code, r.stack, r.day]).aggregate(events=r.count(), installs=r.install.nunique())
    affected = _held(combos, failing, keys, BREAKDOWNS)

    s = active_stacks(tables, window)
    held = s.group_by([s.stack, s.install, *(s[name] for name in FACETS)]).aggregate(requests=s.requests.sum())
    active = held.group_by([held.stack, held.install]).aggregate(combos=held.count(), requests=held.requests.sum())
    totals = active.group_by(active.stack).aggregate(installs=active.count(), requests=active.requests.sum())
    base = _held(held, active, ["stack"], FACETS)

    f = window.apply(tables.usage_failures)
    counted = f.group_by([f.code, f.stack]).aggregate(events=f.n.sum())
    parts = [_part("cause", cause), _part("daily", daily), _part("affected", affected),
             _part("active", totals), _part("base", base), _part("counted", counted)]
    return parts[0].union(*parts[1:], distinct=False)


#: The columns of causes_document's rows (a part leaves the ones it has not null).
DOCUMENT_COLUMNS = {
    "code": "string", "stack": "string", "day": "string", "facet": "string", "value": "string",
    "installs": "int64", "events": "int64", "visible_events": "int64", "visible_installs": "int64",
    "first_seen": "string", "last_seen": "string", "requests": "int64",
}


def _part(name: str, table: Any) -> Any:
    import ibis

    return table.select(part=ibis.literal(name), **{
        column: table[column].cast(dtype) if column in table.columns else ibis.null().cast(dtype)
        for column, dtype in DOCUMENT_COLUMNS.items()})


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

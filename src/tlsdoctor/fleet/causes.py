"""``tlsdoctor fleet causes`` → ``tlsdoctor.fleet-causes/1``: which root causes a fleet meets, where.

Per (finding code, stack): distinct installs affected, events, the share of that stack's active
installs, what the user saw (events and installs no fallback rescued), first and last seen,
daily counts, and the environment facets that concentrate it (a facet value held by at least 20% of the affected installs and at
least 1.5 times as common among them as among the stack's active installs: its *lift*). Causes
met on one stack only are listed apart: those are what a stack change brings or removes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from tlsdoctor.fleet.engine import Engine, Tables
from tlsdoctor.fleet import queries
from tlsdoctor.fleet.queries import FACETS, Window

CAUSES_SCHEMA = "tlsdoctor.fleet-causes/1"
#: A facet value is reported when it holds at least this share of the affected installs.
FACET_MIN_SHARE = 0.2
#: ... and is at least this many times as common among them as among the stack's active installs.
FACET_MIN_LIFT = 1.5
FACET_TOP = 3


def _rate(numerator: float, denominator: float) -> float | None:
    return None if not denominator else numerator / denominator


def fleet_causes(engine: Engine, tables: Tables, window: Window = Window()) -> dict[str, Any]:
    """The ``tlsdoctor.fleet-causes/1`` document (see docs/spec/diagnosis-json.md)."""
    active = {row["stack"]: row for row in engine.rows(queries.active_installs(tables, window))}
    counted = {(row["code"], row["stack"]): row for row in engine.rows(queries.counted_failures(tables, window))}
    daily: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in engine.rows(queries.daily_causes(tables, window)):
        daily[(row["code"], row["stack"])].append({"day": row["day"], "events": row["events"],
                                                   "installs": row["installs"]})
    facets = _facets(engine, tables, window, active)
    interceptors: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in engine.rows(queries.interceptors(tables, window)):
        interceptors[row["stack"]].append({"name": row["interceptor"], "installs": row["installs"]})

    causes = []
    for row in engine.rows(queries.causes(tables, window)):
        key = (row["code"], row["stack"])
        stack_active = active.get(row["stack"], {}).get("active_installs", 0)
        usage_counted = counted.get(key, {})
        cause = {
            "code": row["code"],
            "stack": row["stack"],
            "installs": row["installs"],
            "events": row["events"],
            "share_of_active_installs": _rate(row["installs"], stack_active),
            "visible_events": row["visible_events"],
            "visible_installs": row["visible_installs"],
            "rescued_events": row["events"] - row["visible_events"],
            "counted_by_usage": usage_counted.get("counted_events", 0),
            "first_seen": row["first_seen"],
            "last_seen": row["last_seen"],
            "facets": facets.get(key, []),
            "daily": sorted(daily[key], key=lambda d: d["day"]),
        }
        if row["code"] == "trust.interception" and interceptors.get(row["stack"]):
            cause["interceptors"] = sorted(interceptors[row["stack"]], key=lambda d: (-d["installs"], d["name"]))
        causes.append(cause)
    causes.sort(key=lambda c: (-c["installs"], -c["events"], c["code"], c["stack"]))

    stacks_by_code: dict[str, set[str]] = defaultdict(set)
    for cause in causes:
        stacks_by_code[cause["code"]].add(cause["stack"])
    active_stack_names = {name for name, row in active.items() if row["active_installs"]}
    one_stack = sorted(
        ({"code": code, "stack": next(iter(stacks))} for code, stacks in stacks_by_code.items()
         if len(stacks) == 1 and len(active_stack_names) > 1),
        key=lambda d: (d["code"], d["stack"]),
    )
    return {
        "schema": CAUSES_SCHEMA,
        "window": window_fields(engine, tables, window),
        "stacks": {name: {"active_installs": row["active_installs"], "requests": row["requests"]}
                   for name, row in sorted(active.items())},
        "causes": causes,
        "one_stack_only": one_stack,
    }


def window_fields(engine: Engine, tables: Tables, window: Window) -> dict[str, Any]:
    from tlsdoctor.fleet.layout import EPOCH
    from datetime import timedelta

    [row] = engine.rows(queries.day_range(tables, window))

    def day(n: Any) -> str | None:
        return None if n is None else (EPOCH + timedelta(days=int(n))).isoformat()

    return {"first_day": day(row["first_day"]), "last_day": day(row["last_day"]),
            "usage_documents": row["documents"]}


def _facets(engine: Engine, tables: Tables, window: Window,
            active: dict[str, dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for facet in FACETS:
        base = {(row["stack"], row["value"]): row["installs"]
                for row in engine.rows(queries.facet_active(tables, window, facet))}
        affected: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in engine.rows(queries.facet_affected(tables, window, facet)):
            affected[(row["code"], row["stack"])].append(row)
        for key, rows in affected.items():
            total = sum(r["installs"] for r in rows)
            stack_total = active.get(key[1], {}).get("active_installs", 0)
            for r in rows:
                share = r["installs"] / total if total else 0.0
                base_share = _rate(base.get((key[1], r["value"]), 0), stack_total)
                if share < FACET_MIN_SHARE or r["value"] is None or not base_share \
                        or share / base_share < FACET_MIN_LIFT:
                    continue
                out[key].append({
                    "facet": facet, "value": r["value"], "installs": r["installs"],
                    "share_of_affected": share, "share_of_active": base_share,
                    "lift": None if not base_share else share / base_share,
                })
    for key, items in out.items():
        items.sort(key=lambda f: (-(f["lift"] or 0.0), f["facet"], f["value"]))
        del items[FACET_TOP * 2:]
    return out

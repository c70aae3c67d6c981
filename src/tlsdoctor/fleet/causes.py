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
from tlsdoctor.fleet.queries import Window

CAUSES_SCHEMA = "tlsdoctor.fleet-causes/1"
#: A facet value is reported when it holds at least this share of the affected installs.
FACET_MIN_SHARE = 0.2
#: ... and is at least this many times as common among them as among the stack's active installs.
FACET_MIN_LIFT = 1.5
FACET_TOP = 3
INTERCEPTION = "trust.interception"


def _rate(numerator: float, denominator: float) -> float | None:
    return None if not denominator else numerator / denominator


def fleet_causes(engine: Engine, tables: Tables, window: Window = Window()) -> dict[str, Any]:
    """The ``tlsdoctor.fleet-causes/1`` document (see docs/spec/diagnosis-json.md).

    Two queries: :func:`tlsdoctor.fleet.queries.causes_document` (every figure, reading each
    table once) and the window's day range.
    """
    parts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in engine.rows(queries.causes_document(tables, window)):
        parts[row.pop("part")].append(row)
    active = {row["stack"]: {"active_installs": row["installs"], "requests": row["requests"]}
              for row in parts["active"]}
    counted = {(row["code"], row["stack"]): row["events"] for row in parts["counted"]}
    daily: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in parts["daily"]:
        daily[(row["code"], row["stack"])].append({"day": row["day"], "events": row["events"],
                                                   "installs": row["installs"]})
    facets, interceptors = _breakdowns(parts["affected"], parts["base"], active)

    causes = []
    for row in sorted(parts["cause"], key=lambda r: (r["code"], r["stack"])):
        key = (row["code"], row["stack"])
        stack_active = active.get(row["stack"], {}).get("active_installs", 0)
        cause = {
            "code": row["code"],
            "stack": row["stack"],
            "installs": row["installs"],
            "events": row["events"],
            "share_of_active_installs": _rate(row["installs"], stack_active),
            "visible_events": row["visible_events"],
            "visible_installs": row["visible_installs"],
            "rescued_events": row["events"] - row["visible_events"],
            "counted_by_usage": counted.get(key, 0),
            "first_seen": row["first_seen"],
            "last_seen": row["last_seen"],
            "facets": facets.get(key, []),
            "daily": sorted(daily[key], key=lambda d: d["day"]),
        }
        if row["code"] == INTERCEPTION and interceptors.get(row["stack"]):
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


def _breakdowns(affected_rows: list[dict[str, Any]], base_rows: list[dict[str, Any]],
                active: dict[str, dict[str, Any]]) -> tuple[dict[tuple[str, str], list[dict[str, Any]]],
                                                             dict[str, list[dict[str, Any]]]]:
    """The facets that concentrate each cause, and the interceptor CA names of ``trust.interception``."""
    base = {(row["stack"], row["facet"], row["value"]): row["installs"] for row in base_rows}
    affected: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    interceptors: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in affected_rows:
        if row["facet"] == "interceptor":
            if row["code"] == INTERCEPTION and row["value"] is not None:
                interceptors[row["stack"]].append({"name": row["value"], "installs": row["installs"]})
            continue
        affected[(row["code"], row["stack"], row["facet"])].append(row)
    out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for (code, stack, facet), rows in affected.items():
        total = sum(r["installs"] for r in rows)
        stack_total = active.get(stack, {}).get("active_installs", 0)
        for r in rows:
            share = r["installs"] / total if total else 0.0
            base_share = _rate(base.get((stack, facet, r["value"]), 0), stack_total)
            if share < FACET_MIN_SHARE or r["value"] is None or not base_share \
                    or share / base_share < FACET_MIN_LIFT:
                continue
            out[(code, stack)].append({
                "facet": facet, "value": r["value"], "installs": r["installs"],
                "share_of_affected": share, "share_of_active": base_share,
                "lift": None if not base_share else share / base_share,
            })
    for items in out.values():
        items.sort(key=lambda f: (-(f["lift"] or 0.0), f["facet"], f["value"]))
        del items[FACET_TOP * 2:]
    return out, interceptors

"""The folded causes query counts distinct installs exactly, whatever an install's history.

``queries.causes_document`` counts most installs with a COUNT(*) over one row per install and
only the installs that held several environment values (an app upgrade mid-window, a proxy
turned on, an OS field that some documents lack) through a distinct count. Every part of it is
compared here with a brute-force count in Python over the same documents, on a seeded fleet
built so that every such case occurs many times.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import pytest

from tlsdoctor.fleet import queries
from tlsdoctor.fleet.engine import Engine
from tlsdoctor.fleet.layout import Flattener
from tlsdoctor.fleet.queries import BREAKDOWNS, FACETS, Window

CODES = ("trust.interception", "tls.abrupt_close", "http2.negotiation_failed")
INTERCEPTORS = ("Avast Web/Mail Shield Root", "Kaspersky Anti-Virus Personal Root Certificate", None)


def _environment(rng: random.Random) -> dict[str, Any]:
    return {"proxy_configured": rng.choice([True, False, None]), "os": rng.choice(["Windows-10", "Linux-6.1", None]),
            "libcurl": rng.choice(["8.9.1", "8.11.0"]), "tls_library": "OpenSSL 3.6.5"}


def fleet(seed: int = 5, installs: int = 120, days: int = 4) -> list[dict[str, Any]]:
    """Usage and report documents in which about half the installs change some value mid-window."""
    rng = random.Random(seed)
    docs: list[dict[str, Any]] = []
    for n in range(installs):
        install, env, version = f"install-{n}", _environment(rng), rng.choice(["7.2.4", "7.2.5"])
        for day in range(days):
            if rng.random() < 0.3:  # an upgrade, a proxy switched, an OS field missing from now on
                env, version = {**env, **{k: v for k, v in _environment(rng).items() if rng.random() < 0.5}}, \
                    rng.choice(["7.2.4", "7.2.5", "7.3.0"])
            ts = f"2026-11-0{day + 2}T{rng.randrange(24):02d}:00:00Z"
            stacks = {stack: {"requests": rng.choice([0, 3, 10]), "ok": 0, "failures": {}, "rescued_by_fallback": 0}
                      for stack in rng.sample(["curl", "native"], rng.choice([1, 2]))}
            docs.append({"schema": "tlsdoctor.usage/1", "install": install, "app_version": version, "seq": day,
                         "period": {"start": ts, "end": ts}, "environment": env, "stacks": stacks})
            for _ in range(rng.choice([0, 0, 1, 3])):
                code = rng.choice(CODES)
                outcome: dict[str, Any] = {"ok": False, "code": code}
                issuer = rng.choice(INTERCEPTORS) if code == "trust.interception" else None
                if issuer:
                    outcome["presented_issuer"] = issuer
                docs.append({"schema": "tlsdoctor.report/1", "install": install, "app_version": version,
                             "ts": ts.replace(":00:00Z", f":{rng.randrange(60):02d}:00Z"),
                             "stack": rng.choice(["curl", "native"]), "kind": rng.choice(["failure", "fallback"]),
                             "outcome": outcome, "environment": env})
    return docs


def _value(value: Any) -> str | None:
    return None if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def brute_force(tables: dict[str, Any]) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Every part of causes_document, counted row by row in Python."""
    reports = [r for r in tables["reports"].to_pylist()
               if r["kind"] in queries.FAILURE_KINDS and r["code"] not in (None, "ok")]
    out: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = defaultdict(dict)
    by_cause: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in reports:
        by_cause[(r["code"], r["stack"])].append(r)
    for key, rows in by_cause.items():
        out["cause"][key] = {
            "installs": len({r["install"] for r in rows}), "events": len(rows),
            "visible_events": sum(r["visible"] for r in rows),
            "visible_installs": len({r["install"] for r in rows if r["visible"]}),
            "first_seen": min(r["ts"] for r in rows), "last_seen": max(r["ts"] for r in rows)}
        for day in {r["day"] for r in rows}:
            same = [r for r in rows if r["day"] == day]
            out["daily"][(*key, day)] = {"events": len(same), "installs": len({r["install"] for r in same})}
        for name in BREAKDOWNS:
            for value in {_value(r[name]) for r in rows}:
                out["affected"][(*key, name, value)] = {
                    "installs": len({r["install"] for r in rows if _value(r[name]) == value})}
    active = [s for s in tables["usage_stacks"].to_pylist() if s["requests"] > 0]
    for stack in {s["stack"] for s in active}:
        rows = [s for s in active if s["stack"] == stack]
        out["active"][(stack,)] = {"installs": len({s["install"] for s in rows}),
                                   "requests": sum(s["requests"] for s in rows)}
        for name in FACETS:
            for value in {_value(s[name]) for s in rows}:
                out["base"][(stack, name, value)] = {
                    "installs": len({s["install"] for s in rows if _value(s[name]) == value})}
    return out


KEYS = {"cause": ("code", "stack"), "daily": ("code", "stack", "day"), "affected": ("code", "stack", "facet", "value"),
        "active": ("stack",), "base": ("stack", "facet", "value")}


def test_every_part_of_the_one_query_matches_a_brute_force_count() -> None:
    flattener = Flattener()
    flattener.add_all(fleet())
    tables = flattener.tables()
    expected = brute_force(tables)
    # The fleet holds what the query must get right: installs of several values, and null values.
    held: dict[str, set[Any]] = defaultdict(set)
    for row in tables["usage_stacks"].to_pylist():
        if row["requests"]:
            held[row["install"]].add(row["app_version"])
    assert sum(len(values) > 1 for values in held.values()) > 10
    assert any(k[3] is None for k in expected["affected"]) and any(k[2] is None for k in expected["base"])
    assert any(k[2] == "interceptor" and k[3] for k in expected["affected"])
    with Engine("duckdb") as engine:
        rows = engine.rows(queries.causes_document(engine.load_arrow(tables), Window()))
    found: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        part = row["part"]
        if part in KEYS:
            found[part][tuple(row[k] for k in KEYS[part])] = {
                k: row[k] for k in next(iter(expected[part].values()))}
    for part in KEYS:
        assert found[part] == expected[part], part


@pytest.mark.parametrize("seed", [1, 2])
def test_installs_that_changed_values_count_once_per_value(seed: int) -> None:
    flattener = Flattener()
    flattener.add_all(fleet(seed=seed, installs=40))
    tables = flattener.tables()
    expected = brute_force(tables)["base"]
    with Engine("duckdb") as engine:
        base = {(r["stack"], r["facet"], r["value"]): r["installs"]
                for r in engine.rows(queries.causes_document(engine.load_arrow(tables), Window())) if r["part"] == "base"}
    assert base == {k: v["installs"] for k, v in expected.items()}

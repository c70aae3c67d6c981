"""``tlsdoctor fleet gate`` → ``tlsdoctor.fleet-gate/1``: advance, hold or roll back the rollout.

The question: do installs on the treatment stack (curl) see more user-visible failures than
installs on the control stack (native)? Compared per install, the unit the rollout hash
randomised, as the share of installs with at least one failure the user saw (not rescued by
the fallback) during their first ``horizon`` days in their cohort, with the raw failure rate
beside it. The difference is tracked with an anytime-valid confidence sequence
(:mod:`tlsdoctor.fleet.sequential`), so the gate can be run every day.

Order of checks, each a reason to ``hold`` when it fails:

1. completeness: usage documents missing (``seq`` gaps) above ``max_missing``, or reports
   dropped above ``max_dropped`` — decisions on data known to be incomplete are not decisions;
2. enough installs in each cohort (``min_installs``);
3. the interval: lower end above zero → ``rollback`` (the treatment is worse, whatever the
   number of looks); upper end below ``max_regression`` → ``advance`` (any regression is smaller
   than what the team accepts); otherwise ``hold`` (not enough evidence yet).

``--write`` then updates the GrowthBook payload through :mod:`tlsdoctor.client.rollout`: the next
stage's coverage on ``advance`` (same seed: the installs already on curl stay on curl), the kill
switch on ``rollback``, nothing on ``hold``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlsdoctor.fleet import queries, sequential
from tlsdoctor.fleet.causes import window_fields
from tlsdoctor.fleet.engine import Engine, Tables
from tlsdoctor.fleet.queries import Window

GATE_SCHEMA = "tlsdoctor.fleet-gate/1"
DEFAULT_STAGES = (1, 3, 5, 10, 25, 50, 100)
EXIT_CODES = {"advance": 0, "rollback": 1, "hold": 3}


@dataclass(frozen=True)
class GateOptions:
    treatment: str = "curl"
    control: str = "native"
    feature: str = "http-stack"
    max_regression_pp: float = 1.0
    stages: tuple[float, ...] = DEFAULT_STAGES
    horizon_days: int = 1
    min_installs: int = 200
    max_missing: float = 0.02
    max_dropped: float = 0.05
    alpha: float = sequential.DEFAULT_ALPHA
    tuning: int = sequential.DEFAULT_TUNING


def _pp(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 4)


def fleet_gate(engine: Engine, tables: Tables, options: GateOptions = GateOptions(),
               window: Window = Window(), payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``tlsdoctor.fleet-gate/1`` document (without ``rollout.written``; see :func:`write_payload`)."""
    cohorts = (options.treatment, options.control)
    span = window_fields(engine, tables, window)
    [day_range] = engine.rows(queries.day_range(tables, window))
    reasons: list[str] = []

    [counts] = engine.rows(queries.completeness(tables, window))
    expected, present = counts["expected"] or 0, counts["present"] or 0
    written, dropped = counts["reports_written"] or 0, counts["reports_dropped"] or 0
    missing_share = (expected - present) / expected if expected else 0.0
    dropped_share = dropped / (written + dropped) if written + dropped else 0.0
    completeness = {
        "usage_documents": present, "expected_documents": expected, "missing_share": missing_share,
        "reports_written": written, "reports_dropped": dropped, "dropped_share": dropped_share,
        "ok": missing_share <= options.max_missing and dropped_share <= options.max_dropped,
    }
    if missing_share > options.max_missing:
        reasons.append(f"{expected - present} of {expected} usage documents are missing (seq gaps: "
                       f"{missing_share:.1%} > {options.max_missing:.0%}); collect them or find where they are lost")
    if dropped_share > options.max_dropped:
        reasons.append(f"{dropped} of {written + dropped} reports were dropped by the clients' bounded queues "
                       f"({dropped_share:.1%} > {options.max_dropped:.0%})")

    per_cohort: dict[str, dict[str, Any]] = {name: {"installs": 0, "failing": 0, "failures": 0, "requests": 0}
                                             for name in cohorts}
    drivers: list[dict[str, Any]] = []
    if day_range["last_day"] is not None:
        units = queries.gate_units(tables, window, cohorts, options.horizon_days, int(day_range["last_day"]))
        for row in engine.rows(queries.gate_cohorts(units)):
            per_cohort[row["cohort"]].update({k: int(row[k] or 0) for k in ("installs", "failing", "failures", "requests")})
        drivers = _drivers(engine.rows(queries.gate_codes(tables, window, units, options.horizon_days)),
                           per_cohort, options)
    for name, row in per_cohort.items():
        row["share"] = row["failing"] / row["installs"] if row["installs"] else None
        row["failure_rate"] = row["failures"] / row["requests"] if row["requests"] else None

    t, c = per_cohort[options.treatment], per_cohort[options.control]
    interval = sequential.difference_of_shares(t["failing"], t["installs"], c["failing"], c["installs"],
                                               alpha=options.alpha, tuning=options.tuning)
    if min(t["installs"], c["installs"]) < options.min_installs:
        reasons.append(f"not enough installs yet: {t['installs']} {options.treatment}, {c['installs']} "
                       f"{options.control} with {options.horizon_days} full day(s) observed; the gate needs "
                       f"{options.min_installs} in each")
    decision = decide(interval, t["installs"], c["installs"], options) if not reasons else "hold"
    if not reasons and interval is not None:
        if decision == "rollback":
            named = ", ".join(d["code"] for d in drivers if d["significant"]) or \
                ", ".join(d["code"] for d in drivers[:1]) or "no single code"
            reasons.append(f"{options.treatment} installs see user-visible failures more often: "
                           f"{_pp(interval.estimate):+.2f} points [{_pp(interval.low):+.2f}, {_pp(interval.high):+.2f}]; "
                           f"driven by {named}")
        elif decision == "advance":
            reasons.append(f"any regression is below {options.max_regression_pp:g} points: "
                           f"{_pp(interval.estimate):+.2f} [{_pp(interval.low):+.2f}, {_pp(interval.high):+.2f}]")
        else:
            reasons.append(f"not enough evidence yet: {_pp(interval.estimate):+.2f} points "
                           f"[{_pp(interval.low):+.2f}, {_pp(interval.high):+.2f}] includes both 0 and "
                           f"{options.max_regression_pp:g}")

    rate_t, rate_c = t["failure_rate"], c["failure_rate"]
    doc = {
        "schema": GATE_SCHEMA,
        "decision": decision,
        "reasons": reasons,
        "feature": options.feature,
        "treatment": options.treatment,
        "control": options.control,
        "window": {**span, "horizon_days": options.horizon_days},
        "cohorts": per_cohort,
        "difference": {
            "metric": "share of installs with a user-visible failure",
            "estimate_pp": _pp(interval.estimate) if interval else None,
            "interval_pp": [_pp(interval.low), _pp(interval.high)] if interval else None,
            "confidence": 1 - options.alpha,
            "method": "asymptotic confidence sequence (Waudby-Smith et al. 2024), anytime-valid",
            "tuning_installs": options.tuning,
            "max_regression_pp": options.max_regression_pp,
        },
        "raw_failure_rate": {
            "treatment": rate_t, "control": rate_c,
            "difference_pp": _pp(rate_t - rate_c) if rate_t is not None and rate_c is not None else None,
        },
        "drivers": drivers,
        "completeness": completeness,
        "rollout": _rollout_step(payload, decision, options),
    }
    return doc


def decide(interval: sequential.Interval | None, n_t: int, n_c: int, options: GateOptions) -> str:
    """The decision from the interval alone (data completeness is checked before)."""
    if interval is None or min(n_t, n_c) < options.min_installs:
        return "hold"
    if interval.low > 0:
        return "rollback"
    if interval.high < options.max_regression_pp / 100:
        return "advance"
    return "hold"


def _drivers(rows: list[dict[str, Any]], per_cohort: dict[str, dict[str, Any]],
             options: GateOptions) -> list[dict[str, Any]]:
    """Per finding code: the share of each cohort's installs that saw it, and the difference."""
    by_code: dict[str, dict[str, int]] = {}
    for row in rows:
        by_code.setdefault(row["code"], {})[row["cohort"]] = int(row["installs"])
    n_t, n_c = per_cohort[options.treatment]["installs"], per_cohort[options.control]["installs"]
    out = []
    for code, counts in by_code.items():
        x_t, x_c = counts.get(options.treatment, 0), counts.get(options.control, 0)
        interval = sequential.difference_of_shares(x_t, n_t, x_c, n_c, alpha=options.alpha, tuning=options.tuning)
        if interval is None:
            continue
        out.append({
            "code": code,
            "treatment_installs": x_t, "control_installs": x_c,
            "difference_pp": _pp(interval.estimate),
            "interval_pp": [_pp(interval.low), _pp(interval.high)],
            "significant": interval.low > 0,
        })
    out.sort(key=lambda d: (-d["difference_pp"], d["code"]))
    return [d for d in out if d["difference_pp"] > 0]


# -- the payload ---------------------------------------------------------------------------------------


def current_rule(payload: dict[str, Any], feature: str) -> tuple[float | None, str | None, bool]:
    """(coverage, seed, kill switch on) of the rollout rule in ``payload``."""
    rules = payload.get("features", {}).get(feature, {}).get("rules", [])
    kill = any(rule.get("id") == "kill-switch" for rule in rules)
    for rule in rules:
        if rule.get("coverage") is not None:
            return float(rule["coverage"]), rule.get("seed"), kill
    return None, None, kill


def _rollout_step(payload: dict[str, Any] | None, decision: str, options: GateOptions) -> dict[str, Any] | None:
    if payload is None:
        return None
    coverage, seed, kill = current_rule(payload, options.feature)
    step: dict[str, Any] = {"coverage": coverage, "kill_switch": kill, "next_coverage": None,
                            "set_kill_switch": False, "written": None}
    if decision == "advance" and coverage is not None and not kill:
        later = [s / 100 for s in options.stages if s / 100 > coverage + 1e-12]
        step["next_coverage"] = later[0] if later else coverage
    elif decision == "rollback":
        step["set_kill_switch"] = True
    return step


def write_payload(path: str | Path, payload: dict[str, Any], gate: dict[str, Any], feature: str) -> bool:
    """Apply the gate's step to the payload file (atomically); True when it changed."""
    from tlsdoctor.client.rollout import check_payload, rollout_payload

    step = gate.get("rollout")
    if not step or (step["next_coverage"] is None and not step["set_kill_switch"]):
        return False
    coverage, seed, kill = current_rule(payload, feature)
    new_coverage = step["next_coverage"] if step["next_coverage"] is not None else coverage
    if new_coverage is None:
        new_coverage = 0.0
    if step["next_coverage"] is not None and new_coverage == coverage and not step["set_kill_switch"]:
        return False
    made = rollout_payload(new_coverage, feature=feature, kill_switch=step["set_kill_switch"] or kill, seed=seed)
    updated = dict(payload)
    updated["features"] = {**payload.get("features", {}), feature: made["features"][feature]}
    check_payload(updated, feature)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(updated, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    step["written"] = str(path)
    return True


def parse_stages(text: str) -> tuple[float, ...]:
    try:
        stages = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--stages wants percentages separated by commas, not {text!r}") from None
    if not stages or any(not 0 < s <= 100 for s in stages) or list(stages) != sorted(set(stages)):
        raise ValueError("--stages must be increasing percentages in (0, 100]")
    return stages


def load_payload(path: str | Path, feature: str) -> dict[str, Any]:
    from tlsdoctor.client.rollout import MAX_PAYLOAD_BYTES, check_payload

    raw = Path(path).read_bytes()[: MAX_PAYLOAD_BYTES + 1]
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"{path}: larger than {MAX_PAYLOAD_BYTES} bytes")
    doc = json.loads(raw)
    check_payload(doc, feature)
    return doc


__all__: Sequence[str] = ("GATE_SCHEMA", "GateOptions", "fleet_gate", "write_payload", "parse_stages", "load_payload")

"""Terminal rendering of ``tlsdoctor.fleet-causes/1`` and ``tlsdoctor.fleet-gate/1`` (print only)."""

from __future__ import annotations

from typing import Any

from tlsdoctor.render.console import make_console


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


def print_causes(doc: dict[str, Any]) -> None:
    from rich.table import Table

    console = make_console()
    window = doc["window"]
    stacks = ", ".join(f"{name}: {row['active_installs']} active installs" for name, row in doc["stacks"].items())
    console.print(f"{window['first_day']} .. {window['last_day']}  ({stacks})")
    table = Table(box=None, pad_edge=False)
    for column in ("code", "stack", "installs", "share", "events", "user saw", "concentrated in"):
        table.add_column(column, justify="right" if column in ("installs", "share", "events", "user saw") else "left")
    for cause in doc["causes"]:
        facets = ", ".join(f"{f['facet']}={f['value']} ×{f['lift']:.1f}" for f in cause["facets"][:2] if f["lift"])
        table.add_row(cause["code"], cause["stack"], str(cause["installs"]), _pct(cause["share_of_active_installs"]),
                      str(cause["events"]), str(cause["visible_events"]), facets)
    console.print(table)
    for cause in doc["causes"]:
        if cause.get("interceptors"):
            names = ", ".join(f"{i['name']} ({i['installs']})" for i in cause["interceptors"][:5])
            console.print(f"{cause['code']} ({cause['stack']}) is signed by: {names}", markup=False)
    if doc["one_stack_only"]:
        console.print("on one stack only: " + ", ".join(f"{c['code']} ({c['stack']})" for c in doc["one_stack_only"]))


def print_gate(doc: dict[str, Any]) -> None:
    console = make_console()
    console.print(f"[bold]{doc['decision']}[/bold]: {doc['treatment']} vs {doc['control']}, "
                  f"{doc['window']['first_day']} .. {doc['window']['last_day']}")
    for reason in doc["reasons"]:
        console.print(f"  {reason}")
    for name, row in doc["cohorts"].items():
        console.print(f"  {name:>8}: {row['installs']} installs, {_pct(row['share'])} with a user-visible failure, "
                      f"failure rate {_pct(row['failure_rate'])}")
    for driver in doc["drivers"][:5]:
        low, high = driver["interval_pp"]
        mark = " *" if driver["significant"] else ""
        console.print(f"  {driver['code']}: {driver['difference_pp']:+.2f} points [{low:+.2f}, {high:+.2f}]{mark}")
    step = doc.get("rollout")
    if step:
        if step["set_kill_switch"]:
            action = "kill switch on"
        elif step["next_coverage"] is not None:
            action = f"coverage {step['coverage']:.0%} -> {step['next_coverage']:.0%}"
        else:
            action = "no change"
        console.print(f"  payload: {action}" + (f" (written to {step['written']})" if step["written"] else ""))

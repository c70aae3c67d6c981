"""Printing torture results: a table (and a progress bar on a terminal), or JSON.

Renderers only print: the outcome, symptom and likely bug were decided by
:mod:`tlsdoctor.torture.outcome`.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:
    from rich.console import Console

    from tlsdoctor.torture import TortureReport

_STYLE = {"survived": "green", "slowed": "yellow", "degraded": "red", "dead": "bold red", "skipped": "dim"}


def report_json(report: "TortureReport") -> str:
    return json.dumps(report.to_dict(), indent=2)


def catalogue_json() -> str:
    from tlsdoctor.torture.catalogue import ATTACKS

    return json.dumps({"schema": "tlsdoctor.torture-catalogue/1", "attacks": [a.to_dict() for a in ATTACKS]}, indent=2)


def catalogue_table(console: "Console") -> None:
    from tlsdoctor.render.table import Column, FitTable
    from tlsdoctor.torture.catalogue import ATTACKS

    table = FitTable([Column("attack"), Column("what the client does", wrap=True), Column("bug class", priority=1)],
                     title="tlsdoctor torture: attacks")
    for entry in ATTACKS:
        table.add_row(entry.id, entry.summary, entry.bug_class.value)
    table.print(console)


def report_table(report: "TortureReport", console: "Console") -> None:
    from tlsdoctor.render.table import Column, FitTable, styled

    baseline = report.baseline
    console.print(
        f"{report.target.url} ({report.target.address}): baseline HTTP {baseline.status} in "
        f"{baseline.latency * 1000:.1f} ms over HTTP/{baseline.http_version or '?'}; "
        f"TLS {', '.join(report.tls_versions) or '?'}; HTTP/2 {'yes' if report.http2 else 'no'}",
        markup=False, highlight=False, soft_wrap=True,
    )
    table = FitTable([Column("attack"), Column("outcome"), Column("symptom", wrap=True),
                      Column("rounds", priority=2, justify="right"), Column("sanity median", priority=1, justify="right"),
                      Column("recovered", priority=1)])
    for result in report.results:
        latencies = sorted(result.latencies)
        median = f"{latencies[len(latencies) // 2] * 1000:.1f} ms" if latencies else "-"
        recovered = "-" if result.recovered_after is None else f"after {result.recovered_after:.1f} s"
        if result.outcome.value == "dead":
            recovered = "no"
        outcome = result.outcome.value
        table.add_row(
            result.id,
            styled(outcome, _STYLE[outcome]),
            result.symptom.value if result.symptom else (result.reason or ""),
            str(len({r.index for r in result.rounds})) if result.rounds else "-",
            median,
            recovered,
        )
    table.print(console)
    for result in report.failed:
        console.print(f"{result.id}: {result.outcome.value}, {result.symptom.value if result.symptom else ''}",
                      markup=False, highlight=False)
        console.print(f"  likely bug: {result.bug_class.value if result.bug_class else '?'}: {result.cause}",
                      markup=False, highlight=False)
        console.print(f"  fix: {result.fix}", markup=False, highlight=False)
    counts = {o: sum(r.outcome.value == o for r in report.results) for o in _STYLE}
    console.print(", ".join(f"{n} {o}" for o, n in counts.items() if n) + f" in {report.elapsed:.1f} s")


@contextlib.contextmanager
def progress_bar(console: "Console", total_attacks: int) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress bar on standard error when it is a terminal; None (no output) when piped."""
    if not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} attacks"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("torture", total=total_attacks)
        seen: set[str] = set()

        def update(attack_id: str, done: int, planned: int) -> None:
            if done == 0 and attack_id not in seen:
                if seen:
                    progress.advance(task)
                seen.add(attack_id)
            progress.update(task, description=f"{attack_id} round {done}/{planned}")

        yield update
        progress.update(task, completed=total_attacks)

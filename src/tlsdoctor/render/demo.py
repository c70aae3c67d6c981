"""The demo's table: scenario, expected verdict, diagnosed verdict, what libcurl said, time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tlsdoctor.render.table import Column, FitTable, styled

if TYPE_CHECKING:
    from rich.console import Console

    from tlsdoctor.demo import DemoResult

DEMO_SCHEMA = "tlsdoctor.demo/1"


def demo_table(results: list[DemoResult], *, title: str | None = None) -> FitTable:
    table = FitTable([
        Column("scenario"), Column("expected", priority=2), Column("diagnosed"), Column("result"),
        Column("libcurl", priority=3, justify="right"), Column("ms", priority=4, justify="right"),
        Column("summary", wrap=True),
    ], title=title)
    for r in results:
        d = r.diagnosis
        curl = d.observations.curl if d else None
        mark = styled("right", "green") if r.matches else styled("WRONG", "red")
        table.add_row(r.case.name, r.case.expected, r.verdict, mark, str(curl.curl_code) if curl else "—",
                      f"{r.elapsed_ms:.0f}", d.verdict.summary if d else (r.error or ""))
    return table


def print_demo(results: list[DemoResult], console: Console, *, startup_s: float, elapsed_s: float) -> None:
    title = f"tlsdoctor demo — the lab (started in {startup_s * 1000:.0f} ms), every scenario diagnosed"
    demo_table(results, title=title).print(console)
    right = sum(r.matches for r in results)
    console.print(f"{right} of {len(results)} diagnosed right ({elapsed_s:.1f} s in all).", highlight=False)


def demo_document(results: list[DemoResult], *, startup_s: float, elapsed_s: float) -> dict[str, Any]:
    """``tlsdoctor demo --json``: each case's expectation beside its full diagnosis."""
    from tlsdoctor.render.diagnosis import diagnosis_document

    return {
        "schema": DEMO_SCHEMA,
        "lab_startup_ms": round(startup_s * 1000, 1),
        "elapsed_ms": round(elapsed_s * 1000, 1),
        "right": sum(r.matches for r in results),
        "total": len(results),
        "cases": [
            {
                "name": r.case.name,
                "scenario": r.case.entry.id,
                "expected": r.case.expected,
                "expected_warnings": list(r.case.expected_warnings),
                "diagnosed": r.verdict,
                "right": r.matches,
                "elapsed_ms": round(r.elapsed_ms, 1),
                "error": r.error,
                "diagnosis": diagnosis_document(r.diagnosis) if r.diagnosis else None,
            }
            for r in results
        ],
    }

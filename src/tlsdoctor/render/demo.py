"""The demo's table: scenario, expected verdict, diagnosed verdict, time."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tlsdoctor.demo import DemoResult


def print_demo(results: list[DemoResult], console: Console, *, startup_s: float, elapsed_s: float) -> None:
    table = Table(title=f"tlsdoctor demo — the lab (started in {startup_s * 1000:.0f} ms), every scenario diagnosed",
                  title_justify="left")
    for column in ("scenario", "expected", "diagnosed", "libcurl", "ms", ""):
        table.add_column(column, no_wrap=True)
    table.add_column("summary", overflow="fold")
    for r in results:
        d = r.diagnosis
        curl = d.observations.curl if d else None
        mark = "[green]right[/]" if r.matches else "[red]WRONG[/]"
        summary = escape(d.verdict.summary) if d else escape(r.error or "")
        table.add_row(r.case.name, r.case.expected, r.verdict, str(curl.curl_code) if curl else "—",
                      f"{r.elapsed_ms:.0f}", mark, summary)
    console.print(table)
    right = sum(r.matches for r in results)
    console.print(f"{right} of {len(results)} diagnosed right ({elapsed_s:.1f} s in all).")

"""A batch of diagnoses as one table."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tlsdoctor.batch import BatchResult


def print_batch(results: list[BatchResult], console: Console) -> None:
    table = Table(title=f"tlsdoctor diagnose — {len(results)} URLs", title_justify="left")
    for column in ("URL", "verdict", "curl"):
        table.add_column(column, no_wrap=True)
    table.add_column("summary", overflow="fold")
    for r in results:
        if r.diagnosis is None:
            table.add_row(escape(r.url), "[red]bad input[/]", "", escape(r.error or ""))
            continue
        v = r.diagnosis.verdict
        color = "green" if r.ok else "red"
        table.add_row(escape(r.url), f"[{color}]{v.code}[/]", str(v.curl_code), escape(v.summary))
    console.print(table)
    failed = sum(not r.ok for r in results)
    console.print(f"{len(results) - failed} ok, {failed} failing.")

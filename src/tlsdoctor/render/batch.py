"""A batch of diagnoses as it arrives: table rows (or TSV) in input order, then a count."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from tlsdoctor.render.table import Column, FitTable, styled

if TYPE_CHECKING:
    from rich.console import Console

    from tlsdoctor.batch import BatchResult

_LONGEST_CODE = 28  # cert.revocation_unavailable, and room for one more letter


def batch_table(*, url_hint: int = 40, title: str | None = None) -> FitTable:
    return FitTable([
        Column("URL", wrap=True, hint=min(url_hint, 60)),
        Column("verdict", hint=_LONGEST_CODE),
        Column("curl", priority=1, justify="right", hint=4),
        Column("summary", wrap=True, hint=80),
    ], title=title)


def row(r: BatchResult) -> tuple[object, ...]:
    if r.bad_input:
        return r.url, styled("bad input", "red"), "", r.summary
    if r.internal_error:
        return r.url, styled("error", "red"), "", r.summary
    return r.url, styled(r.code, "green" if r.ok else "red"), str(r.curl_code), r.summary


class BatchCounts:
    """What the closing line says; counts only, so that a batch of any length stays small."""

    def __init__(self) -> None:
        self.ok = self.failing = self.bad_input = self.errors = 0

    def add(self, r: BatchResult) -> None:
        if r.bad_input:
            self.bad_input += 1
        elif r.internal_error:
            self.errors += 1
        elif r.ok:
            self.ok += 1
        else:
            self.failing += 1

    @property
    def all_ok(self) -> bool:
        return not (self.failing or self.bad_input or self.errors)

    def line(self) -> str:
        return (f"{self.ok} ok, {self.failing} failing" + (f", {self.bad_input} bad input" if self.bad_input else "")
                + (f", {self.errors} not diagnosed (internal error)" if self.errors else "") + ".")


def print_batch(results: Iterable[BatchResult], console: Console, *, title: str | None = None,
                on_row: object = None) -> BatchCounts:
    """Print each result as it comes (a streamed table, or TSV when piped); returns the counts."""
    counts = BatchCounts()
    stream = batch_table(title=title).stream(console)
    for r in results:
        stream.add_row(*row(r))
        counts.add(r)
        if callable(on_row):
            on_row(r)
    console.print(counts.line(), highlight=False)
    return counts

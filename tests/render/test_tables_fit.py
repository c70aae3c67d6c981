"""Every table fits: rendered at 60, 80, 120 and 200 columns, and piped.

Real rows: the lab's scenarios diagnosed and checked for real (a few of each kind), the
running lab's own table, the catalogue. At each width: no line is wider than the
terminal, no cell is cut to an ellipsis, and every code a row carries is printed whole
(a verdict reading ``cert.ex…`` or a column collapsed to nothing fails). Piped, a table
is tab-separated values: no padding, no wrapping, one line per row.
"""

from __future__ import annotations

import asyncio
import io
import re
from typing import Callable

import pytest
from rich.console import Console

from tlsdoctor.batch import BatchResult
from tlsdoctor.demo import DemoResult, cases, run_cases
from tlsdoctor.lab.check import check_all
from tlsdoctor.lab.runner import Lab
from tlsdoctor.lab.scenarios import CATALOGUE
from tlsdoctor.render.batch import print_batch
from tlsdoctor.render.demo import print_demo
from tlsdoctor.render.diagnosis import print_diagnosis
from tlsdoctor.render.lab import catalogue_table, check_table, lab_table
from tlsdoctor.render.table import Column, FitTable, fit

WIDTHS = (60, 80, 120, 200)
SOME = ("ok", "expired", "intercepting-proxy", "proxy-auth-required", "no-shared-cipher", "tcp-refused")


def render(width: int | None, draw: Callable[[Console], None]) -> str:
    buffer = io.StringIO()
    if width is None:  # piped: what make_console gives when stdout is not a terminal
        console = Console(file=buffer, soft_wrap=True, width=100_000)
    else:
        console = Console(file=buffer, width=width, force_terminal=True, color_system=None)
    draw(console)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def demo_results(tls_lab: Lab) -> list[DemoResult]:
    chosen = [c for c in cases(tls_lab) if c.entry.id in SOME]
    return asyncio.run(run_cases(chosen))


@pytest.fixture(scope="module")
def tables(tls_lab: Lab, demo_results: list[DemoResult]) -> dict[str, tuple[Callable[[Console], None], set[str]]]:
    checks = check_all([tls_lab[i] for i in SOME])
    diagnoses = [r.diagnosis for r in demo_results if r.diagnosis is not None]
    batch = [BatchResult(n, d.url, d.ok, d.verdict.code, d.verdict.curl_code, d.verdict.summary)
             for n, d in enumerate(diagnoses)]
    batch.append(BatchResult(len(batch), "https://[redacted]@bad host/", False, "error", None, "bad input: not a URL"))
    codes = {r.verdict for r in demo_results}
    return {
        "demo": (lambda c: print_demo(demo_results, c, startup_s=0.1, elapsed_s=2.0), codes | set(SOME)),
        "check": (lambda c: check_table(checks, c, title="tlsdoctor check"), set(SOME) | {"expected"}),
        "lab": (lambda c: lab_table(tls_lab, c), {e.id for e in tls_lab} | {e.url for e in tls_lab}),
        "catalogue": (lambda c: catalogue_table(CATALOGUE, c), {s.code for s in CATALOGUE}),
        "batch": (lambda c: print_batch(iter(batch), c), {d.verdict.code for d in diagnoses}),
        "diagnose": (lambda c: [print_diagnosis(d, c) for d in diagnoses], {d.verdict.code for d in diagnoses}),
    }


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["demo", "check", "lab", "catalogue", "batch", "diagnose"])
def test_every_table_fits_every_width(tables: dict, name: str, width: int) -> None:
    draw, codes = tables[name]
    out = render(width, draw)
    lines = out.splitlines()
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, f"{name} at {width}: {too_wide[:3]}"
    assert not re.search(r"(^|\s)…(\s|$)", out), f"{name} at {width}: a cell cut to an ellipsis alone"
    if name != "diagnose":  # a diagnosis's evidence may shorten a long value on purpose; a table never
        assert "…" not in out, f"{name} at {width}: a cell was cut"
    words = set(re.split(r"[\s│|]+", out))
    missing = {c for c in codes if c not in words and not any(w.startswith(c) for w in words)}
    assert not missing, f"{name} at {width}: codes not printed whole: {missing}"


@pytest.mark.parametrize("name", ["demo", "check", "lab", "catalogue", "batch"])
def test_piped_tables_are_tsv_without_padding(tables: dict, name: str) -> None:
    draw, _ = tables[name]
    out = render(None, draw)
    rows = [line for line in out.splitlines() if "\t" in line]
    assert len(rows) >= 2, out
    widths = {len(line.split("\t")) for line in rows}
    assert len(widths) == 1, f"{name}: rows with different column counts: {widths}"
    assert not any(line.endswith(" ") for line in out.splitlines()), f"{name}: trailing padding"
    assert all(rows[0].split("\t")), f"{name}: a column without a name"
    assert "\x1b[" not in out


def test_demo_keeps_the_verdict_and_summary_at_every_width(demo_results: list[DemoResult]) -> None:
    summary_word = demo_results[0].diagnosis.verdict.summary.split()[0]  # type: ignore[union-attr]
    for width in WIDTHS:
        out = render(width, lambda c: print_demo(demo_results, c, startup_s=0.1, elapsed_s=1.0))
        assert summary_word in out and "right" in out, width


def test_fit_drops_by_priority_then_stacks() -> None:
    columns = [Column("id"), Column("small", priority=2), Column("extra", priority=1), Column("text", wrap=True)]
    natural, words = [10, 5, 20, 80], [10, 5, 20, 12]
    wide = fit(columns, natural, words, 200)
    assert wide.shown == (0, 1, 2, 3) and not wide.stacked and wide.widths == (10, 5, 20, 80)
    medium = fit(columns, natural, words, 75)
    assert medium.shown == (0, 2, 3) and not medium.stacked  # 'small' (priority 2) goes first
    assert sum(medium.widths) + 3 * (len(medium.shown) - 1) <= 75
    squeezed = fit(columns, natural, words, 30)  # text down to its longest word, not below
    assert squeezed.shown == (0, 3) and squeezed.widths == (10, 17) and not squeezed.stacked
    narrow = fit(columns, natural, words, 20)
    assert narrow.stacked and narrow.shown == (0, 3)


def test_fit_drops_the_highest_priority_number_first_and_takes_back_what_fits() -> None:
    columns = [Column("id"), Column("curl", priority=2), Column("set-up", priority=1, wrap=True), Column("text", wrap=True)]
    layout = fit(columns, [24, 4, 60, 100], [24, 4, 12, 12], 100)
    # set-up cannot keep a comfortable width beside the text; curl (dropped first) fits again.
    assert layout.shown == (0, 1, 3)


def test_control_characters_never_reach_the_terminal() -> None:
    table = FitTable([Column("URL", wrap=True), Column("verdict")])
    table.add_row("https://x.test/\x1b]0;owned\x07\x1b[31m", "ok")
    for width in (None, 80):
        out = render(width, table.print)
        assert "\x1b]0" not in out and "\x07" not in out and "\x1b[31m" not in out

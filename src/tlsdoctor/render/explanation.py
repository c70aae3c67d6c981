"""How an :class:`~tlsdoctor.explain.Explanation` is shown: ``tlsdoctor.explanation/1`` JSON, or a
short terminal view.

The JSON follows ``docs/spec/diagnosis-json.md`` (``schema``, ``input_kind``, and
``candidates`` with ``code``, ``likelihood``, ``why``, ``check``); the fields added here
(``summary``, ``reason``, ``curl_code``, ``nel_type``, ``notes``) save a support tool from
carrying its own copy of the findings table. Everything quoted was redacted by ``explain``.
"""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tlsdoctor.explain import Explanation
from tlsdoctor.findings import FINDING_CODES

EXPLANATION_SCHEMA = "tlsdoctor.explanation/1"


def explanation_document(e: Explanation) -> dict[str, object]:
    """The explanation for scripts and support tools (``tlsdoctor explain --json``)."""
    candidates = []
    for candidate in e.candidates:
        finding = FINDING_CODES.get(candidate.code)
        entry: dict[str, object] = {
            "code": candidate.code,
            "likelihood": candidate.likelihood,
            "why": candidate.why,
            "check": candidate.check,
            "reason": candidate.reason,
        }
        if finding is not None:
            entry.update(summary=finding.summary, curl_code=finding.curl_code, nel_type=finding.nel_type)
        candidates.append(entry)
    return {
        "schema": EXPLANATION_SCHEMA,
        "input_kind": e.input_kind,
        "candidates": candidates,
        "notes": list(e.notes),
    }


def explanation_json(e: Explanation) -> str:
    return json.dumps(explanation_document(e), ensure_ascii=False, indent=2)


def print_explanation(e: Explanation, console: Console) -> None:
    """The most likely cause in words, its evidence and how to confirm it; the others in a table.

    Everything from the input goes through ``escape``: a pasted log may contain text that
    looks like rich markup (``[bold]``, ``[redacted]``), and it must print as written.
    """
    for note in e.notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    top = e.top
    if top is None:
        console.print(
            f"No failure signal recognised in this input (read as {escape(e.input_kind)}). "
            "Paste the full error, `curl -v` output or the traceback, or run `tlsdoctor diagnose URL`."
        )
        return
    finding = FINDING_CODES.get(top.code)
    summary = finding.summary if finding else top.reason
    console.print(f"[bold]Most likely:[/bold] {escape(summary)}  "
                  f"[cyan]{escape(top.code)}[/cyan] [dim]({top.likelihood:.0%})[/dim]")
    if top.reason:
        console.print(f"  [dim]reading:[/dim] {escape(top.reason)}")
    console.print(f"  [dim]because:[/dim] {escape(top.why)}")
    console.print(f"  [dim]confirm:[/dim] {escape(top.check)}")
    others = e.candidates[1:]
    if not others:
        return
    table = Table(title="Other candidates", title_justify="left", show_edge=False)
    table.add_column("finding", no_wrap=True, style="cyan")
    table.add_column("likelihood", justify="right")
    table.add_column("what it would mean", overflow="fold")
    for candidate in others:
        finding = FINDING_CODES.get(candidate.code)
        table.add_row(escape(candidate.code), f"{candidate.likelihood:.0%}",
                      escape(finding.summary if finding else candidate.reason))
    console.print(table)

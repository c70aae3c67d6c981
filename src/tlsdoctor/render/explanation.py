"""How an :class:`~tlsdoctor.explain.Explanation` is shown: ``tlsdoctor.explanation/1`` JSON, or a
short terminal view.

The JSON follows ``docs/spec/diagnosis-json.md`` (``schema``, ``input_kind``, and
``candidates`` with ``code``, ``likelihood``, ``why``, ``check``); the fields added here
(``summary``, ``reason``, ``fix``, ``page``, ``tells_apart``, ``curl_code``, ``nel_type``,
``notes``, ``ecosystems``, ``collect``) save a support tool from carrying its own copy of the
findings table. Fields are only ever added, never removed. Everything quoted was redacted by
``explain``, which also removed control characters and terminal escapes from the input.
"""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape

from tlsdoctor.explain import Explanation, RankedCandidate
from tlsdoctor.findings import FINDING_CODES

EXPLANATION_SCHEMA = "tlsdoctor.explanation/1"


def page_for(code: str) -> str:
    """The path of a finding code's page, relative to the repository (docs/findings/CODE.md)."""
    return f"docs/findings/{code}.md"


def fix_for(code: str) -> str:
    """The fix in words, from the finding pages' source (one text for docs and terminal)."""
    from tlsdoctor.render.finding_docs import FIX  # imported here: it pulls in the rules and the lab

    return FIX.get(code, "")


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
            "fix": fix_for(candidate.code),
            "page": page_for(candidate.code),
            "tells_apart": candidate.tells_apart,
        }
        if finding is not None:
            entry.update(summary=finding.summary, curl_code=finding.curl_code, nel_type=finding.nel_type)
        candidates.append(entry)
    return {
        "schema": EXPLANATION_SCHEMA,
        "input_kind": e.input_kind,
        "candidates": candidates,
        "notes": list(e.notes),
        "ecosystems": list(e.ecosystems),
        "collect": list(e.collect),
    }


def explanation_json(e: Explanation) -> str:
    return json.dumps(explanation_document(e), ensure_ascii=False, indent=2)


def print_explanation(e: Explanation, console: Console) -> None:
    """The most likely cause in words, its evidence, how to confirm and fix it; then the others.

    Everything from the input goes through ``escape``: a pasted log may contain text that
    looks like rich markup (``[bold]``, ``[redacted]``), and it must print as written.
    """
    for note in e.notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    top = e.top
    if top is None:
        console.print(f"No failure signal recognised in this input (read as {escape(e.input_kind)}). "
                      "Collect these on the affected machine and explain them again:")
        for line in e.collect:
            console.print(f"  - {escape(line)}")
        return
    finding = FINDING_CODES.get(top.code)
    summary = finding.summary if finding else top.reason
    console.print(f"[bold]Most likely:[/bold] {escape(summary)}  "
                  f"[cyan]{escape(top.code)}[/cyan] [dim]({top.likelihood:.0%})[/dim]")
    _print_details(top, console, reading=True)
    others = e.candidates[1:]
    if not others:
        return
    console.print("")
    console.print("[bold]Other candidates[/bold] (most likely first):")
    for candidate in others:
        finding = FINDING_CODES.get(candidate.code)
        console.print(f"- [cyan]{escape(candidate.code)}[/cyan] [dim]({candidate.likelihood:.0%})[/dim] "
                      f"{escape(finding.summary if finding else candidate.reason)}")
        _print_details(candidate, console, reading=False)


def _print_details(candidate: RankedCandidate, console: Console, *, reading: bool) -> None:
    if reading and candidate.reason:
        console.print(f"  [dim]reading:[/dim] {escape(candidate.reason)}")
    if reading:
        console.print(f"  [dim]because:[/dim] {escape(candidate.why)}")
        console.print(f"  [dim]confirm:[/dim] {escape(candidate.check)}")
    if candidate.tells_apart:
        console.print(f"  [dim]tells it apart:[/dim] {escape(candidate.tells_apart)}")
    fix = fix_for(candidate.code)
    if fix:
        console.print(f"  [dim]fix:[/dim] {escape(fix)}")
    console.print(f"  [dim]page:[/dim] {escape(page_for(candidate.code))}")

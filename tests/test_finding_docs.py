"""docs/findings/ is generated from the code: regenerate and compare, so they cannot drift."""

from __future__ import annotations

from pathlib import Path

from tlsdoctor.findings import FINDING_CODES
from tlsdoctor.judge.rules import RULES
from tlsdoctor.render.finding_docs import pages

DOCS = Path(__file__).resolve().parents[1] / "docs" / "findings"


def test_docs_match_the_code() -> None:
    expected = pages()
    on_disk = {p.name: p.read_text() for p in DOCS.glob("*.md")}
    assert set(on_disk) == set(expected), "run: python -m tlsdoctor.render.finding_docs docs/findings"
    stale = [name for name, text in expected.items() if on_disk[name] != text]
    assert not stale, f"stale pages {stale}: run python -m tlsdoctor.render.finding_docs docs/findings"


def test_every_failure_code_has_a_rule_that_can_conclude_it() -> None:
    emitted = {code for rule in RULES for code in rule.emits}
    assert emitted == set(FINDING_CODES) - {"ok"}

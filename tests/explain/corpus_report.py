"""The explain corpus: loading, scoring and the accuracy table.

The corpus (``tests/explain/corpus/<ecosystem>.toml``) holds error texts as users paste them,
each with the finding codes ``tlsdoctor explain`` must rank among its first three candidates.
This module is shared by ``test_corpus.py`` (which asserts on it) and by a plain run,
``python -m tests.explain.corpus_report`` from the repository root, which prints the table
and every miss without pytest.
"""

from __future__ import annotations

import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).parent / "corpus"

#: Keys a case may have; anything else is a typo the format test reports.
CASE_KEYS = frozenset({"id", "source", "lang", "text", "expect"})
REQUIRED_CASE_KEYS = frozenset({"id", "source", "text", "expect"})
FILE_KEYS = frozenset({"ecosystem", "case"})
#: Languages the corpus speaks (BCP 47 tags as the issue names them).
LANGUAGES = frozenset({"en", "zh-CN", "zh-TW", "ja", "ko", "de", "fr", "es", "pt-BR", "ru"})
TOP = 3

try:  # under pytest, the key under which the accuracy test leaves its table for the summary
    import pytest

    CORPUS_TABLE = pytest.StashKey[str]()
except ImportError:  # a plain run needs no pytest
    CORPUS_TABLE = None


@dataclass(frozen=True)
class Case:
    ecosystem: str
    id: str
    source: str
    lang: str
    text: str
    expect: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.ecosystem}/{self.id}"


@dataclass(frozen=True)
class Outcome:
    case: Case
    candidates: tuple[str, ...]  # explain's candidate codes, best first

    @property
    def top3(self) -> bool:
        """Every expected code is among the first three (or nothing is found, when nothing is expected)."""
        if not self.case.expect:
            return not self.candidates
        return set(self.case.expect) <= set(self.candidates[:TOP])

    @property
    def top1(self) -> bool:
        """The best candidate is one of the expected codes (or nothing is found, when nothing is expected)."""
        if not self.case.expect:
            return not self.candidates
        return bool(self.candidates) and self.candidates[0] in self.case.expect


def corpus_files() -> list[Path]:
    return sorted(CORPUS_DIR.glob("*.toml"))


def load_file(path: Path) -> tuple[str, list[dict]]:
    with path.open("rb") as handle:
        document = tomllib.load(handle)
    return document.get("ecosystem", ""), document.get("case", [])


def load_corpus() -> list[Case]:
    cases: list[Case] = []
    for path in corpus_files():
        ecosystem, entries = load_file(path)
        for entry in entries:
            cases.append(Case(
                ecosystem=ecosystem,
                id=entry["id"],
                source=entry["source"],
                lang=entry.get("lang", "en"),
                text=entry["text"],
                expect=tuple(entry["expect"]),
            ))
    return cases


def run(cases: list[Case]) -> list[Outcome]:
    from tlsdoctor.explain import explain

    return [
        Outcome(case, tuple(candidate.code for candidate in explain(case.text).candidates))
        for case in cases
    ]


def _rows(outcomes: list[Outcome], key) -> list[tuple[str, int, int, int]]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        groups[key(outcome)].append(outcome)
    return [
        (name, len(group), sum(o.top1 for o in group), sum(o.top3 for o in group))
        for name, group in sorted(groups.items())
    ]


def accuracy(outcomes: list[Outcome]) -> float:
    return sum(o.top3 for o in outcomes) / len(outcomes) if outcomes else 0.0


def by_ecosystem(outcomes: list[Outcome]) -> dict[str, float]:
    return {name: top3 / n for name, n, _top1, top3 in _rows(outcomes, lambda o: o.case.ecosystem)}


def table(outcomes: list[Outcome]) -> str:
    """The per-ecosystem and per-language accuracy table, as plain text."""
    lines: list[str] = []

    def section(title: str, rows: list[tuple[str, int, int, int]]) -> None:
        lines.append(f"{title:<14} {'cases':>5} {'top-1':>7} {'top-3':>7}")
        for name, n, top1, top3 in rows:
            lines.append(f"{name:<14} {n:>5} {top1 / n:>7.0%} {top3 / n:>7.0%}")
        lines.append("")

    section("ecosystem", _rows(outcomes, lambda o: o.case.ecosystem))
    section("language", _rows(outcomes, lambda o: o.case.lang))
    section("overall", _rows(outcomes, lambda o: "all"))
    return "\n".join(lines).rstrip()


def misses(outcomes: list[Outcome]) -> str:
    lines = []
    for outcome in outcomes:
        if not outcome.top3:
            got = ", ".join(outcome.candidates[:TOP]) or "nothing"
            want = ", ".join(outcome.case.expect) or "nothing"
            lines.append(f"{outcome.case.name} [{outcome.case.lang}]: expected {want}; got {got}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    outcomes = run(load_corpus())
    print(table(outcomes))
    if "--misses" in argv:
        print()
        print(misses(outcomes) or "no misses")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

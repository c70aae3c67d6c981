"""Prints the explain corpus's accuracy table at the end of a pytest run that measured it."""

from __future__ import annotations

from corpus_report import CORPUS_TABLE


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    report = config.stash.get(CORPUS_TABLE, None)
    if report:
        terminalreporter.section("explain corpus: top-3 accuracy")
        terminalreporter.write_line(report)

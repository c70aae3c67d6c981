"""A diagnosis printed into a pipe without rich is the text rich would print there, and imports no rich."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from rich.console import Console

from tlsdoctor.diagnosis import Diagnosis, diagnose
from tlsdoctor.lab import Lab, running_lab
from tlsdoctor.render.console import PlainConsole
from tlsdoctor.render.diagnosis import print_diagnosis

SCENARIOS = ["ok", "expired", "incomplete-chain", "no-shared-cipher"]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(SCENARIOS) as running:
        yield running


@pytest.fixture(scope="module")
def diagnoses(lab: Lab) -> list[Diagnosis]:
    return [diagnose(lab[s].url, ca_bundle=lab[s].ca_file, env={}, timeout=3.0,
                     os_store_env={"SSL_CERT_FILE": str(lab[s].ca_file), "SSL_CERT_DIR": ""}) for s in SCENARIOS]


def test_plain_text_is_what_rich_prints_into_a_pipe(diagnoses: list[Diagnosis]) -> None:
    for d in diagnoses:
        plain, piped = io.StringIO(), io.StringIO()
        print_diagnosis(d, PlainConsole(plain))
        # What make_console() builds when standard output is not a terminal.
        print_diagnosis(d, Console(file=piped, soft_wrap=True, width=100_000, force_terminal=False))
        assert plain.getvalue() == piped.getvalue()
        assert d.verdict.code in plain.getvalue() and "[bold]" not in plain.getvalue()


def test_text_with_brackets_is_printed_as_it_is(diagnoses: list[Diagnosis]) -> None:
    from dataclasses import replace

    d = diagnoses[1]
    odd = replace(d, verdict=replace(d.verdict, summary="a [bold]literal[/] and [red]tags[/red] :warning: here"))
    plain, terminal = io.StringIO(), io.StringIO()
    print_diagnosis(odd, PlainConsole(plain))
    print_diagnosis(odd, Console(file=terminal, force_terminal=True, width=400, color_system=None))
    for out in (plain.getvalue(), terminal.getvalue()):
        assert "a [bold]literal[/] and [red]tags[/red] :warning: here" in out


def test_a_piped_diagnose_imports_no_rich(lab: Lab, tmp_path: Path) -> None:
    entry = lab["expired"]
    # The program ends with os._exit after a single diagnosis (cli.common.QuickExit): look there.
    code = ("import os, runpy, sys; sys.argv = ['tlsdoctor', 'diagnose', %r, '--ca-bundle', %r]\n"
            "def report(): print('RICH' if any(m.startswith('rich') for m in sys.modules) else 'NO RICH', file=sys.stderr)\n"
            "quick_exit = os._exit\nos._exit = lambda code: (report(), sys.stderr.flush(), quick_exit(code))\n"
            "try:\n    runpy.run_module('tlsdoctor', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "report()"
            ) % (entry.url, str(entry.ca_file))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "TLSDOCTOR_CACHE_DIR": str(tmp_path)})
    assert "cert.expired" in done.stdout
    assert done.stderr.strip().endswith("NO RICH"), done.stderr

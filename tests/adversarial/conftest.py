"""Shared pieces for the hostile-server conversations: the lab PKI and one diagnosis call."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from tlsdoctor.diagnosis import STAGES, Diagnosis, diagnose
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.render.diagnosis import diagnosis_json, print_diagnosis

TIMEOUT = 1.0  # the per-probe timeout these tests diagnose with (`--timeout 1`)


@pytest.fixture(scope="session")
def authorities() -> LabAuthorities:
    return LabAuthorities.create("http://127.0.0.1:9")  # nothing listens: revocation fetches fail at once


@pytest.fixture()
def root_file(authorities: LabAuthorities, tmp_path: Path) -> Path:
    path = tmp_path / "root.pem"
    path.write_bytes(authorities.root.cert_pem)
    return path


def diagnose_hostile(port: int, ca_file: Path, timeout: float = TIMEOUT) -> Diagnosis:
    """Diagnose the hostile server as `tlsdoctor diagnose --timeout 1` would, trusting ``ca_file`` only."""
    return diagnose(f"https://127.0.0.1:{port}/reset/SECRET-TOKEN?key=SECRET-QUERY", ca_bundle=ca_file,
                    timeout=timeout, env={}, os_store_env={"SSL_CERT_FILE": str(ca_file), "SSL_CERT_DIR": ""})


def assert_honest_and_in_time(d: Diagnosis) -> None:
    """Never a confident ok without proof, and a verdict within timeout × stages + 1 s.

    The bound is checked against the diagnosis's own measured elapsed time and its own
    configured timeout and deadline, not a wall-clock guess.
    """
    assert d.elapsed_ms / 1000 <= d.timeout * STAGES + 1, (d.elapsed_ms, d.timeout)
    assert d.elapsed_ms / 1000 <= d.deadline + 1, (d.elapsed_ms, d.deadline)
    assert not (d.verdict.code == "ok" and d.verdict.confidence >= 1.0 and d.could_not_check)
    assert not (d.verdict.code == "ok" and d.observations.cut)


def human(d: Diagnosis) -> str:
    console = Console(record=True, width=200, force_terminal=False)
    print_diagnosis(d, console)
    return console.export_text()


def as_json(d: Diagnosis) -> str:
    return diagnosis_json(d)

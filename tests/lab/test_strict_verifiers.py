"""The healthy scenario's chain passes sslyze, a strict RFC 5280 scanner, as served.

(``test_pki.py`` checks the same with ``cryptography.x509.verification`` in-process.)
sslyze runs from its own virtual environment; CI installs it, elsewhere the test skips.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tlsdoctor.lab import Lab
from tlsdoctor.tools import find_tool

SSLYZE = find_tool("sslyze", extra=("/opt/sslyze-venv/bin/sslyze",))

pytestmark = pytest.mark.skipif(
    SSLYZE is None and os.environ.get("CI") != "true", reason="sslyze is not installed (CI installs it)"
)


def sslyze_certinfo(tls_lab: Lab, scenario_id: str, tmp_path: Path) -> dict:  # type: ignore[type-arg]
    assert SSLYZE is not None, "CI must install sslyze (scripts/install.sh)"
    entry = tls_lab[scenario_id]
    port = entry.port
    out = tmp_path / f"{scenario_id}.json"
    subprocess.run(
        [str(SSLYZE), "--quiet", "--certinfo", f"--certinfo_ca_file={entry.ca_file}", f"--json_out={out}",
         f"localhost:{port}{{127.0.0.1}}"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    result = json.loads(out.read_text())["server_scan_results"][0]
    assert result["scan_status"] == "COMPLETED", result
    return result["scan_result"]["certificate_info"]["result"]["certificate_deployments"][0]


def supplied_ca_validation(deployment: dict) -> dict:  # type: ignore[type-arg]
    return next(r for r in deployment["path_validation_results"] if r["trust_store"]["name"] == "Supplied CA file")


def test_ok_chain_passes_sslyze_strict_validation(tls_lab: Lab, tmp_path: Path) -> None:
    deployment = sslyze_certinfo(tls_lab, "ok", tmp_path)
    validation = supplied_ca_validation(deployment)
    assert validation["validation_error"] is None
    assert len(validation["verified_certificate_chain"]) == 3  # leaf, intermediate, lab root
    assert deployment["received_chain_has_valid_order"] is True
    assert deployment["received_chain_contains_anchor_certificate"] is False
    assert deployment["verified_chain_has_sha1_signature"] is False


def test_sslyze_rejects_what_the_lab_breaks(tls_lab: Lab, tmp_path: Path) -> None:
    for scenario_id in ("bad-eku", "expired", "incomplete-chain"):
        validation = supplied_ca_validation(sslyze_certinfo(tls_lab, scenario_id, tmp_path))
        assert validation["validation_error"], scenario_id

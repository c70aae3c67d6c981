"""``fleet simulate``: deterministic, cohorts by the real rollout hash, documents as the client writes them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from tlsdoctor.client.rollout import Rollout, rollout_payload
from tlsdoctor.fleet.simulate import Regression, make_installs, simulate

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec" / "diagnosis-json.md"


def digest(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(directory.rglob("*.jsonl")):
        h.update(path.relative_to(directory).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_the_same_seed_writes_the_same_files(tmp_path: Path) -> None:
    options = dict(installs=60, days=3, regression=Regression("trust.interception", 10.0))
    simulate(tmp_path / "a", seed=5, **options)
    simulate(tmp_path / "b", seed=5, **options)
    simulate(tmp_path / "c", seed=6, **options)
    assert digest(tmp_path / "a") == digest(tmp_path / "b") != digest(tmp_path / "c")


def test_cohorts_are_what_the_clients_rollout_decides(tmp_path: Path) -> None:
    payload = rollout_payload(0.3, seed="http-stack")
    (tmp_path / "payload.json").write_text(json.dumps(payload))
    installs = make_installs(300, np.random.default_rng(1), payload, None)
    for install in installs[:50]:
        rollout = Rollout(payload=tmp_path / "payload.json", install_id=install.raw_id)
        assert rollout.stack().value == install.stack
    share = sum(i.stack == "curl" for i in installs) / len(installs)
    assert 0.2 < share < 0.4


def test_documents_have_the_spec_shape_and_every_install_uses_its_cohorts_stack(tmp_path: Path) -> None:
    truth = simulate(tmp_path, installs=80, days=2, seed=2)
    usage = [json.loads(line) for path in tmp_path.rglob("usage.jsonl") for line in path.read_text().splitlines()]
    reports = [json.loads(line) for path in tmp_path.rglob("reports.jsonl") for line in path.read_text().splitlines()]
    assert len(usage) == truth.usage_documents and len(reports) == truth.reports > 0
    text = SPEC.read_text()
    import re

    example = json.loads(re.search(r"```json\n(.*?)```", text[text.index("## Usage counters"):], re.S)[1])
    report_example = json.loads(re.search(r"```json\n(.*?)```", text[text.index("→ `tlsdoctor.report/1`"):], re.S)[1])
    for doc in usage:
        assert set(doc) == set(example) and set(doc["environment"]) == set(example["environment"])
        assert list(doc["stacks"]) == [doc["cohort"]["value"]]
    for report in reports:
        assert set(report) == set(report_example)
        assert report["stack"] == report["cohort"]["value"] and report["kind"] in ("failure", "fallback")
    seqs: dict[str, list[int]] = {}
    for doc in usage:
        seqs.setdefault(doc["install"], []).append(doc["seq"])
    assert all(sorted(s) == list(range(len(s))) for s in seqs.values())  # no gaps unless asked


def test_lost_usage_and_dropped_reports_are_what_the_gate_can_see(tmp_path: Path) -> None:
    truth = simulate(tmp_path, installs=100, days=3, seed=4, lose_usage=0.2, drop_reports=0.5)
    assert truth.usage_lost > 0 and truth.reports_dropped > 0
    usage = [json.loads(line) for path in tmp_path.rglob("usage.jsonl") for line in path.read_text().splitlines()]
    assert sum(d["reports"]["dropped"] for d in usage) <= truth.reports_dropped  # some went with lost documents


@pytest.mark.parametrize("text", ["nope:2", "trust.interception", "trust.interception:x", "trust.interception:2:ie"])
def test_a_bad_regression_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Regression.parse(text)

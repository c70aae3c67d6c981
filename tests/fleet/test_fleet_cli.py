"""``tlsdoctor fleet``'s command line: results on standard output, bad input as one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tlsdoctor.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_then_causes_as_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "fleet", "simulate", str(tmp_path / "f"), "--installs", "120", "--days", "2",
                       "--seed", "9", "--regress", "trust.interception:20")
    assert code == 0 and "120 installs" in out
    code, out, _ = run(capsys, "fleet", "causes", str(tmp_path / "f"))
    assert code == 0 and "trust.interception" in out and "curl" in out
    assert "trust.interception (curl) is signed by: " in out and "Root" in out
    code, out, _ = run(capsys, "fleet", "causes", str(tmp_path / "f" / "*" / "*.jsonl"), "--json",
                       "--since", "2026-11-03")
    doc = json.loads(out)
    assert doc["schema"] == "tlsdoctor.fleet-causes/1" and doc["window"]["first_day"] == "2026-11-03"
    code, out, _ = run(capsys, "fleet", "convert", str(tmp_path / "f"), "--out", str(tmp_path / "pq"))
    assert code == 0 and sorted(p.name for p in (tmp_path / "pq").iterdir()) == [
        "reports", "usage", "usage_failures", "usage_stacks"]


@pytest.mark.parametrize("argv", [
    ["fleet", "causes", "/nonexistent/fleet"],
    ["fleet", "causes", "/nonexistent/*.jsonl"],
    ["fleet", "causes", "s3://bucket/fleet"],
    ["fleet", "causes", ".", "--since", "yesterday"],
    ["fleet", "simulate", "OUT", "--installs", "0", "--days", "1"],
    ["fleet", "simulate", "OUT", "--installs", "5", "--days", "1", "--regress", "nope:2"],
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2 and not out
    assert err.startswith("tlsdoctor fleet") and err.count("\n") == 1 and "Traceback" not in err


def test_gate_refuses_a_bad_payload_or_stages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "fleet", "simulate", str(tmp_path / "f"), "--installs", "20", "--days", "1")
    (tmp_path / "bad.json").write_text('{"features": {"http-stack": {"defaultValue": "Curl"}}}')
    for extra in (["--payload", str(tmp_path / "bad.json")], ["--payload", str(tmp_path / "missing.json")],
                  ["--payload", str(tmp_path / "f" / "payload.json"), "--stages", "5,1"]):
        code, out, err = run(capsys, "fleet", "gate", str(tmp_path / "f"), *extra)
        assert code == 2 and not out and err.startswith("tlsdoctor fleet gate: ") and err.count("\n") == 1, err

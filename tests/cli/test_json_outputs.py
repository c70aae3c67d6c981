"""``--json`` for demo, check and get: the documents docs/spec/diagnosis-json.md describes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tlsdoctor.lab.runner import Lab


def tlsdoctor(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tlsdoctor", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_demo_json() -> None:
    done = tlsdoctor("demo", "--only", "ok", "expired", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema"] == "tlsdoctor.demo/1" and doc["right"] == doc["total"] == 2
    by_name = {c["name"]: c for c in doc["cases"]}
    assert by_name["expired"]["diagnosed"] == "cert.expired" and by_name["expired"]["right"] is True
    assert by_name["expired"]["diagnosis"]["schema"] == "tlsdoctor.diagnosis/1"


def test_check_json() -> None:
    done = tlsdoctor("check", "--only", "ok", "expired", "tcp-refused", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema"] == "tlsdoctor.check/1" and doc["matched"] == doc["ran"] == 3
    expired = next(s for s in doc["scenarios"] if s["id"] == "expired")
    assert expired["libcurl"]["curl_code"] == expired["expected"]["curl_code"] == 60 and expired["matches"]


def test_get_json_success_and_failure_with_secrets_redacted(tls_lab: Lab) -> None:
    ok = tls_lab["ok"]
    done = tlsdoctor("get", ok.url + "?token=s3cr3t", "--ca-bundle", str(ok.ca_file), "--json", "--stack", "curl")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema"] == "tlsdoctor.get/1" and doc["ok"] and doc["status"] == 200 and doc["stack"] == "curl"
    assert "s3cr3t" not in done.stdout + done.stderr
    expired = tls_lab["expired"]
    done = tlsdoctor("get", expired.url, "--ca-bundle", str(expired.ca_file), "--json", "--stack", "curl",
                     "--timeout", "5")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert doc["ok"] is False and doc["status"] is None
    assert doc["error"]["code"] == "cert.expired" and doc["error"]["curl_code"] == 60


def test_print_result_prints_the_document_with_json_and_renders_for_a_person_otherwise(
        capsys: pytest.CaptureFixture[str]) -> None:
    # The one rule diagnose, explain and torture print their result by (cli/common.py).
    from rich.console import Console

    from tlsdoctor.cli.common import print_result

    rendered: list[tuple[object, object]] = []
    print_result({"a": 1}, True, json.dumps, lambda result, console: rendered.append((result, console)))
    assert capsys.readouterr().out == '{"a": 1}\n' and not rendered
    print_result({"a": 1}, False, lambda result: "never", lambda result, console: rendered.append((result, console)))
    assert capsys.readouterr().out == ""
    assert rendered and rendered[0][0] == {"a": 1} and isinstance(rendered[0][1], Console)

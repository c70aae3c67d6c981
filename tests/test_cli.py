"""The ``tlsdoctor`` command as a user meets it: real processes, real exit codes."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

from tlsdoctor.lab.scenarios import CATALOGUE
from tlsdoctor.render.lab import catalogue_markdown

README = Path(__file__).resolve().parents[1] / "README.md"

ISSUE_SCENARIOS = {
    "ok", "expired", "not-yet-valid", "wrong-host", "self-signed", "untrusted-root", "incomplete-chain",
    "revoked-ocsp", "revoked-crl", "must-staple-missing", "sha1-signature", "rsa-1024", "no-san", "bad-eku",
    "expiring-soon", "tls1.0-only", "tls1.3-only", "no-shared-cipher", "alert-handshake-failure",
    "alert-close-notify-fatal", "reset-after-hello", "close-after-hello", "stall-handshake", "plain-http",
    "h2-broken", "no-close-notify", "intercepting-proxy", "proxy-auth-required", "proxy-refuses-connect",
    "proxy-bad-gateway", "corrupt-ca-bundle", "clock-skew", "dns-unresolvable", "tcp-refused",
}


def tlsdoctor(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tlsdoctor", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_lab_json_lists_every_scenario_then_stops_cleanly_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tlsdoctor", "lab", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        document = json.loads(proc.stdout.readline())
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    assert document["schema"] == "tlsdoctor.lab/1"
    listed = {s["id"]: s for s in document["scenarios"]}
    assert ISSUE_SCENARIOS <= set(listed)
    for entry in listed.values():
        assert entry["url"].startswith("https://")
        assert re.fullmatch(r"[a-z0-9]+(\.[a-z0-9_]+)*", entry["code"])
        assert isinstance(entry["curl_code"], int)
    assert not Path(document["run_dir"]).exists(), "the lab removes its run directory on exit"


def test_lab_only_serves_the_named_scenarios_and_their_dependencies() -> None:
    done = tlsdoctor("lab", "--json", "--only", "intercepting-proxy", "--duration", "0.5")
    assert done.returncode == 0, done.stderr
    ids = [s["id"] for s in json.loads(done.stdout)["scenarios"]]
    assert ids == ["intercepting-proxy"]


def test_lab_table_for_humans() -> None:
    done = tlsdoctor("lab", "--only", "expired", "--duration", "0.3")
    assert done.returncode == 0
    assert "expired" in done.stdout and "cert.expired" in done.stdout and "https://127.0.0.1:" in done.stdout


def test_bad_input_is_one_line_and_exit_2() -> None:
    for args in (["lab", "--only", "no-such-scenario"], ["lab", "--bogus"], ["nonsense"], ["lab", "--duration", "-1"]):
        done = tlsdoctor(*args)
        assert done.returncode == 2, args
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr


def test_a_typed_url_or_proxy_is_never_echoed_with_its_password() -> None:
    # The error exists because the value did not parse: its userinfo must go all the same.
    for args in (["diagnose", "https://bob:hunter2@127.0.0.1:99999/?t=SECRET"],
                 ["diagnose", "https://bob:hunter2 @127.0.0.1/"],
                 ["diagnose", "--proxy", "bob:hunter2@proxy.invalid:99999", "https://127.0.0.1:1/"],
                 ["diagnose", "--proxy", "ftp://bob:hunter2@proxy.invalid:1", "https://127.0.0.1:1/"]):
        done = tlsdoctor(*args)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)
        assert "hunter2" not in done.stderr and "SECRET" not in done.stderr, done.stderr
        assert "[redacted]" in done.stderr


def test_console_script_and_module_agree() -> None:
    # The console script the install put beside this interpreter, not whatever PATH holds: a
    # fresh clone's tests run as `.venv/bin/python -m pytest` with nothing of it on PATH.
    script = Path(sys.executable).with_name("tlsdoctor")
    assert script.is_file(), f"the install did not put the console script beside {sys.executable}"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0 and done.stdout.startswith("tlsdoctor ")
    assert tlsdoctor("--version").stdout == done.stdout


def test_catalogue_json_matches_the_code() -> None:
    done = tlsdoctor("catalogue", "--json")
    assert [s["id"] for s in json.loads(done.stdout)["scenarios"]] == [s.id for s in CATALOGUE]


def test_readme_catalogue_is_generated_from_the_code() -> None:
    text = README.read_text()
    start, end = "<!-- catalogue:start -->\n", "<!-- catalogue:end -->"
    embedded = text[text.index(start) + len(start) : text.index(end)]
    assert embedded == catalogue_markdown(CATALOGUE), "run: tlsdoctor catalogue --markdown, paste into README"


def test_check_meets_every_scenario_with_libcurl() -> None:
    done = tlsdoctor("check", timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert re.search(r"(\d+) of \1 scenarios failed or worked exactly as the catalogue says", done.stdout)


def test_demo_diagnoses_every_scenario_right() -> None:
    done = tlsdoctor("demo", timeout=180)
    assert done.returncode == 0, done.stdout[-3000:]
    match = re.search(r"(\d+) of \1 diagnosed right", done.stdout)
    assert match and int(match.group(1)) == len(CATALOGUE) + 2  # + the two extra interception variants


def test_ci_runs_the_readme_test_command() -> None:
    root = README.parent
    line = next(l for l in README.read_text().splitlines() if "run the tests" in l and "&&" in l)
    test_command = line.split("&&", 1)[1].split("#", 1)[0].strip()
    ci_lines = [l.strip() for l in (root / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines
    install = line.split("&&", 1)[0].strip()
    assert install in ci_lines

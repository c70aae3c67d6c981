"""``tlsdoctor explain`` as a person meets it: the fix and page of every cause, exit codes, a prompt."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from tlsdoctor.explain import explain
from tlsdoctor.findings import FINDING_CODES
from tlsdoctor.render.explanation import explanation_document


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tlsdoctor", "explain", *args], capture_output=True, text=True,
                          timeout=120, input=stdin, check=False)


def test_every_candidate_gets_its_fix_and_page() -> None:
    done = run_cli(stdin="curl: (60) SSL certificate problem: unable to get local issuer certificate\n")
    assert done.returncode == 0, done.stderr
    e = explain("curl: (60) SSL certificate problem: unable to get local issuer certificate")
    for candidate in e.candidates:
        assert f"docs/findings/{candidate.code}.md" in done.stdout
        assert (Path(__file__).parents[2] / "docs" / "findings" / f"{candidate.code}.md").is_file()
    assert done.stdout.count("fix:") == len(e.candidates)


def test_json_gains_fix_page_and_tells_apart_and_keeps_every_field() -> None:
    done = run_cli("--json", stdin='"curl_code":60')
    document = json.loads(done.stdout)
    assert document["schema"] == "tlsdoctor.explanation/1"
    for entry in document["candidates"]:
        assert {"code", "likelihood", "why", "check", "reason", "summary", "curl_code", "nel_type", "fix", "page",
                "tells_apart"} <= set(entry)
        assert entry["page"] == f"docs/findings/{entry['code']}.md" and entry["fix"]
        assert entry["summary"] == FINDING_CODES[entry["code"]].summary
    assert {"notes", "ecosystems", "collect", "input_kind"} <= set(document)


def test_unrecognised_input_exits_1_and_says_what_to_collect() -> None:
    done = run_cli(stdin="it doesn't work, see https://api.example.com/app\n")
    assert done.returncode == 1
    assert "curl -v https://api.example.com/" in done.stdout
    assert "tlsdoctor diagnose https://api.example.com/" in done.stdout
    document = explanation_document(explain("it doesn't work"))
    assert document["candidates"] == [] and document["collect"]


def test_an_unreadable_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.txt", tmp_path):
        done = run_cli(str(path))
        assert done.returncode == 2
        assert done.stderr.startswith("tlsdoctor explain: ") and len(done.stderr.strip().splitlines()) == 1
        assert "Traceback" not in done.stderr


def test_on_a_terminal_with_no_input_it_asks_for_a_paste_on_stderr() -> None:
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "tlsdoctor", "explain"], stdin=terminal,
                               stdout=subprocess.PIPE, stderr=terminal, close_fds=True)
    os.close(terminal)
    try:
        seen = b""
        deadline = time.monotonic() + 30
        while b"Ctrl-D" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1)
            if ready:
                seen += os.read(controller, 1024)
        assert b"Paste the error text, then press Ctrl-D" in seen
        os.write(controller, b"NET::ERR_CERT_DATE_INVALID\n\x04")
        out, _ = process.communicate(timeout=30)
        assert b"cert.expired" in out and b"Paste" not in out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        os.close(controller)

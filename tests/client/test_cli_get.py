"""`tlsdoctor get`, and the rule that the client never turns verification off."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tlsdoctor.lab import Lab

CLIENT_SRC = Path(__file__).resolve().parents[2] / "src" / "tlsdoctor" / "client"


def tlsdoctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tlsdoctor", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_get_shows_the_decision_and_the_fallback(tls_lab: Lab) -> None:
    entry = tls_lab["h2-broken"]
    done = tlsdoctor("get", entry.url, "--stack", "curl", "--ca-bundle", str(entry.ca_file), "-v")
    assert done.returncode == 0, done.stderr
    assert "* stack: curl" in done.stderr
    assert "curl failed: http2.negotiation_failed (curl 16)" in done.stderr
    assert "* fallback: curl -> native" in done.stderr and "via native" in done.stderr
    assert done.stdout == "ok\n"


def test_get_failure_and_bad_input(tls_lab: Lab) -> None:
    expired = tls_lab["expired"]
    done = tlsdoctor("get", expired.url, "--stack", "curl", "--ca-bundle", str(expired.ca_file))
    assert done.returncode == 1 and "cert.expired (curl 60)" in done.stderr
    for args in (["get", "ftp://x/"], ["get", expired.url, "--ca-bundle", "/nonexistent.pem"],
                 ["get", expired.url, "--stack", "other"], ["get", "https://bob:hunter2@127.0.0.1:99999/?t=SECRET"],
                 ["get", "https://bob:hunter2@127.0.0.1 /"]):
        bad = tlsdoctor(*args)
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, (args, bad.stderr)
        # A malformed URL is refused before any stack sends it, and never echoed with its secrets.
        assert "hunter2" not in bad.stderr and "SECRET" not in bad.stderr and "failed" not in bad.stderr


def test_no_client_code_path_disables_verification() -> None:
    forbidden = re.compile(r"verify\s*=\s*False|CERT_NONE|SSL_VERIFYPEER\s*,\s*0|SSL_VERIFYHOST\s*,\s*0|"
                           r"check_hostname\s*=\s*False|VERIFY_NONE")
    offenders = [f"{path.name}:{n}" for path in CLIENT_SRC.glob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1) if forbidden.search(line)]
    assert not offenders

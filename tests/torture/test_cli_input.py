"""Bad input and unsafe targets: one line, exit 2, and no attack sent anywhere."""

from __future__ import annotations

import json
import socket

import pytest

from tlsdoctor.cli import main
from tlsdoctor.lab import Lab


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["torture", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tlsdoctor torture: "), err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["http://127.0.0.1:1/"], "only https://"),
        (["https://127.0.0.1:1/", "--only", "no-such-attack"], "unknown attack"),
        (["https://192.0.2.10/"], "--allow-remote"),  # RFC 5737: never contacted, refused before
        (["https://user:pw@127.0.0.1:1/"], "credentials"),
        (["https://127.0.0.1:1/", "--ca-bundle", "/nonexistent/ca.pem"], "CA file not found"),
        ([], "URL is required"),
        (["https://127.0.0.1:1/", "--rounds", "0"], "must be positive"),
    ],
)
def test_bad_input(capsys: pytest.CaptureFixture[str], argv: list[str], says: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert says in one_line_error(err)
    assert "pw" not in err


def test_target_that_does_not_answer_the_baseline(capsys: pytest.CaptureFixture[str], tls_lab: Lab) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        code, out, err = run(capsys, f"https://127.0.0.1:{port}/", "--ca-bundle", str(tls_lab["ok"].ca_file))
    assert code == 2 and out == ""
    assert "does not answer the baseline" in one_line_error(err)


def test_untrusted_target_is_a_baseline_failure_not_a_report(capsys: pytest.CaptureFixture[str], tls_lab: Lab) -> None:
    # Sanity requests verify, always: a certificate the CA file does not vouch for stops the run.
    entry = tls_lab["self-signed"]
    code, _out, err = run(capsys, entry.url, "--ca-bundle", str(entry.ca_file))
    assert code == 2 and "curl 60" in one_line_error(err)


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--list", "--json")
    assert code == 0
    ids = [a["id"] for a in json.loads(out)["attacks"]]
    assert "drop-without-close-notify" in ids and "h2-rapid-reset" in ids


def test_allow_remote_prints_the_warning(capsys: pytest.CaptureFixture[str], tls_lab: Lab) -> None:
    entry = tls_lab["ok"]
    code, _out, err = run(capsys, entry.url, "--ca-bundle", str(entry.ca_file), "--allow-remote", "--only", "garbage",
                          "--rounds", "1", "--json")
    assert code == 0 and "only torture a server you own" in err


def test_no_insecure_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, "https://127.0.0.1:1/", "--insecure")
    assert code == 2 and "unrecognized" in err


def test_list_table_and_progress_bar_only_on_a_terminal() -> None:
    import io

    from rich.console import Console

    from tlsdoctor.render.torture import catalogue_table, progress_bar

    out = io.StringIO()
    catalogue_table(Console(file=out, width=200))
    assert "drop-without-close-notify" in out.getvalue() and "unclean-close-state" in out.getvalue()
    piped = Console(file=io.StringIO(), force_terminal=False)
    with progress_bar(piped, 3) as update:
        assert update is None  # nothing on a pipe
    terminal_out = io.StringIO()
    with progress_bar(Console(file=terminal_out, force_terminal=True, width=120), 2) as update:
        assert update is not None
        update("garbage", 0, 4)
        update("garbage", 4, 4)
    assert "garbage" in terminal_out.getvalue()


def test_lab_serves_the_fragile_servers_on_request() -> None:
    import subprocess
    import sys
    from pathlib import Path

    tlsdoctor = Path(sys.executable).with_name("tlsdoctor")
    done = subprocess.run([str(tlsdoctor), "lab", "--fragile", "--json", "--duration", "0.5"],
                          capture_output=True, text=True, timeout=30)
    document = json.loads(done.stdout.splitlines()[0])
    assert done.returncode == 0 and document["scenarios"] == []  # fragile servers alone, not the catalogue
    assert [f["id"] for f in document["fragile"]] == ["fragile-eof", "fragile-blocking"]
    assert all(f["url"].startswith("https://127.0.0.1:") for f in document["fragile"])

"""``tlsdoctor demo`` in a real pseudo-terminal, 80 columns wide, as a person sees it.

pexpect runs the command on a pty; pyte (a VT100 emulator) turns what it writes into the
screen a terminal would show. While it runs, the screen must show progress (on standard
error, which is the same terminal); at the end, an intact table: no line wider than 80
columns, no cell cut to an ellipsis, every scenario and verdict whole, and the closing count.
"""

from __future__ import annotations

import os
import re
import sys
import time

import pexpect
import pyte

from tlsdoctor.lab.runner import Lab

COLUMNS, LINES = 80, 400  # a tall screen: the whole table stays on it for the final check


def run_on_terminal(args: list[str], watch: str, *, lines: int = LINES) -> tuple[int | None, list[str], list[str]]:
    """Run ``tlsdoctor ARGS`` on an 80-column pty; the final screen, and the screens that showed ``watch``."""
    screen = pyte.Screen(COLUMNS, lines)
    stream = pyte.Stream(screen)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env.update(TERM="xterm-256color", COLUMNS=str(COLUMNS), LINES=str(lines))
    child = pexpect.spawn(sys.executable, ["-m", "tlsdoctor", *args], env=env, dimensions=(lines, COLUMNS),
                          encoding="utf-8", codec_errors="replace", timeout=120)
    seen: list[str] = []
    deadline = time.monotonic() + 150
    try:
        while time.monotonic() < deadline:
            try:
                stream.feed(child.read_nonblocking(65536, timeout=0.2))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                break
            shown = "\n".join(screen.display)
            if re.search(watch, shown):
                seen.append(shown)
    finally:
        child.close(force=True)
    return child.exitstatus, [line.rstrip() for line in screen.display], seen


def test_demo_on_an_80_column_terminal_shows_progress_then_an_intact_table() -> None:
    only = ["ok", "expired", "stall-handshake", "intercepting-proxy", "proxy-auth-required"]
    status, lines, progress_seen = run_on_terminal(["demo", "--only", *only], r"diagnosing .*\d+/\d+")
    assert status == 0, "\n".join(lines)
    assert progress_seen, "no progress line appeared while the demo ran"

    text = "\n".join(lines).strip()
    assert "diagnosing" not in text.split("tlsdoctor demo")[-1], "the progress line stayed on screen"
    assert re.search(r"(\d+) of \1 diagnosed right", text), text
    assert all(len(line) <= COLUMNS for line in lines)
    assert "…" not in text, text
    for word in (*only, "cert.expired", "tls.handshake_timeout", "trust.interception", "proxy.auth_required"):
        assert re.search(rf"(^|\s){re.escape(word)}(\s|$)", text, re.M), f"{word} not whole on screen:\n{text}"


def test_a_diagnosis_says_which_probe_it_waits_on_and_for_how_long(tls_lab: Lab) -> None:
    entry = tls_lab["stall-handshake"]
    status, lines, seen = run_on_terminal(
        ["diagnose", entry.url, "--ca-bundle", str(entry.ca_file), "--timeout", "1.5"],
        r"waiting \d+\.\d s on .*handshake", lines=60)
    assert status == 1
    assert seen, "the progress line never named the probe it waited on"
    text = "\n".join(lines)
    assert "tls.handshake_timeout" in text and "waiting" not in text  # the line goes when the answer comes

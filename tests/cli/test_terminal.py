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

COLUMNS, LINES = 80, 400  # a tall screen: the whole table stays on it for the final check


def test_demo_on_an_80_column_terminal_shows_progress_then_an_intact_table() -> None:
    screen = pyte.Screen(COLUMNS, LINES)
    stream = pyte.Stream(screen)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env.update(TERM="xterm-256color", COLUMNS=str(COLUMNS), LINES=str(LINES))
    only = ["ok", "expired", "stall-handshake", "intercepting-proxy", "proxy-auth-required"]
    child = pexpect.spawn(sys.executable, ["-m", "tlsdoctor", "demo", "--only", *only], env=env,
                          dimensions=(LINES, COLUMNS), encoding="utf-8", codec_errors="replace", timeout=120)
    progress_seen: list[str] = []
    deadline = time.monotonic() + 150
    try:
        while time.monotonic() < deadline:
            try:
                chunk = child.read_nonblocking(65536, timeout=0.2)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                break
            stream.feed(chunk)
            shown = "\n".join(screen.display)
            if "diagnosing" in shown and re.search(r"\d+/\d+", shown):
                progress_seen.append(shown)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, "\n".join(screen.display)
    assert progress_seen, "no progress line appeared while the demo ran"

    lines = [line.rstrip() for line in screen.display]
    text = "\n".join(lines).strip()
    assert "diagnosing" not in text.split("tlsdoctor demo")[-1], "the progress line stayed on screen"
    assert re.search(r"(\d+) of \1 diagnosed right", text), text
    assert all(len(line) <= COLUMNS for line in lines)
    assert "…" not in text, text
    for word in (*only, "cert.expired", "tls.handshake_timeout", "trust.interception", "proxy.auth_required"):
        assert re.search(rf"(^|\s){re.escape(word)}(\s|$)", text, re.M), f"{word} not whole on screen:\n{text}"

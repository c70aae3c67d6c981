"""The human ``lab`` table says how a client must be set up, and only says Ctrl-C when it must."""

from __future__ import annotations

import subprocess
import sys


def lab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tlsdoctor", "lab", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_the_table_shows_each_scenarios_client_set_up() -> None:
    done = lab("--only", "tls1.3-only", "corrupt-ca-bundle", "clock-skew", "--duration", "0.3")
    assert done.returncode == 0, done.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in done.stdout.splitlines() if "\t" in line}
    header = rows.pop("scenario")
    setup = header.index("client set-up")
    assert "--max-tls 1.2" in rows["tls1.3-only"][setup] and "ca-lab.pem" in rows["tls1.3-only"][setup]
    assert "corrupt" in rows["corrupt-ca-bundle"][setup]
    assert "clock 3 days ahead" in rows["clock-skew"][setup]


def test_ctrl_c_is_only_mentioned_without_duration() -> None:
    done = lab("--only", "ok", "--duration", "0.3")
    assert "Ctrl-C" not in done.stdout and "Stops after 0.3 s." in done.stdout

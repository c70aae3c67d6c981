"""How fast is a diagnosis, against one libcurl attempt and a bare interpreter, in the same run?

Prints, for lab scenarios (default: ok, expired, incomplete-chain, intercepting-proxy,
no-shared-cipher, stall-handshake):

- **diagnosis ÷ one pycurl attempt**: an in-process ``tlsdoctor.diagnose()`` (as the demo
  sets the client up) over one pycurl request to the same URL with the same trust and
  proxy, per round; min / median / max of the per-round ratios (goal: median ≤ 5);
- **connections** one diagnosis opened (its own count: the lab runs in another process);
- **whole process**: ``python -c pass``, a process importing only the third-party libraries
  a diagnosis needs (its floor), ``tlsdoctor --version`` and ``tlsdoctor diagnose``
  of the ``ok`` scenario as separate processes, medians, and the ratio
  ``--version`` ÷ ``python -c pass`` (goal ≤ 3; goal for diagnose: ≤ 250 ms median).

The lab runs as a separate process (``tlsdoctor lab --json``), so the server's work never
shares the measured process's interpreter lock. Rounds interleave the peers so that
machine noise hits all of them alike. Bounded in count and time; measures, never asserts.

    python bench/diagnose_bench.py [--rounds N] [--process-rounds N] [--scenarios ID ...]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from tlsdoctor.diagnosis import diagnose
from tlsdoctor.observe.curl import CurlAttempt, curl_attempt

SCENARIOS = ["ok", "expired", "incomplete-chain", "intercepting-proxy", "no-shared-cipher", "stall-handshake"]
TIMEOUT = 1.0  # stall-handshake waits this long, in the diagnosis and in libcurl alike
BUDGET_S = 240  # the whole run stops starting rounds after this
FLOOR_IMPORTS = ("asyncio", "pycurl", "cryptography.x509", "cryptography.hazmat.backends.openssl", "OpenSSL.SSL", "h11")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def spread(values: list[float], scale: float = 1.0, unit: str = "") -> str:
    return (f"{min(values) * scale:.1f}/{statistics.median(values) * scale:.1f}/{max(values) * scale:.1f}{unit}")


def start_lab(ids: list[str]) -> tuple[subprocess.Popen[str], dict[str, dict[str, Any]]]:
    tlsdoctor = Path(sys.executable).with_name("tlsdoctor")
    proc = subprocess.Popen([str(tlsdoctor), "lab", "--json", "--duration", str(BUDGET_S + 120), "--only", *ids],
                            stdout=subprocess.PIPE, text=True, env=_clean_env())
    line = proc.stdout.readline() if proc.stdout else ""
    if not line:
        proc.kill()
        raise SystemExit("diagnose_bench: the lab did not start")
    return proc, {s["id"]: s for s in json.loads(line)["scenarios"]}


def stop_lab(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL if the lab has not gone within 10 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _clean_env() -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE goes too: an installed package has its .pyc files, and a
    # process that compiles every module from source measures the compiler, not tlsdoctor.
    return {k: v for k, v in os.environ.items()
            if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
                         "PYTHONDONTWRITEBYTECODE")
            and not k.lower().endswith("_proxy")}


def options(s: dict[str, Any]) -> dict[str, Any]:
    """The client a scenario describes: its CA file (also as its OS store), proxy and TLS cap."""
    return {"ca_bundle": s["ca_file"], "proxy": s["proxy"], "max_tls": s["client"]["max_tls"], "timeout": TIMEOUT,
            "env": {}, "os_store_env": {"SSL_CERT_FILE": s["ca_file"], "SSL_CERT_DIR": ""}}


def attempt(s: dict[str, Any]) -> CurlAttempt:
    return CurlAttempt(url=s["url"], ca_file=Path(s["ca_file"]), proxy=s["proxy"], max_tls=s["client"]["max_tls"],
                       timeout=TIMEOUT, connect_timeout=TIMEOUT)


def in_process(lab: dict[str, dict[str, Any]], ids: list[str], rounds: int, stop_at: float) -> None:
    print(f"diagnosis ÷ one pycurl attempt, {rounds} interleaved rounds (min/median/max):")
    print(f"  {'scenario':20} {'diagnosis ms':>18} {'pycurl ms':>16} {'ratio':>16} {'conns':>5}  verdict")
    for sid in ids:
        s = lab[sid]
        diagnose(s["url"], **options(s))  # warm-up: imports, per-process trust caches
        diag, curl, ratios, conns, verdicts = [], [], [], [], set()
        for _ in range(rounds):
            if time.monotonic() > stop_at:
                break
            d_time, d = timed(lambda: diagnose(s["url"], **options(s)))
            c_time, _result = timed(lambda: curl_attempt(attempt(s)))
            diag.append(d_time)
            curl.append(c_time)
            ratios.append(d_time / c_time)
            conns.append(d.observations.connections)
            verdicts.add(d.verdict.code)
        if diag:
            print(f"  {sid:20} {spread(diag, 1000):>18} {spread(curl, 1000):>16} {spread(ratios):>16} "
                  f"{max(conns):5d}  {', '.join(sorted(verdicts))}")


def whole_process(lab: dict[str, dict[str, Any]], rounds: int, stop_at: float) -> None:
    """Separate processes, as a user starts them: the machine's own OS store, certifi unless told.

    One warm-up run of each first writes the .pyc files and the trust-store cache
    (``~/.cache/tlsdoctor``): the state of every run after the first on a machine. The
    cold column (``TLSDOCTOR_CACHE_DIR=""``) parses the stores in the process, as a first run does.
    """
    tlsdoctor = str(Path(sys.executable).with_name("tlsdoctor"))
    ok = lab["ok"]
    diagnose_ok = [tlsdoctor, "diagnose", ok["url"], "--ca-bundle", ok["ca_file"]]
    commands = {
        "python -c pass": ([sys.executable, "-c", "pass"], {}),
        # The floor under a whole diagnosis: the libraries it cannot do without (libcurl's
        # attempt, X.509 and its EC signature backend, pyOpenSSL's handshake, the probes'
        # event loop, h11 for OCSP/CRL), imported and nothing done.
        "  third-party imports": ([sys.executable, "-c", f"import {', '.join(FLOOR_IMPORTS)}"], {}),
        "tlsdoctor --version": ([tlsdoctor, "--version"], {}),
        "tlsdoctor diagnose ok": (diagnose_ok, {}),
        "  same, no trust cache": (diagnose_ok, {"TLSDOCTOR_CACHE_DIR": ""}),
    }
    for argv, extra in commands.values():
        subprocess.run(argv, capture_output=True, timeout=60, env={**_clean_env(), **extra})
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        if time.monotonic() > stop_at:
            break
        for name, (argv, extra) in commands.items():  # interleaved: one of each per round
            env = {**_clean_env(), **extra}
            elapsed, _ = timed(lambda: subprocess.run(argv, capture_output=True, timeout=60, env=env))
            times[name].append(elapsed)
    print(f"\nwhole process, {len(times['python -c pass'])} interleaved rounds (min/median/max, ms):")
    for name, values in times.items():
        print(f"  {name:24} {spread(values, 1000)}")
    base = statistics.median(times["python -c pass"])
    print(f"  --version ÷ python -c pass: {statistics.median(times['tlsdoctor --version']) / base:.1f} (goal ≤ 3); "
          f"diagnose ok median {statistics.median(times['tlsdoctor diagnose ok']) * 1000:.0f} ms (goal ≤ 250), "
          f"{(statistics.median(times['tlsdoctor diagnose ok']) - statistics.median(times['  third-party imports'])) * 1000:.0f} ms "
          f"above the third-party imports")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--process-rounds", type=int, default=11)
    parser.add_argument("--scenarios", nargs="+", default=SCENARIOS)
    args = parser.parse_args()
    stop_at = time.monotonic() + BUDGET_S
    proc, lab = start_lab(sorted({*args.scenarios, "ok"}))
    try:
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; Python {sys.version.split()[0]}")
        in_process(lab, args.scenarios, args.rounds, stop_at)
        if args.process_rounds > 0:
            whole_process(lab, args.process_rounds, stop_at)
    finally:
        stop_lab(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

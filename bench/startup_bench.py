"""Where a whole ``tlsdoctor diagnose`` process spends its time, phase by phase.

bench/diagnose_bench.py times whole processes; this one splits one of them. Each round
starts a fresh interpreter that runs the ``tlsdoctor`` program on the lab's ok scenario
(its CA file as ``--ca-bundle``, this machine's own OS store, output piped), after
importing the third-party libraries a diagnosis cannot do without, and reports when each
phase ended; the parent and the child read the same monotonic clock, so the phases add up
to the wall time the parent saw:

- **interpreter start**: spawn, the interpreter, ``site``, until the child's first line;
- **third-party imports**: asyncio, pycurl, cryptography.x509 and its EC backend,
  pyOpenSSL, h11 (the floor: bench/diagnose_bench.py's "third-party imports" row);
- **tlsdoctor imports**: everything imported before the diagnosis starts (tlsdoctor's own
  modules, argparse, json, pathlib, the thread pool...);
- **diagnosis**: ``tlsdoctor.diagnosis.diagnose()``, the first in its process;
- **render + print**, and **exit** (until the parent's ``wait`` returned).

``python -c pass`` runs interleaved as the peer. One warm-up round (``.pyc`` files, the
trust cache) is not counted. Bounded in rounds and time; measures, never asserts.

    python bench/startup_bench.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# The same child environment, lab process and third-party floor as the whole-process table.
from diagnose_bench import FLOOR_IMPORTS as THIRD_PARTY
from diagnose_bench import _clean_env as clean_env
from diagnose_bench import start_lab, stop_lab

BUDGET_S = 180

# The child: the console script's own two lines (tlsdoctor.cli.main), with a clock read at
# each phase. tlsdoctor.diagnosis.diagnose is wrapped where cli.diagnose looks it up; the
# program ends in os._exit after a single diagnosis, so the report is written from there.
CHILD = """
import os, sys, time
T = {"start": time.monotonic()}
import %(third_party)s
T["third_party"] = time.monotonic()
sys.argv = ["tlsdoctor", *%(argv)r]
import tlsdoctor.diagnosis
real = tlsdoctor.diagnosis.diagnose
def diagnose(*args, **kwargs):
    T["imported"] = time.monotonic()
    try:
        return real(*args, **kwargs)
    finally:
        T["diagnosed"] = time.monotonic()
tlsdoctor.diagnosis.diagnose = diagnose
def report():
    T["printed"] = time.monotonic()
    import json  # the diagnosis imported it already (the trust cache)
    os.write(2, ("PHASES " + json.dumps(T) + "\\n").encode())
quick_exit = os._exit
os._exit = lambda code: (report(), quick_exit(code))
from tlsdoctor.cli import main
code = main()
report()
sys.exit(code)
"""

PHASES = ("interpreter start", "third-party imports", "tlsdoctor imports", "diagnosis", "render + print", "exit",
          "total")


def one_process(child: str) -> dict[str, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60, env=clean_env())
    ended = time.monotonic()
    line = next((l for l in done.stderr.splitlines() if l.startswith("PHASES ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"startup_bench: the diagnosis failed ({done.returncode}): {done.stderr[-300:]}")
    t = json.loads(line[len("PHASES "):])
    return {
        "interpreter start": t["start"] - started,
        "third-party imports": t["third_party"] - t["start"],
        "tlsdoctor imports": t["imported"] - t["third_party"],
        "diagnosis": t["diagnosed"] - t["imported"],
        "render + print": t["printed"] - t["diagnosed"],
        "exit": ended - t["printed"],
        "total": ended - started,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    lab, scenarios = start_lab(["ok"])
    try:
        ok = scenarios["ok"]
        child = CHILD % {"third_party": ", ".join(THIRD_PARTY),
                         "argv": ["diagnose", ok["url"], "--ca-bundle", ok["ca_file"]]}
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; Python {sys.version.split()[0]}")
        one_process(child)  # warm-up: .pyc files, the trust cache
        subprocess.run([sys.executable, "-c", "pass"], env=clean_env(), check=True)
        stop_at = time.monotonic() + BUDGET_S
        rows, bare = [], []
        for _ in range(args.rounds):
            if time.monotonic() > stop_at:
                break
            started = time.monotonic()
            subprocess.run([sys.executable, "-c", "pass"], env=clean_env(), check=True)
            bare.append(time.monotonic() - started)
            rows.append(one_process(child))
        print(f"tlsdoctor diagnose ok, {len(rows)} processes interleaved with python -c pass "
              f"(load average now {os.getloadavg()[0]:.2f}); ms, min / median:")
        for phase in PHASES:
            values = [r[phase] * 1000 for r in rows]
            print(f"  {phase:22} {min(values):6.1f} {statistics.median(values):6.1f}")
        print(f"  {'python -c pass':22} {min(bare) * 1000:6.1f} {statistics.median(bare) * 1000:6.1f}")
    finally:
        stop_lab(lab)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

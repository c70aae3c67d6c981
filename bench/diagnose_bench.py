"""How fast is a diagnosis, against peers measured in the same run on the same lab server?

Prints, for failing lab scenarios (default: expired, incomplete-chain, tls1.0-only):

- median in-process diagnosis time ÷ median of one pycurl attempt on the same URL (goal ≤ 5);
- TCP connections one diagnosis opens, counted by the lab's server itself (goal ≤ 12);
- diagnosis time ÷ one sslyze full scan of the same server (goal ≤ 0.25), when sslyze is
  installed (scripts/install.sh puts it beside tlsdoctor's interpreter);
- the wall time of diagnosing the whole catalogue concurrently, as `tlsdoctor demo` does.

Rounds interleave the peers so that machine noise hits all of them alike. Bounded in
count and time; measures, never asserts.

    python bench/diagnose_bench.py [--rounds N] [--no-sslyze] [--scenarios ID ...]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from tlsdoctor.demo import cases, options_for, run_cases
from tlsdoctor.diagnosis import diagnose
from tlsdoctor.lab import running_lab
from tlsdoctor.lab.check import attempt_for
from tlsdoctor.observe.curl import curl_attempt
from tlsdoctor.tools import find_tool


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-sslyze", action="store_true")
    parser.add_argument("--scenarios", nargs="+", default=["expired", "incomplete-chain", "tls1.0-only"])
    args = parser.parse_args()
    sslyze = None if args.no_sslyze else find_tool("sslyze", extra=("/opt/sslyze-venv/bin/sslyze",))

    with running_lab() as lab:
        print(f"{'scenario':18} {'diagnosis':>10} {'pycurl':>8} {'ratio':>6} {'conns':>6} {'sslyze':>8} {'ratio':>6}")
        for sid in args.scenarios:
            entry = lab[sid]
            options = options_for(entry, os_store=entry.ca_file, timeout=3.0)
            attempt = attempt_for(entry, timeout=3.0)
            diag_times, curl_times, scan_times, conns = [], [], [], []
            deadline = time.monotonic() + 120
            for _ in range(args.rounds):
                if time.monotonic() > deadline:
                    break
                before = lab.connections[sid]
                diag_times.append(timed(lambda: diagnose(entry.url, **options)))
                conns.append(lab.connections[sid] - before)
                curl_times.append(timed(lambda: curl_attempt(attempt)))
            if sslyze is not None:
                for _ in range(min(3, args.rounds)):
                    with tempfile.TemporaryDirectory() as tmp:
                        scan_times.append(timed(lambda: subprocess.run(
                            [str(sslyze), "--quiet", f"--json_out={Path(tmp) / 'scan.json'}",
                             f"127.0.0.1:{entry.port}"], capture_output=True, timeout=300, check=False)))
            d, c = statistics.median(diag_times), statistics.median(curl_times)
            s = statistics.median(scan_times) if scan_times else None
            print(f"{sid:18} {d * 1000:8.0f}ms {c * 1000:6.0f}ms {d / c:6.1f} {max(conns):6d} "
                  + (f"{s * 1000:6.0f}ms {d / s:6.2f}" if s else f"{'-':>8} {'-':>6}"))

        started = time.perf_counter()
        results = asyncio.run(run_cases(cases(lab)))
        elapsed = time.perf_counter() - started
        right = sum(r.matches for r in results)
        print(f"\nwhole catalogue, concurrently: {len(results)} diagnoses in {elapsed:.2f} s ({right} right)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

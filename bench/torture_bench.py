"""Torture benchmark: the default catalogue against a real nginx on loopback.

    python bench/torture_bench.py              # 3 runs of the whole catalogue (~40 s)
    python bench/torture_bench.py --runs 1     # one run

Prints, over the runs (min/median/max): the wall time of each attack and of the whole
catalogue (goal: under 15 s), the attack rate (attack rounds per second, and connections
per second the attacks and sanity requests opened), and beside it the rate of a bare
pycurl request loop against the same nginx in the same run (a new connection each, the
same CA file): how close the run gets to what a client loop can do. See bench/README.md.

nginx runs in its own process (tlsdoctor.lab.nginx.NginxBackend, one worker); the
torture client runs here. Every loop is bounded; nginx is stopped on the way out.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import time

import pycurl

import tlsdoctor.torture as torture
from tlsdoctor.lab.nginx import NginxBackend, RealPeerUnavailable, nginx_version
from tlsdoctor.lab.runner import running_lab


def bare_pycurl_rate(url: str, ca_file: str, seconds: float = 2.0, limit: int = 2000) -> float:
    """Requests per second of a plain loop: a fresh pycurl handle (new connection) per GET."""
    done = 0
    begin = time.perf_counter()
    while done < limit and time.perf_counter() - begin < seconds:
        handle = pycurl.Curl()
        try:
            handle.setopt(pycurl.URL, url)
            handle.setopt(pycurl.CAINFO, ca_file)
            handle.setopt(pycurl.TIMEOUT_MS, 5000)
            handle.setopt(pycurl.WRITEDATA, io.BytesIO())
            handle.perform()
        finally:
            handle.close()
        done += 1
    return done / (time.perf_counter() - begin)


def fmt(values: list[float], unit: str = "s", scale: float = 1.0) -> str:
    v = [x * scale for x in values]
    return f"{statistics.median(v):7.2f} {unit} (min {min(v):.2f}, max {max(v):.2f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of the whole catalogue (default 3)")
    args = parser.parse_args(argv)
    runs = max(1, min(args.runs, 20))
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, "
          f"{pycurl.version}")
    try:
        with running_lab(["ok"]) as lab, NginxBackend(lab, ["ok"]) as nginx:
            version = nginx_version(nginx.binary)
            site = nginx["ok"]
            print(f"nginx {'.'.join(map(str, version)) if version else '?'}, 1 worker; "
                  f"{len(torture.ATTACKS)} attacks, default options (4 rounds, K=16)")
            per_attack: dict[str, list[float]] = {a.id: [] for a in torture.ATTACKS}
            totals, attack_rates, bare_rates, requests_rates = [], [], [], []
            for _ in range(runs):
                bare_rates.append(bare_pycurl_rate(site.url, str(site.ca_file)))
                report = torture.run(site.url, ca_bundle=site.ca_file)
                if not report.survived_all:
                    print(f"nginx did not survive: {[(r.id, r.outcome.value) for r in report.failed]}")
                totals.append(report.elapsed)
                rounds = sum(len({r.index for r in result.rounds}) for result in report.results)
                sanity = sum(len(result.rounds) + len(result.grace) for result in report.results)
                attack_rates.append(rounds / report.elapsed)
                requests_rates.append(sanity / report.elapsed)
                for result in report.results:
                    per_attack[result.id].append(result.elapsed)
    except RealPeerUnavailable as exc:
        print(f"nginx is needed: {exc}", file=sys.stderr)
        return 2
    print(f"\nper attack, over {runs} runs (median, min, max):")
    for attack_id, values in per_attack.items():
        print(f"  {attack_id:<27} {fmt(values, 'ms', 1000)}")
    print(f"\nwhole catalogue:           {fmt(totals)}   (goal < 15 s)")
    print(f"attack rounds per second:  {fmt(attack_rates, '/s')}")
    print(f"sanity requests per second:{fmt(requests_rates, '/s')}")
    print(f"bare pycurl loop:          {fmt(bare_rates, 'req/s')}")
    print(f"sanity requests/s ÷ bare pycurl req/s: {statistics.median(requests_rates) / statistics.median(bare_rates):.2f} "
          "(the rest of a run's time is the attacks themselves and the held attacks' hold)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

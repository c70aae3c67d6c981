"""How long ``tlsdoctor explain`` takes on the inputs issue 12 found hostile, and on 1 MiB.

Prints, for each input, min/median/max seconds over rounds and the ratio to a peer measured
in the same run on the same text: one linear pass of CPython over it (``str.lower`` plus a
``str.count``), the least any reader of that text can do. Never asserts (bench/README.md).

    .venv/bin/python bench/explain_bench.py [--rounds N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import time

from tlsdoctor.explain import explain

random.seed(12)
INPUTS = {
    "curl + 1,000 spaces": "curl" + " " * 1000,
    "5 KB of curl + spaces": ("curl" + " " * 1000 + "\n") * 5,
    "a.a.a. lines (900 KB)": "\n".join(f"{i}" + "a." * 900 for i in range(500)),
    "userinfo with / and @ (100 KB)": "\n".join(f"https://u{i}:" + "p/@" * 300 + "@h" for i in range(110)),
    "1 MiB random printable": "".join(random.choice(string.printable) for _ in range(1 << 20)),
    "1 MiB log, error at the end": ("INFO request served in 12 ms\n" * 37_000)
    + "curl: (60) SSL certificate problem: unable to get local issuer certificate\n",
    "curl -v transcript (2 KB)": "* Trying 192.0.2.5:3128...\n> CONNECT api.example.com:443 HTTP/1.1\n"
    "< HTTP/1.1 200 Connection established\n* SSL certificate problem: unable to get local issuer certificate\n"
    "curl: (60) SSL certificate problem: unable to get local issuer certificate\n" * 10,
}


def _time(function, argument, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function(argument)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    explain("warm-up: curl: (60)")
    print(f"{'input':36} {'min s':>8} {'median s':>9} {'max s':>8} {'× one pass':>11}")
    for name, text in INPUTS.items():
        times = _time(explain, text, args.rounds)
        peer = statistics.median(_time(lambda t: t.lower().count("error"), text, args.rounds))
        print(f"{name:36} {min(times):8.3f} {statistics.median(times):9.3f} {max(times):8.3f} "
              f"{statistics.median(times) / max(peer, 1e-6):11.0f}")


if __name__ == "__main__":
    main()

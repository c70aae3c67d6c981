"""Lab benchmark: how fast the lab starts, and how its TLS server compares with nginx.

    python bench/lab_bench.py            # ~1 minute
    python bench/lab_bench.py --quick    # ~15 seconds, for a smoke run

Prints (a) the lab's start time, (b) the full-handshake rate of the lab's ``ok`` scenario,
(c) the same for nginx serving the same kind of certificate under the same CA, and (d)
the ratio lab/nginx, and (e) the time of one pycurl request on a fresh connection to each. See bench/README.md for what exactly is measured and how to read it.

Fairness on a small, shared machine is the point of the design:

- one client, in its own process, for both servers (so the lab's server thread does not
  share a GIL with the client, and nginx is not favoured by being the only other process);
- rounds interleaved, lab and nginx in alternating order, so that a noisy neighbour or a
  CPU frequency change hits both; medians, not means;
- every handshake a full one: a new TCP connection, certificate verification on (lab
  root, host name checked), no session resumption (neither server issues tickets or keeps
  a cache, and the client never offers a session); a resumed handshake aborts the run;
- server CPU time per handshake next to the rate, because a rate on a shared machine also
  measures the neighbours, whereas CPU time spent mostly does not.

Every loop is bounded by a count and by a time limit; the nginx process and the client
process are stopped on the way out, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import multiprocessing
import os
import platform
import socket
import ssl
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tlsdoctor.lab.nginx import NginxBackend, RealPeerUnavailable, nginx_version
from tlsdoctor.lab.runner import Lab, running_lab

LOOPBACK = "127.0.0.1"
IO_TIMEOUT = 5.0


@dataclass(frozen=True)
class Budget:
    start_cycles: int
    rounds: int
    handshakes_per_round: int  # per server, per round
    seconds_per_round: float  # per server, per round: whichever comes first
    requests_per_round: int  # (e): pycurl requests per server, per round


FULL = Budget(start_cycles=7, rounds=8, handshakes_per_round=3000, seconds_per_round=3.0, requests_per_round=100)
QUICK = Budget(start_cycles=3, rounds=3, handshakes_per_round=400, seconds_per_round=1.0, requests_per_round=30)


# -- (a) lab start ----------------------------------------------------------------------


def lab_start_times(cycles: int) -> list[float]:
    """Seconds for ``Lab().start()`` with the whole catalogue, one fresh event loop each."""

    async def one() -> float:
        lab = Lab()
        begin = time.perf_counter()
        await lab.start()
        elapsed = time.perf_counter() - begin
        await lab.aclose()
        return elapsed

    return [asyncio.run(one()) for _ in range(cycles)]


# -- (b, c) handshakes: the client, run in a worker process --------------------------------


@dataclass(frozen=True)
class RoundResult:
    handshakes: int
    seconds: float
    client_cpu: float  # the client process's CPU seconds during the round
    resumed: int  # must be 0: a resumed handshake is not what we measure
    protocol: str
    cipher: str

    @property
    def rate(self) -> float:
        return self.handshakes / self.seconds if self.seconds > 0 else 0.0


def handshake_round(port: int, ca_file: str, max_handshakes: int, max_seconds: float) -> RoundResult:
    """Full handshakes against 127.0.0.1:``port`` until ``max_handshakes`` or ``max_seconds``.

    Each: TCP connect, TLS handshake with verification (lab root, host name), close. No
    request is sent: the handshake is what is compared, and nginx's HTTP is not the lab's.
    """
    ctx = ssl.create_default_context(cafile=ca_file)  # built once: loading the CA file is not a handshake
    count = resumed = 0
    protocol = cipher = ""
    cpu_begin = time.process_time()
    begin = time.perf_counter()
    deadline = begin + max_seconds
    while count < max_handshakes and time.perf_counter() < deadline:
        with socket.create_connection((LOOPBACK, port), timeout=IO_TIMEOUT) as sock:
            with ctx.wrap_socket(sock, server_hostname=LOOPBACK) as tls:
                resumed += tls.session_reused
                if not protocol:
                    protocol, cipher = tls.version() or "", (tls.cipher() or ("",))[0]
        count += 1
    return RoundResult(count, time.perf_counter() - begin, time.process_time() - cpu_begin, resumed, protocol, cipher)


def request_round(url: str, ca_file: str, max_requests: int, max_seconds: float) -> list[float]:
    """Seconds per ``GET /`` with pycurl, each on a fresh handle (new connection, full handshake).

    This is what a test suite's client pays per request: handshake plus one small response.
    A server that leaves Nagle's algorithm on makes that response wait for the client's
    delayed ACK (issue 9: ~40 ms on Linux loopback), which (b)/(c) cannot see.
    """
    import io

    import pycurl

    times: list[float] = []
    deadline = time.perf_counter() + max_seconds
    while len(times) < max_requests and time.perf_counter() < deadline:
        handle = pycurl.Curl()
        try:
            handle.setopt(pycurl.URL, url)
            handle.setopt(pycurl.CAINFO, ca_file)
            handle.setopt(pycurl.TIMEOUT_MS, int(IO_TIMEOUT * 1000))
            handle.setopt(pycurl.WRITEDATA, io.BytesIO())
            begin = time.perf_counter()
            handle.perform()
            times.append(time.perf_counter() - begin)
        finally:
            handle.close()
    return times


# -- server CPU time ----------------------------------------------------------------------


def _proc_cpu_seconds(pid: int) -> float:
    """utime + stime of one process, from /proc (Linux); clock ticks to seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nginx_cpu_seconds(master_pid: int) -> float | None:
    """CPU seconds of nginx's master and its workers (the workers do the handshakes)."""
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
        return sum(_proc_cpu_seconds(p) for p in [master_pid, *map(int, children)])
    except (OSError, ValueError, IndexError):
        return None


def lab_cpu_seconds() -> float:
    """CPU seconds of this process: the lab's server thread, plus an idle main thread."""
    return time.process_time()


# -- the run --------------------------------------------------------------------------------


@dataclass
class Series:
    name: str
    rounds: list[RoundResult]
    server_cpu: list[float | None]

    def rates(self) -> list[float]:
        return [r.rate for r in self.rounds]

    def cpu_us_per_handshake(self) -> list[float]:
        return [cpu / r.handshakes * 1e6 for r, cpu in zip(self.rounds, self.server_cpu) if cpu is not None and r.handshakes]


def _us_per_handshake(series: Series) -> str:
    """The last round's server CPU per handshake, for the table."""
    cpu, result = series.server_cpu[-1], series.rounds[-1]
    return f"{cpu / result.handshakes * 1e6:.0f}" if cpu is not None and result.handshakes else "n/a"


def run(budget: Budget) -> int:
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, {ssl.OPENSSL_VERSION}")

    # (a) -- before anything else runs, so nothing competes with it.
    starts = lab_start_times(budget.start_cycles)
    print(
        f"(a) lab start, whole catalogue, {len(starts)} cycles: median {statistics.median(starts) * 1000:.0f} ms "
        f"(min {min(starts) * 1000:.0f}, max {max(starts) * 1000:.0f})"
    )

    spawn = multiprocessing.get_context("spawn")  # a clean client process: no lab thread, no forked state
    with running_lab(["ok"]) as lab, NginxBackend(lab, ["ok"]) as nginx, concurrent.futures.ProcessPoolExecutor(
        max_workers=1, mp_context=spawn
    ) as client:
        assert nginx.process is not None and nginx.process.pid is not None
        version = nginx_version(nginx.binary)
        print(f"nginx {'.'.join(map(str, version)) if version else '?'} ({nginx.binary}), 1 worker; "
              f"lab: one asyncio thread (pyOpenSSL)")
        targets = {
            "lab": (lab["ok"].port or 0, str(lab["ok"].ca_file), lab_cpu_seconds),
            "nginx": (nginx["ok"].port, str(nginx["ok"].ca_file), lambda: nginx_cpu_seconds(nginx.process.pid)),  # type: ignore[union-attr, arg-type]
        }
        series = {name: Series(name, [], []) for name in targets}
        wait = budget.seconds_per_round + 30  # a round that overruns this is a hung server

        def one_round(name: str, handshakes: int, seconds: float) -> RoundResult:
            port, ca_file, cpu = targets[name]
            cpu_before = cpu()
            result = client.submit(handshake_round, port, ca_file, handshakes, seconds).result(timeout=wait)
            cpu_after = cpu()
            if result.resumed:
                raise SystemExit(f"{name}: {result.resumed} handshakes were resumed; the figures would be wrong")
            if cpu_before is not None and cpu_after is not None:
                series[name].server_cpu.append(cpu_after - cpu_before)
            else:
                series[name].server_cpu.append(None)
            return result

        # Warm-up, discarded: the client process imports, both servers fault in their pages.
        for name in targets:
            warm = one_round(name, 50, 2.0)
            series[name].server_cpu.clear()
            print(f"    {name}: {warm.protocol} {warm.cipher}")

        print(f"(b, c) full handshakes, {budget.rounds} interleaved rounds of up to "
              f"{budget.handshakes_per_round} handshakes or {budget.seconds_per_round:.0f} s per server:")
        print(f"    {'round':>5}  {'lab hs/s':>9}  {'nginx hs/s':>10}  {'lab/nginx':>9}  "
              f"{'server CPU us/hs lab/nginx':>26}  {'client CPU lab/nginx':>20}")
        for index in range(budget.rounds):
            order = ["lab", "nginx"] if index % 2 == 0 else ["nginx", "lab"]
            got = {name: one_round(name, budget.handshakes_per_round, budget.seconds_per_round) for name in order}
            for name in targets:
                series[name].rounds.append(got[name])
            lab_r, nginx_r = got["lab"], got["nginx"]
            print(
                f"    {index + 1:>5}  {lab_r.rate:>9.0f}  {nginx_r.rate:>10.0f}  {lab_r.rate / nginx_r.rate:>9.2f}  "
                f"{_us_per_handshake(series['lab']):>13} / {_us_per_handshake(series['nginx']):<10}  "
                f"{lab_r.client_cpu / lab_r.seconds:>9.0%} / {nginx_r.client_cpu / nginx_r.seconds:.0%}"
            )

        # (e) -- one request per fresh connection, interleaved, as a test suite's client makes them.
        latencies: dict[str, list[float]] = {name: [] for name in targets}
        for index in range(budget.rounds):
            for name in (["lab", "nginx"] if index % 2 == 0 else ["nginx", "lab"]):
                url = lab["ok"].url if name == "lab" else nginx["ok"].url
                ca_file = targets[name][1]
                latencies[name] += client.submit(
                    request_round, url, ca_file, budget.requests_per_round, budget.seconds_per_round
                ).result(timeout=wait)

    lab_rate = statistics.median(series["lab"].rates())
    nginx_rate = statistics.median(series["nginx"].rates())
    per_round = [a / b for a, b in zip(series["lab"].rates(), series["nginx"].rates())]
    print(f"(b) lab ok:    median {lab_rate:.0f} handshakes/s")
    print(f"(c) nginx ok:  median {nginx_rate:.0f} handshakes/s")
    print(
        f"(d) lab/nginx: {lab_rate / nginx_rate:.2f} (ratio of medians); per-round ratios: median "
        f"{statistics.median(per_round):.2f}, range {min(per_round):.2f}-{max(per_round):.2f}"
    )
    for name, values in latencies.items():
        ms = sorted(v * 1000 for v in values)
        print(f"(e) {name} GET / (pycurl, new connection each): median {statistics.median(ms):.1f} ms "
              f"(min {ms[0]:.1f}, max {ms[-1]:.1f}, {len(ms)} requests)")
    print(f"    lab/nginx request time: {statistics.median(latencies['lab']) / statistics.median(latencies['nginx']):.2f}")
    cpu = {name: s.cpu_us_per_handshake() for name, s in series.items()}
    if cpu["lab"] and cpu["nginx"]:
        lab_us, nginx_us = statistics.median(cpu["lab"]), statistics.median(cpu["nginx"])
        print(
            f"    server CPU per handshake (medians): lab {lab_us:.0f} us, nginx {nginx_us:.0f} us; "
            f"so one core's worth of handshakes/s is ~{1e6 / lab_us:.0f} for the lab, ~{1e6 / nginx_us:.0f} "
            f"for nginx (lab/nginx {nginx_us / lab_us:.2f})"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (~15 s): fewer cycles, rounds, handshakes")
    args = parser.parse_args(argv)
    try:
        return run(QUICK if args.quick else FULL)
    except RealPeerUnavailable as exc:
        print(f"nginx is needed for the comparison: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

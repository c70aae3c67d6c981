"""How fast, and in how much memory, does ``tlsdoctor diagnose --batch`` go?

Three measurements, with the lab served by a separate process (``tlsdoctor lab --json``) so
that it shares no GIL with what is measured:

1. **Speed**: N lab URLs (default 200: the catalogue's endpoints, cycled) diagnosed by

   - ``batch``: :func:`tlsdoctor.batch.run_batch` as the command runs it (worker processes,
     one per core; 6 in flight per core; 4 per server; streamed in input order);
   - ``v0``: the batch as it was before issue 9 — one process, ``asyncio.gather`` over every
     URL under a semaphore of 8, every result kept — re-created here as the baseline;
   - ``pycurl×8``: one libcurl request per URL from 8 threads (a fresh handle each, the same
     CA file and timeout): what the URLs cost at the very least.

   Rounds interleave the three; min/median/max of each and of the ratios are printed.
   Goals (issue 9): batch ÷ v0 ≤ 0.33, batch ÷ pycurl×8 ≤ 2.

2. **Memory**: M URLs (default 10,000) through the same ``run_batch`` with JSON Lines being
   produced (and dropped), sampling every 50 ms the resident memory of this process and all
   its descendants (the fork server and the workers), summed — an upper bound, since pages
   shared between the processes count once per process. Goal: peak under 200 MB. The
   URLs are cheap on purpose (mostly 127.x.y.z:1, refused at once; every 20th a lab
   endpoint), so that 10,000 finish in about a minute on two cores: memory depends on how
   many results are held, and streaming holds at most the window (256 here), whatever
   each diagnosis costs. The order of the output is checked against the input.

    python bench/batch_bench.py [--urls 200] [--rounds 3] [--memory-urls 10000] [--skip-speed]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

# 200 lab URLs in one process, as issue 9 measured them when it was filed (bench/README.md). `v0`
# re-creates that batch with today's diagnosis code, which other work keeps making faster, so
# batch ÷ v0 is the scheduling's gain alone; batch ÷ FILED_S is the whole gain since then.
FILED_S = 25.0
TIMEOUT = 2.0  # per probe, and the libcurl loop's whole-request timeout: the same for every contender


def start_lab() -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen([sys.executable, "-m", "tlsdoctor", "lab", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise SystemExit("bench: the lab did not start")
    return proc, json.loads(line)


def stop_lab(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def options(ca_file: str) -> dict[str, Any]:
    return {"ca_bundle": ca_file, "timeout": TIMEOUT, "deadline": 4 * TIMEOUT + 5, "env": {}}


# -- the contenders ----------------------------------------------------------------------------------


def run_new(urls: list[str], ca_file: str) -> float:
    from tlsdoctor.batch import run_batch

    started = time.perf_counter()
    out = [r.index for r in run_batch(iter(urls), options(ca_file), json_lines=True)]
    elapsed = time.perf_counter() - started
    assert out == list(range(len(urls))), "output not in input order"
    return elapsed


def run_v0(urls: list[str], ca_file: str) -> float:
    """The batch before issue 9: one process, gather over everything, semaphore 8, all results kept."""
    from tlsdoctor.diagnosis import DiagnoseError, diagnose_async
    from tlsdoctor.render.diagnosis import diagnosis_json

    async def run() -> list[Any]:
        slots = asyncio.Semaphore(8)

        async def one(url: str) -> Any:
            async with slots:
                try:
                    d = await diagnose_async(url, **options(ca_file))
                except DiagnoseError:
                    return None
                diagnosis_json(d)
                return d

        return list(await asyncio.gather(*(one(u) for u in urls)))

    started = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - started


def run_pycurl(urls: list[str], ca_file: str) -> float:
    import pycurl

    def one(url: str) -> int:
        handle = pycurl.Curl()
        handle.setopt(pycurl.URL, url)
        handle.setopt(pycurl.CAINFO, ca_file)
        handle.setopt(pycurl.NOBODY, True)
        handle.setopt(pycurl.TIMEOUT_MS, int(TIMEOUT * 1000))
        handle.setopt(pycurl.CONNECTTIMEOUT_MS, int(TIMEOUT * 1000))
        handle.setopt(pycurl.PROXY, "")
        try:
            handle.perform()
            return 0
        except pycurl.error as exc:
            return int(exc.args[0])
        finally:
            handle.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, urls))
    return time.perf_counter() - started


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def spread(values: list[float]) -> str:
    return f"{min(values):7.2f} {statistics.median(values):7.2f} {max(values):7.2f}"


def speed(lab: dict[str, Any], n: int, rounds: int) -> None:
    endpoints = [s["url"] for s in lab["scenarios"]]
    urls = [endpoints[i % len(endpoints)] for i in range(n)]
    ca_file = str(Path(lab["run_dir"]) / "ca-lab.pem")
    contenders: dict[str, Callable[[list[str], str], float]] = {
        "batch": run_new, "v0": run_v0, "pycurl×8": run_pycurl}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    print(f"speed: {n} lab URLs ({len(endpoints)} endpoints cycled), timeout {TIMEOUT:g} s, {rounds} rounds, "
          f"{os.cpu_count()} cores; load average at the start {load()}")
    deadline = time.monotonic() + 900
    for r in range(rounds):
        order = list(contenders) if r % 2 == 0 else list(reversed(contenders))
        for name in order:
            times[name].append(contenders[name](urls, ca_file))
        print(f"  round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)
        if time.monotonic() > deadline:
            break
    print(f"  {'':22} {'min':>7} {'median':>7} {'max':>7}")
    for name, values in times.items():
        print(f"  {name + ' (s)':22} {spread(values)}")
    for peer, goal in (("v0", 0.33), ("pycurl×8", 2.0)):
        ratios = [a / b for a, b in zip(times["batch"], times[peer])]
        print(f"  {'batch ÷ ' + peer:22} {spread(ratios)}   (goal ≤ {goal:g})")
    print(f"  batch ÷ the time issue 9 was filed with ({FILED_S:g} s): "
          f"{statistics.median(times['batch']) / FILED_S:.2f}   (goal ≤ 0.33)")
    print(f"  load average at the end {load()}")


# -- memory ------------------------------------------------------------------------------------------


def tree_memory_kb(pid: int) -> tuple[int, int]:
    """Memory of ``pid`` and every descendant, summed (kB): (resident, proportional).

    Resident (RSS) counts a page shared by the fork server and its workers once per
    process; proportional (PSS, from ``smaps_rollup``) splits it between them, which is
    what the batch really occupies.
    """
    rss = pss = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    return rss, pss


def memory(lab: dict[str, Any], n: int) -> None:
    from tlsdoctor.batch import run_batch

    endpoints = [s["url"] for s in lab["scenarios"]]
    ca_file = str(Path(lab["run_dir"]) / "ca-lab.pem")

    def urls():  # generated lazily, as a file would be read
        for i in range(n):
            if i % 20 == 0:
                yield endpoints[(i // 20) % len(endpoints)]
            else:
                yield f"https://127.{(i >> 8) & 255}.{i & 255 or 1}.1:1/"

    samples: list[tuple[int, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            samples.append(tree_memory_kb(os.getpid()))

    baseline = tree_memory_kb(os.getpid())
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    count, expected, last_report = 0, 0, started
    for result in run_batch(urls(), options(ca_file), json_lines=True):
        assert result.index == expected, "output not in input order"
        expected += 1
        count += 1
        if time.perf_counter() - last_report > 10:
            last_report = time.perf_counter()
            peak_pss = max((p for _, p in samples), default=0)
            print(f"  {count} done, PSS peak so far {peak_pss / 1024:.0f} MB", flush=True)
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join(timeout=5)
    rss = [r for r, _ in samples] or [baseline[0]]
    pss = [p for _, p in samples] or [baseline[1]]
    print(f"memory: {count} URLs in {elapsed:.1f} s ({count / elapsed:.0f}/s), output in input order; "
          f"load average at the end {load()}")
    print(f"  this process and its workers, summed (MB):   before    peak  median")
    print(f"  proportional (PSS, shared pages split)    {baseline[1] / 1024:8.0f} {max(pss) / 1024:7.0f} "
          f"{statistics.median(pss) / 1024:7.0f}   (goal: peak < 200)")
    print(f"  resident (RSS, shared pages per process)  {baseline[0] / 1024:8.0f} {max(rss) / 1024:7.0f} "
          f"{statistics.median(rss) / 1024:7.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory-urls", type=int, default=10_000)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    if not args.skip_speed:
        proc, lab = start_lab()
        try:
            speed(lab, args.urls, args.rounds)
        finally:
            stop_lab(proc)
        if not args.skip_memory:  # in a fresh process: the speed run's imports and results must not count
            return subprocess.run([sys.executable, __file__, "--skip-speed", "--memory-urls", str(args.memory_urls)],
                                  check=False).returncode
        return 0
    if not args.skip_memory:
        proc, lab = start_lab()
        try:
            memory(lab, args.memory_urls)
        finally:
            stop_lab(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

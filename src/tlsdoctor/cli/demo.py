"""``tlsdoctor demo``: start the lab and diagnose every scenario; right or wrong, per scenario."""

from __future__ import annotations

import argparse

from tlsdoctor.cli.common import EXIT_FAILED, EXIT_OK, Command, add_only, scenario_ids


def configure(parser: argparse.ArgumentParser) -> None:
    add_only(parser, "diagnose")


COMMAND = Command(
    "demo", "start the lab and diagnose every scenario; exit 0 if all are right", configure,
    {EXIT_OK: "every scenario was diagnosed right", EXIT_FAILED: "at least one diagnosis was wrong"},
    description="Start the lab and diagnose every scenario concurrently, as a client set up the way the\n"
                "scenario says (its CA file, proxy, TLS cap, clock); print expected and diagnosed verdicts.",
)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import time

    from tlsdoctor.demo import cases, run_cases
    from tlsdoctor.lab.runner import running_lab
    from tlsdoctor.render.console import make_console
    from tlsdoctor.render.demo import print_demo

    only = scenario_ids(args.only)
    started = time.perf_counter()
    with running_lab(only) as lab:
        startup = time.perf_counter() - started
        results = asyncio.run(run_cases(cases(lab)))
    elapsed = time.perf_counter() - started
    print_demo(results, make_console(), startup_s=startup, elapsed_s=elapsed)
    return EXIT_OK if all(r.matches for r in results) else EXIT_FAILED

"""``tlsdoctor demo``: start the lab and diagnose every scenario; right or wrong, per scenario."""

from __future__ import annotations

import argparse

from tlsdoctor.cli.common import EXIT_FAILED, EXIT_OK, Command, add_json, add_only, scenario_ids


def configure(parser: argparse.ArgumentParser) -> None:
    add_only(parser, "diagnose")
    add_json(parser, "tlsdoctor.demo/1")


COMMAND = Command(
    "demo", "start the lab and diagnose every scenario; exit 0 if all are right", configure,
    {EXIT_OK: "every scenario was diagnosed right", EXIT_FAILED: "at least one diagnosis was wrong"},
    description="Start the lab and diagnose every scenario concurrently, as a client set up the way the\n"
                "scenario says (its CA file, proxy, TLS cap, clock); print expected and diagnosed verdicts.",
)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import time

    import json

    from tlsdoctor.demo import cases, run_cases
    from tlsdoctor.lab.runner import running_lab
    from tlsdoctor.render.console import make_console
    from tlsdoctor.render.demo import demo_document, print_demo
    from tlsdoctor.render.progress import progress

    only = scenario_ids(args.only)
    started = time.perf_counter()
    with progress("starting the lab") as bar, running_lab(only) as lab:
        startup = time.perf_counter() - started
        todo = cases(lab)
        bar.update("diagnosing", total=len(todo))
        pending = [c.name for c in todo]

        def done(result: object) -> None:
            pending.remove(result.case.name)  # type: ignore[attr-defined]
            bar.advance()
            bar.note("waiting on " + ", ".join(pending[:4]) + (f" (+{len(pending) - 4})" if len(pending) > 4 else ""))

        results = asyncio.run(run_cases(todo, on_done=done))
    elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps(demo_document(results, startup_s=startup, elapsed_s=elapsed), default=str))
    else:
        print_demo(results, make_console(), startup_s=startup, elapsed_s=elapsed)
    return EXIT_OK if all(r.matches for r in results) else EXIT_FAILED

"""``tlsdoctor check``: the lab's self-test, one real libcurl request per scenario."""

from __future__ import annotations

import argparse

from tlsdoctor.cli.common import EXIT_FAILED, EXIT_OK, Command, add_json, add_only, scenario_ids


def configure(parser: argparse.ArgumentParser) -> None:
    add_only(parser, "check")
    add_json(parser, "tlsdoctor.check/1")


COMMAND = Command(
    "check", "start the lab and meet every scenario with a real libcurl client", configure,
    {EXIT_OK: "every scenario failed or worked exactly as the catalogue says",
     EXIT_FAILED: "at least one scenario did not"},
)


def run(args: argparse.Namespace) -> int:
    import time

    import json

    from tlsdoctor.lab.check import check_all
    from tlsdoctor.lab.runner import running_lab
    from tlsdoctor.render.console import make_console
    from tlsdoctor.render.lab import check_document, check_table
    from tlsdoctor.render.progress import progress

    only = scenario_ids(args.only)
    console = make_console()
    started = time.perf_counter()
    with progress("starting the lab") as bar, running_lab(only) as lab:
        startup = time.perf_counter() - started
        entries = list(lab)
        bar.update("checking", total=len(entries))
        results = check_all(entries, on_done=lambda r: bar.advance())
    elapsed = time.perf_counter() - started
    ran = [r for r in results if r.result is not None]
    matched = sum(r.matches for r in ran)
    if args.json:
        print(json.dumps(check_document(results, startup_s=startup, elapsed_s=elapsed)))
        return EXIT_OK if matched == len(ran) else EXIT_FAILED
    check_table(results, console, title=f"tlsdoctor check — lab started in {startup * 1000:.0f} ms")
    console.print(
        f"{matched} of {len(ran)} scenarios failed or worked exactly as the catalogue says"
        + (f"; {len(results) - len(ran)} skipped" if len(ran) < len(results) else "")
        + f" ({elapsed:.1f} s)."
    )
    return EXIT_OK if matched == len(ran) else EXIT_FAILED

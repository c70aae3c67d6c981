"""``tlsdoctor lab``: serve every TLS fault scenario on 127.0.0.1."""

from __future__ import annotations

import argparse

from tlsdoctor.cli.common import EXIT_OK, Command, UsageError, add_json, add_only, positive_float, scenario_ids


def configure(parser: argparse.ArgumentParser) -> None:
    add_only(parser, "serve")
    add_json(parser, "one line, tlsdoctor.lab/1")
    parser.add_argument("--fragile", nargs="*", metavar="ID",
                        help="also serve deliberately buggy servers for `tlsdoctor torture` "
                             "(fragile-eof, fragile-blocking; none named: both)")
    parser.add_argument("--duration", type=positive_float, metavar="S",
                        help="stop after S seconds (default: serve until Ctrl-C or SIGTERM)")


COMMAND = Command(
    "lab", "serve every TLS fault scenario on 127.0.0.1 until Ctrl-C", configure,
    {EXIT_OK: "the lab ran and stopped cleanly"},
    description="Serve every TLS fault scenario on its own port of 127.0.0.1 (nothing else is bound),\n"
                "with a fresh PKI in a temporary run directory removed on exit. The table says each\n"
                "scenario's URL, what is broken, and how a client must be set up to meet it.",
)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from tlsdoctor.lab.runner import Lab
    from tlsdoctor.render.console import make_console
    from tlsdoctor.render.lab import lab_json, lab_table

    only = scenario_ids(args.only)
    fragile = _fragile_ids(args.fragile)

    async def serve() -> None:
        # Handlers first: a script may send SIGINT the moment it has read the JSON line.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        lab = Lab(only, fragile=fragile)
        await lab.start()
        try:
            if args.json:
                print(lab_json(lab), flush=True)
            else:
                lab_table(lab, make_console(), duration=args.duration)
            try:
                await asyncio.wait_for(stop.wait(), args.duration)
            except asyncio.TimeoutError:
                pass
        finally:
            await lab.aclose()

    asyncio.run(serve())
    return EXIT_OK


def _fragile_ids(named: list[str] | None) -> list[str]:
    if named is None:
        return []
    from tlsdoctor.lab.fragile import FRAGILE

    known = [f.id for f in FRAGILE]
    unknown = [i for i in named if i not in known]
    if unknown:
        raise UsageError(f"unknown fragile server {unknown[0]!r} (known: {', '.join(known)})")
    return named or known

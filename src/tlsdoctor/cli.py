"""The ``tlsdoctor`` command. Thin on purpose: parse, call the library, render, exit.

Exit codes: 0 success, 1 a check or diagnosis found a failure, 2 usage error (always one
line on standard error, never a traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from typing import NoReturn, Sequence

from tlsdoctor import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input: reported as one line and exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage dump
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tlsdoctor", description="Diagnose, reproduce and survive HTTPS failures.")
    parser.add_argument("--version", action="version", version=f"tlsdoctor {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    lab = commands.add_parser("lab", help="serve every TLS fault scenario on 127.0.0.1 until Ctrl-C")
    lab.add_argument("--only", nargs="+", metavar="ID", help="serve only these scenarios (and what they need)")
    lab.add_argument("--json", action="store_true", help="print the scenarios as one JSON line (tlsdoctor.lab/1)")
    lab.add_argument("--duration", type=float, metavar="S", help="stop after S seconds instead of waiting for Ctrl-C")

    catalogue = commands.add_parser("catalogue", help="list the lab's scenarios without starting anything")
    fmt = catalogue.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--markdown", action="store_true", help="the table the README embeds")

    demo = commands.add_parser("demo", help="start the lab and check every scenario with a real libcurl client")
    demo.add_argument("--only", nargs="+", metavar="ID")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        return _COMMANDS[args.command](args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except KeyError as exc:  # unknown scenario ids and the like
        print(f"tlsdoctor: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _lab(args: argparse.Namespace) -> int:
    from tlsdoctor.lab.runner import Lab
    from tlsdoctor.render.lab import lab_json, lab_table, make_console

    if args.duration is not None and args.duration <= 0:
        raise UsageError("tlsdoctor lab: --duration must be positive")

    async def serve() -> None:
        lab = Lab(args.only)
        await lab.start()
        try:
            if args.json:
                print(lab_json(lab), flush=True)
            else:
                lab_table(lab, make_console())
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            try:
                await asyncio.wait_for(stop.wait(), args.duration)
            except asyncio.TimeoutError:
                pass
        finally:
            await lab.aclose()

    asyncio.run(serve())
    return EXIT_OK


def _catalogue(args: argparse.Namespace) -> int:
    from tlsdoctor.lab.scenarios import CATALOGUE
    from tlsdoctor.render.lab import catalogue_json, catalogue_markdown

    if args.json:
        print(catalogue_json(CATALOGUE))
    else:
        print(catalogue_markdown(CATALOGUE), end="")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from tlsdoctor.lab.check import check_all
    from tlsdoctor.lab.runner import running_lab
    from tlsdoctor.render.lab import check_table, make_console

    console = make_console()
    started = time.perf_counter()
    with running_lab(args.only) as lab:
        startup = time.perf_counter() - started
        results = check_all(list(lab))
    elapsed = time.perf_counter() - started
    check_table(results, console, title=f"tlsdoctor demo — lab started in {startup * 1000:.0f} ms")
    ran = [r for r in results if r.result is not None]
    matched = sum(r.matches for r in ran)
    console.print(
        f"{matched} of {len(ran)} scenarios failed or worked exactly as the catalogue says"
        + (f"; {len(results) - len(ran)} skipped" if len(ran) < len(results) else "")
        + f" ({elapsed:.1f} s)."
    )
    return EXIT_OK if matched == len(ran) else EXIT_FAILED


_COMMANDS = {"lab": _lab, "catalogue": _catalogue, "demo": _demo}

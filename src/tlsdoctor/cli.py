"""The ``tlsdoctor`` command. Thin on purpose: parse, call the library, render, exit.

Exit codes: 0 success, 1 a check or diagnosis found a failure, 2 usage error (always one
line on standard error, never a traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import os
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

    diagnose = commands.add_parser("diagnose", help="name the root cause of a failing HTTPS connection")
    diagnose.add_argument("url", nargs="?", help="the https:// URL to diagnose")
    diagnose.add_argument("--batch", metavar="FILE", help="diagnose every URL in FILE (one a line; - for stdin)")
    diagnose.add_argument("--proxy", metavar="URL", help="the proxy the client uses (default: https_proxy etc.)")
    diagnose.add_argument("--ca-bundle", metavar="FILE", help="the CA file the client uses (default: certifi's)")
    diagnose.add_argument("--extra-ca", metavar="FILE", action="append", default=[], help="another CA file to compare")
    diagnose.add_argument("--max-tls", choices=["1.0", "1.1", "1.2", "1.3"], help="the newest TLS the client speaks")
    diagnose.add_argument("--timeout", type=float, default=5.0, metavar="S", help="per-probe timeout (default 5)")
    diagnose.add_argument("--json", action="store_true", help="tlsdoctor.diagnosis/1 (JSON Lines with --batch)")

    explain = commands.add_parser("explain", help="rank root causes from an error text you already have")
    explain.add_argument("file", nargs="?", default="-", help="a file with curl -v output, a traceback... (- = stdin)")
    explain.add_argument("--json", action="store_true", help="tlsdoctor.explanation/1")

    demo = commands.add_parser("demo", help="start the lab and diagnose every scenario; exit 0 if all are right")
    demo.add_argument("--only", nargs="+", metavar="ID")

    get = commands.add_parser("get", help="make a request as tlsdoctor.client would, showing stack and fallback")
    get.add_argument("url")
    get.add_argument("--stack", choices=["auto", "curl", "native"], default="auto")
    get.add_argument("--ca-bundle", metavar="FILE", help="the app's CA file (default: certifi's)")
    get.add_argument("--proxy", metavar="URL")
    get.add_argument("--verbose", "-v", action="store_true", help="show the decision trail and headers")
    get.add_argument("--timeout", type=float, default=30.0, metavar="S")

    rollout = commands.add_parser("rollout", help="make or check a GrowthBook rollout payload for the client",
                                  add_help=False)
    rollout.add_argument("rest", nargs=argparse.REMAINDER)

    check = commands.add_parser("check", help="start the lab and meet every scenario with a real libcurl client")
    check.add_argument("--only", nargs="+", metavar="ID")
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
        # Handlers first: a script may send SIGINT the moment it has read the JSON line.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        lab = Lab(args.only)
        await lab.start()
        try:
            if args.json:
                print(lab_json(lab), flush=True)
            else:
                lab_table(lab, make_console())
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


def _diagnose(args: argparse.Namespace) -> int:
    from tlsdoctor.diagnosis import DiagnoseError

    if (args.url is None) == (args.batch is None):
        raise UsageError("tlsdoctor diagnose: give one URL, or --batch FILE")
    if not 0 < args.timeout <= 120:
        raise UsageError("tlsdoctor diagnose: --timeout must be between 0 and 120 seconds")
    options = {"proxy": args.proxy, "ca_bundle": args.ca_bundle, "extra_ca": args.extra_ca,
               "max_tls": args.max_tls, "timeout": args.timeout, "deadline": 4 * args.timeout + 5}
    try:
        if args.batch is not None:
            return _diagnose_batch(args, options)
        from tlsdoctor.diagnosis import diagnose
        from tlsdoctor.render.diagnosis import diagnosis_json, print_diagnosis
        from tlsdoctor.render.lab import make_console

        result = diagnose(args.url, **options)
    except DiagnoseError as exc:
        raise UsageError(f"tlsdoctor diagnose: {exc}") from None
    if args.json:
        print(diagnosis_json(result))
    else:
        print_diagnosis(result, make_console())
    return EXIT_OK if result.ok else EXIT_FAILED


def _diagnose_batch(args: argparse.Namespace, options: dict) -> int:  # type: ignore[type-arg]
    from tlsdoctor.batch import read_url_list, run_batch
    from tlsdoctor.render.batch import print_batch

    try:
        urls = read_url_list(args.batch)
    except (OSError, ValueError) as exc:
        raise UsageError(f"tlsdoctor diagnose: cannot read --batch {args.batch}: {exc}") from None
    results = run_batch(urls, options, json_lines=args.json)
    if not args.json:
        from tlsdoctor.render.lab import make_console

        print_batch(results, make_console())
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def _explain(args: argparse.Namespace) -> int:
    from tlsdoctor.explain import explain
    from tlsdoctor.render.explanation import explanation_json, print_explanation
    from tlsdoctor.render.lab import make_console

    limit = 4 * 1024 * 1024
    try:
        if args.file == "-":
            data = sys.stdin.buffer.read(limit)
        else:
            with open(args.file, "rb") as handle:
                data = handle.read(limit)
    except OSError as exc:
        raise UsageError(f"tlsdoctor explain: cannot read {args.file}: {exc.strerror or exc}") from None
    explanation = explain(data.decode("utf-8", errors="replace"))
    if args.json:
        print(explanation_json(explanation))
    else:
        print_explanation(explanation, make_console())
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from tlsdoctor.demo import cases, run_cases
    from tlsdoctor.lab.runner import running_lab
    from tlsdoctor.render.demo import print_demo
    from tlsdoctor.render.lab import make_console

    started = time.perf_counter()
    with running_lab(args.only) as lab:
        startup = time.perf_counter() - started
        results = asyncio.run(run_cases(cases(lab)))
    elapsed = time.perf_counter() - started
    print_demo(results, make_console(), startup_s=startup, elapsed_s=elapsed)
    return EXIT_OK if all(r.matches for r in results) else EXIT_FAILED


def _get(args: argparse.Namespace) -> int:
    from tlsdoctor.client.client import Client
    from tlsdoctor.client.errors import TransportError
    from tlsdoctor.render.client import TrailPrinter

    if args.ca_bundle and not os.path.isfile(args.ca_bundle):
        raise UsageError(f"tlsdoctor get: cannot read CA file {args.ca_bundle}")
    if not args.url.lower().startswith(("https://", "http://")):
        raise UsageError(f"tlsdoctor get: not an http(s) URL: {args.url!r}")
    trail = TrailPrinter(sys.stderr, verbose=args.verbose)
    try:
        client = Client(stack=args.stack, ca_bundle=args.ca_bundle, proxy=args.proxy, listener=trail,
                        validate_every=0, timeout=args.timeout)
    except (ValueError, OSError) as exc:
        raise UsageError(f"tlsdoctor get: {exc}") from None
    with client:
        trail.decision(*client.choose_stack())
        try:
            response = client.get(args.url)
        except TransportError as exc:
            trail.failed(exc)
            return EXIT_FAILED
    trail.done(response)
    sys.stdout.buffer.write(response.body)
    sys.stdout.flush()
    return EXIT_OK if response.status < 400 else EXIT_FAILED


def _rollout(args: argparse.Namespace) -> int:
    from tlsdoctor.client.rollout import main as rollout_main

    try:
        return rollout_main(args.rest)
    except SystemExit as exc:  # argparse's own exits: usage errors are 2, --help is 0
        return int(exc.code or 0)


def _check(args: argparse.Namespace) -> int:
    from tlsdoctor.lab.check import check_all
    from tlsdoctor.lab.runner import running_lab
    from tlsdoctor.render.lab import check_table, make_console

    console = make_console()
    started = time.perf_counter()
    with running_lab(args.only) as lab:
        startup = time.perf_counter() - started
        results = check_all(list(lab))
    elapsed = time.perf_counter() - started
    check_table(results, console, title=f"tlsdoctor check — lab started in {startup * 1000:.0f} ms")
    ran = [r for r in results if r.result is not None]
    matched = sum(r.matches for r in ran)
    console.print(
        f"{matched} of {len(ran)} scenarios failed or worked exactly as the catalogue says"
        + (f"; {len(results) - len(ran)} skipped" if len(ran) < len(results) else "")
        + f" ({elapsed:.1f} s)."
    )
    return EXIT_OK if matched == len(ran) else EXIT_FAILED


_COMMANDS = {
    "lab": _lab, "catalogue": _catalogue, "diagnose": _diagnose, "explain": _explain, "demo": _demo, "check": _check,
    "get": _get, "rollout": _rollout,
}

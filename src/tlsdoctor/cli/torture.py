"""``tlsdoctor torture URL``: prove a TLS server survives the clients it will meet in the field."""

from __future__ import annotations

import argparse

from tlsdoctor.cli.common import (
    EXIT_FAILED, EXIT_OK, Command, UsageError, add_json, positive_float, positive_int, print_result,
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", nargs="?", help="the https:// URL of a server you own (loopback unless --allow-remote)")
    parser.add_argument("--list", action="store_true", help="list the attacks and exit (with --json: as JSON)")
    parser.add_argument("--only", nargs="+", metavar="ATTACK", help="run only these attacks (ids from --list; default: all)")
    parser.add_argument("--rounds", type=positive_int, default=4, help="rounds per attack, each followed by a sanity request")
    parser.add_argument("--concurrency", type=positive_int, default=16, metavar="K",
                        help="connections held open by the held attacks (stalled, idle, slow)")
    parser.add_argument("--ca-bundle", metavar="FILE",
                        help="CA file the sanity requests verify the server with (default: certifi's); "
                             "verification is always on")
    parser.add_argument("--timeout", type=positive_float, default=3.0, metavar="S",
                        help="seconds per sanity request and per attack socket operation")
    parser.add_argument("--keep-going", action="store_true", help="run every attack even after the server died")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a target that is not loopback: only ever a server you own")
    add_json(parser, "tlsdoctor.torture/1")


COMMAND = Command(
    "torture", "run the field's misbehaving clients against your own TLS server", configure,
    {EXIT_OK: "every attack survived or slowed (or did not apply)", EXIT_FAILED: "some attack degraded or killed the server"},
    description="Run misbehaving clients (dropped connections without close_notify, resets, stalled\n"
                "handshakes, idle and slow connections, renegotiation, HTTP/2 rapid reset...) against a\n"
                "server you own, each round followed by a fresh verified libcurl request, and say which\n"
                "attack hurt it, how a user would see it, and the likely bug and fix. Loopback only,\n"
                "unless --allow-remote.",
)


def run(args: argparse.Namespace) -> int:
    import sys

    from tlsdoctor.render.console import make_console
    from tlsdoctor.render.torture import catalogue_json, catalogue_table, progress_bar, report_json, report_table
    from tlsdoctor.torture import ATTACKS, TargetError
    from tlsdoctor.torture import run as torture

    if args.list:
        print(catalogue_json()) if args.json else catalogue_table(make_console())
        return EXIT_OK
    if not args.url:
        raise UsageError("a URL is required (or --list)")
    known = {a.id for a in ATTACKS}
    unknown = [i for i in args.only or () if i not in known]
    if unknown:
        raise UsageError(f"unknown attack {unknown[0]!r} (see tlsdoctor torture --list)")
    if args.concurrency > 1024 or args.rounds > 100:
        raise UsageError("--concurrency is at most 1024 and --rounds at most 100")
    if args.allow_remote:
        print("tlsdoctor torture: --allow-remote: only torture a server you own; these attacks can take it down",
              file=sys.stderr)
    errors = make_console(stderr=True)
    planned = len(args.only) if args.only else len(ATTACKS)
    try:
        with progress_bar(errors, planned) as progress:
            report = torture(
                args.url, ca_bundle=args.ca_bundle, only=args.only, allow_remote=args.allow_remote,
                progress=progress, rounds=args.rounds, concurrency=args.concurrency, timeout=args.timeout,
                keep_going=args.keep_going,
            )
    except TargetError as exc:
        raise UsageError(str(exc)) from None
    print_result(report, args.json, report_json, report_table)
    return EXIT_FAILED if report.exit_code else EXIT_OK

"""``tlsdoctor diagnose``: name the root cause of a failing HTTPS connection (one URL or a batch)."""

from __future__ import annotations

import argparse
from typing import Any

from tlsdoctor.cli.common import EXIT_FAILED, EXIT_OK, Command, UsageError, positive_float


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", nargs="?", help="the https:// URL to diagnose (or use --batch)")
    parser.add_argument("--batch", metavar="FILE",
                        help="diagnose every URL in FILE, one a line, # comments allowed (- for standard input)")
    parser.add_argument("--proxy", metavar="URL",
                        help="the proxy the client uses (default: https_proxy/all_proxy, honouring no_proxy)")
    parser.add_argument("--ca-bundle", metavar="FILE", help="the CA file the client uses (default: certifi's)")
    parser.add_argument("--extra-ca", metavar="FILE", action="append", default=[],
                        help="another CA file to compare with (repeatable)")
    parser.add_argument("--max-tls", choices=["1.0", "1.1", "1.2", "1.3"],
                        help="the newest TLS version the client speaks (default: no cap)")
    parser.add_argument("--timeout", type=positive_float, default=5.0, metavar="S",
                        help="per-probe timeout in seconds, at most 120; the whole diagnosis gets 4×S (a probe it cuts is named)")
    parser.add_argument("--json", action="store_true",
                        help="print tlsdoctor.diagnosis/1 JSON (JSON Lines, in input order, with --batch)")


COMMAND = Command(
    "diagnose", "name the root cause of a failing HTTPS connection", configure,
    {EXIT_OK: "the verdict is ok (warnings allowed); with --batch, every URL is ok",
     EXIT_FAILED: "a failure was diagnosed (with --batch: for at least one URL)"},
)


def run(args: argparse.Namespace) -> int:
    if (args.url is None) == (args.batch is None):
        raise UsageError("give one URL, or --batch FILE")
    if args.timeout > 120:
        raise UsageError("--timeout must be at most 120 seconds")
    options: dict[str, Any] = {
        "proxy": args.proxy, "ca_bundle": args.ca_bundle, "extra_ca": args.extra_ca, "max_tls": args.max_tls,
        "timeout": args.timeout,  # the deadline: timeout x diagnosis.STAGES (its default)
    }
    if args.batch is not None:
        return _batch(args, options)
    from tlsdoctor.diagnosis import DiagnoseError, diagnose
    from tlsdoctor.render.console import make_console
    from tlsdoctor.render.diagnosis import diagnosis_json, print_diagnosis

    try:
        result = diagnose(args.url, **options)
    except DiagnoseError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(diagnosis_json(result))
    else:
        print_diagnosis(result, make_console())
    return EXIT_OK if result.ok else EXIT_FAILED


def _batch(args: argparse.Namespace, options: dict[str, Any]) -> int:
    from tlsdoctor.batch import read_url_list, run_batch
    from tlsdoctor.render.batch import print_batch
    from tlsdoctor.render.console import make_console

    try:
        urls = read_url_list(args.batch)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read --batch {args.batch}: {getattr(exc, 'strerror', None) or exc}") from None
    results = run_batch(urls, options, json_lines=args.json)
    if not args.json:
        print_batch(results, make_console())
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED

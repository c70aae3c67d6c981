"""``tlsdoctor get``: one request as ``tlsdoctor.client`` makes it, showing stack and fallback."""

from __future__ import annotations

import argparse
import json
import os
import sys

from tlsdoctor.cli.common import EXIT_FAILED, EXIT_OK, Command, UsageError, positive_float


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="the http(s):// URL to request")
    parser.add_argument("--stack", choices=["auto", "curl", "native"], default="auto",
                        help="the HTTP stack: libcurl, the platform's (httpx + truststore), or the rollout's choice")
    parser.add_argument("--ca-bundle", metavar="FILE", help="the app's CA file (default: certifi's)")
    parser.add_argument("--proxy", metavar="URL", help="the proxy to use (default: https_proxy/all_proxy from the environment)")
    parser.add_argument("--verbose", "-v", action="store_true", help="show the decision trail and headers")
    parser.add_argument("--timeout", type=positive_float, default=30.0, metavar="S",
                        help="whole-request timeout in seconds, the fallback attempt included "
                             "(default: 30; connecting and the TLS handshake get at most 10 of it on each stack)")
    parser.add_argument("--json", action="store_true",
                        help="print tlsdoctor.get/1 JSON (stack, status, headers, or the error) instead of the body")


COMMAND = Command(
    "get", "make a request as tlsdoctor.client would, showing stack and fallback", configure,
    {EXIT_OK: "the request succeeded with an HTTP status below 400",
     EXIT_FAILED: "the request failed (the trail on standard error says why) or the status was 400 or more"},
    description="Make one GET request as tlsdoctor.client would: the body goes to standard output,\n"
                "the trail (chosen stack, failures, fallback) to standard error.",
)


def run(args: argparse.Namespace) -> int:
    from tlsdoctor.client.client import Client
    from tlsdoctor.client.errors import TransportError
    from tlsdoctor.render.client import TrailPrinter, get_document

    if args.ca_bundle and not os.path.isfile(args.ca_bundle):
        raise UsageError(f"cannot read CA file {args.ca_bundle}")
    from tlsdoctor.client.stack import check_url

    try:
        check_url(args.url)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    from tlsdoctor.render.progress import progress

    trail = TrailPrinter(None, verbose=args.verbose)
    try:
        client = Client(stack=args.stack, ca_bundle=args.ca_bundle, proxy=args.proxy, listener=trail,
                        validate_every=0, timeout=args.timeout)
    except (ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None
    with client:
        trail.decision(*client.choose_stack())
        try:
            with progress("requesting", spinner_only=True):
                response = client.get(args.url)
        except TransportError as exc:
            trail.failed(exc)
            if args.json:
                print(json.dumps(get_document(args.url, None, exc)))
            return EXIT_FAILED
    trail.done(response)
    if args.json:
        print(json.dumps(get_document(args.url, response, None)))
        return EXIT_OK if response.status < 400 else EXIT_FAILED
    sys.stdout.buffer.write(response.body)
    sys.stdout.flush()
    return EXIT_OK if response.status < 400 else EXIT_FAILED

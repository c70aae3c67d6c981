"""``tlsdoctor diagnose``: name the root cause of a failing HTTPS connection (one URL or a batch)."""

from __future__ import annotations

import argparse
from typing import Any

from tlsdoctor.cli.common import (
    EXIT_FAILED, EXIT_OK, Command, QuickExit, UsageError, positive_float, positive_int, print_result,
)

# Mirrors tlsdoctor.batch's defaults without importing it (parsing stays cheap); a test keeps them equal.
DEFAULT_CONCURRENCY, DEFAULT_PER_HOST = None, 4  # None: 6 per core
MAX_HOPS = 5  # --follow: the URL and four redirects (curl -L allows 50; a healthy site needs one or two)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", nargs="?", help="the https:// URL to diagnose (or use --batch)")
    parser.add_argument("--batch", metavar="FILE",
                        help="diagnose every URL in FILE, one a line, # comments allowed (- for standard input)")
    parser.add_argument("--proxy", metavar="URL",
                        help="the proxy the client uses: http://, https://, socks5(h):// or socks4(a):// (default: "
                             "https_proxy/all_proxy, honouring no_proxy)")
    parser.add_argument("--ca-bundle", metavar="FILE", help="the CA file the client uses (default: certifi's)")
    parser.add_argument("--extra-ca", metavar="FILE", action="append", default=[],
                        help="another CA file to compare with (repeatable)")
    parser.add_argument("--max-tls", choices=["1.0", "1.1", "1.2", "1.3"],
                        help="the newest TLS version the client speaks (default: no cap)")
    parser.add_argument("--cert-status", action="store_true",
                        help="the client requires a certificate status, as curl --cert-status does (hard-fail)")
    parser.add_argument("--resolve", metavar="HOST:PORT:ADDR[,ADDR]", action="append", default=[],
                        help="connect to these addresses for HOST:PORT instead of asking DNS, as curl --resolve "
                             "(repeatable): one server behind a load balancer or CDN, a name DNS does not know yet")
    parser.add_argument("--timeout", type=positive_float, default=5.0, metavar="S",
                        help="per-probe timeout in seconds, at most 120; the whole diagnosis gets 4×S (a probe it cuts is named)")
    parser.add_argument("--follow", "-L", action="store_true",
                        help=f"follow redirects as the client does (curl -L): diagnose each https:// hop, at most "
                             f"{MAX_HOPS}, and stop at the first that fails")
    parser.add_argument("--json", action="store_true",
                        help="print tlsdoctor.diagnosis/1 JSON (JSON Lines, in input order, with --batch; one "
                             "document per hop with --follow)")
    batch = parser.add_argument_group("batch options")
    batch.add_argument("--concurrency", type=positive_int, default=DEFAULT_CONCURRENCY, metavar="N",
                       help="with --batch: diagnoses in flight at once, across all worker processes "
                            "(default: 6 per core; more for a slow network)")
    batch.add_argument("--per-host", type=positive_int, default=DEFAULT_PER_HOST, metavar="N",
                       help="with --batch: diagnoses at once against one server (host and port)")
    batch.add_argument("--processes", type=positive_int, metavar="N",
                       help="with --batch: worker processes (default: one per core, at most --concurrency)")


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
        "require_status": args.cert_status, "resolve": tuple(args.resolve),
        "timeout": args.timeout,  # the deadline: timeout x diagnosis.STAGES (its default)
    }
    if args.batch is not None:
        if args.follow:
            raise UsageError("--follow diagnoses one URL and its redirects, not a --batch")
        return _batch(args, options)
    from tlsdoctor.diagnosis import DiagnoseError, diagnose
    from tlsdoctor.render.diagnosis import diagnosis_json, print_diagnosis

    from tlsdoctor.render.progress import progress

    url, seen = args.url, set()
    for hop in range(MAX_HOPS if args.follow else 1):
        try:
            with progress("diagnosing", spinner_only=True) as bar:
                waiting = ProbeWatch()
                bar.note(waiting.line)
                result = diagnose(url, on_probe=waiting.probe, **options)
        except DiagnoseError as exc:
            if hop == 0:
                raise UsageError(str(exc)) from None
            break  # a redirect to something that cannot be diagnosed: the last hop's output says where
        print_result(result, args.json, diagnosis_json, print_diagnosis, segments=True)
        seen.add(result.url)
        nxt = result.redirect
        if not args.follow or nxt is None or not nxt.startswith("https://") or nxt in seen:
            break
        url = nxt
    # One URL leaves nothing to tidy: probe threads are idle or abandoned (a cut probe's
    # libcurl call would otherwise hold the exit until its own timeout), no child process,
    # no temporary file (the trust cache's write is complete). A batch has worker processes.
    QuickExit.allow()
    return EXIT_OK if result.ok else EXIT_FAILED


class ProbeWatch:
    """Which probes a diagnosis waits on, and for how long: the progress line's note."""

    def __init__(self) -> None:
        import time

        self._clock = time.monotonic
        self.running: dict[str, float] = {}

    def probe(self, name: str, started: bool) -> None:
        if started:
            self.running[name] = self._clock()
        else:
            self.running.pop(name, None)

    def line(self) -> str:
        """``waiting 1.4 s on handshake, curl, http``: the longest wait first, names in start order."""
        if not self.running:
            return ""
        waits = sorted(self.running.items(), key=lambda item: (item[1], _SHOWN_FIRST.get(item[0], 9)))
        longest = self._clock() - waits[0][1]
        return f"waiting {longest:.1f} s on " + ", ".join(name.replace("_", " ") for name, _ in waits)


# Among probes started together, the ones a user recognises first.
_SHOWN_FIRST = {"handshake": 0, "curl": 1, "http": 2, "resolution": 0, "tcp": 1}


def _batch(args: argparse.Namespace, options: dict[str, Any]) -> int:
    from tlsdoctor.batch import count_urls, read_url_list, run_batch
    from tlsdoctor.render.batch import BatchCounts, print_batch
    from tlsdoctor.render.console import make_console
    from tlsdoctor.render.progress import progress

    try:
        total = count_urls(args.batch)
        urls = read_url_list(args.batch)
    except (OSError, UnicodeError) as exc:
        raise UsageError(f"cannot read --batch {args.batch}: {getattr(exc, 'strerror', None) or exc}") from None
    if total == 0:
        raise UsageError(f"no URLs in --batch {args.batch}")
    with progress("diagnosing", total=total) as bar:
        results = run_batch(urls, options, json_lines=args.json, concurrency=args.concurrency,
                            per_host=args.per_host, processes=args.processes, total=total)
        if args.json:
            counts = BatchCounts()
            for r in results:
                print(r.json, flush=True)  # JSON Lines, each as soon as it is next in input order
                counts.add(r)
                bar.advance()
        else:
            counts = print_batch(results, make_console(), on_row=lambda r: bar.advance())
    return EXIT_OK if counts.all_ok else EXIT_FAILED

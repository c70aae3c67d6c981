"""What tlsdoctor.client costs over the bare libraries, against a real nginx in another process.

- ``Client`` on ``curl`` ÷ a bare, reused pycurl handle (goal: median ≥ 0.9 of its requests/s),
  with libcurl's debug text captured for failures (the default), always, and never;
- ``Client`` on ``native`` ÷ a bare ``httpx.Client`` with the same truststore context (goal ≥ 0.9);
- for reference, ``Client`` on ``curl`` ÷ a bare handle that also keeps the header lines (what
  any client returning headers pays: libcurl calls back once per line), ÷ a bare handle that
  also hands back status, body and header lines (the least a client returning a response
  does), and ``Client`` on ``curl`` when each response is still held while the next is sent
  (as ``r = client.get(url)`` in a loop);
- extra connection attempts caused by fallback on the first request to an origin whose
  HTTP/2 is broken, and on later requests (goal: 1, then 0) — counted by the lab's server.

The peer is nginx serving the lab's ``ok`` certificate (:class:`tlsdoctor.lab.nginx.NginxBackend`),
a separate process, so the server shares neither the GIL nor the event loop with the client; the
same pairs are then measured against the in-process lab, beside it, to show how much an
in-process server flatters the ratio. Keep-alive GETs; rounds interleave ours and bare so the
shared machine's noise hits both alike, and each pair's order alternates between rounds. Bounded
in count and time; measures, never asserts.

    python bench/client_bench.py [--requests N] [--rounds R] [--target nginx|lab|both]
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import platform
import ssl
import statistics
import time
from collections.abc import Callable

import httpx
import pycurl
import truststore

from tlsdoctor.client.client import Client
from tlsdoctor.client.curl_stack import CurlStack
from tlsdoctor.client.native_stack import NativeStack
from tlsdoctor.lab import running_lab
from tlsdoctor.lab.nginx import NginxBackend

DEADLINE_S = 300.0


def timed(fn: Callable[[], object], n: int) -> tuple[float, float]:
    """Wall and this thread's CPU seconds for ``n`` calls of ``fn``."""
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(n):
        fn()
    return time.perf_counter() - wall, time.thread_time() - cpu


def one_round(ours: Callable[[], object], bare: Callable[[], object], requests: int) -> tuple[float, float, float, float]:
    """Ours and bare in alternating slices of 25 requests (so a burst of load on the shared
    machine hits both alike): (our req/s, bare req/s, our CPU us/request, bare CPU us/request)."""
    totals = [0.0, 0.0, 0.0, 0.0]
    slices = max(1, requests // 25)
    for index in range(slices):
        order = ((0, ours), (1, bare)) if index % 2 == 0 else ((1, bare), (0, ours))
        for which, fn in order:
            wall, cpu = timed(fn, 25)
            totals[which] += wall
            totals[2 + which] += cpu
    n = slices * 25
    return n / totals[0], n / totals[1], totals[2] / n * 1e6, totals[3] / n * 1e6


def bare_pycurl(url: str, ca: str, headers: bool = False,
                response: bool = False) -> tuple[Callable[[], object], Callable[[], None]]:
    """A reused pycurl handle set up once, as a hand-written integration would: per request,
    only the body buffer is reset. With ``headers``, it also keeps the response's header lines
    (a HEADERFUNCTION: libcurl calls it once per line, and each call takes the GIL back), which
    any client that returns headers pays; it is printed beside the goal's pair, not instead. With
    ``response`` (and ``headers``), each request also hands back its status, body and header
    lines, as the least client returning a response must: the other reference pair."""
    handle = pycurl.Curl()
    sink = io.BytesIO()
    lines: list[bytes] = []
    if headers:
        handle.setopt(pycurl.HEADERFUNCTION, lines.append)
    handle.setopt(pycurl.URL, url)
    handle.setopt(pycurl.CAINFO, ca)
    handle.setopt(pycurl.WRITEDATA, sink)
    handle.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2TLS)
    handle.setopt(pycurl.PROXY, "")
    handle.setopt(pycurl.NOSIGNAL, 1)

    def get() -> None:
        sink.seek(0)
        sink.truncate()
        lines.clear()
        handle.perform()

    def get_response() -> tuple[int, bytes, tuple[bytes, ...]]:
        # What the least client returning a response does: status, body and header lines out.
        sink.seek(0)
        sink.truncate()
        lines.clear()
        handle.perform()
        return handle.getinfo(pycurl.RESPONSE_CODE), sink.getvalue(), tuple(lines)

    return (get_response if response else get), handle.close


def held(client: Client, url: str) -> Callable[[], None]:
    """Requests whose response is still held while the next one is sent, as with
    ``response = client.get(url)`` in an application's loop: the curl stack then copies the
    held response's URL, HTTP version and timings out of the handle before reusing it (a
    dropped response costs nothing; see curl_stack._CurlResponse)."""
    kept: list[object] = [None]

    def get() -> None:
        kept[0] = client.get(url)

    return get


def measure(url: str, ca: str, requests: int, rounds: int, deadline: float) -> dict[str, list[float]]:
    get_curl, close_curl = bare_pycurl(url, ca)
    get_curl_headers, close_curl_headers = bare_pycurl(url, ca, headers=True)
    get_curl_response, close_curl_response = bare_pycurl(url, ca, headers=True, response=True)
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=ca)
    bare_httpx = httpx.Client(verify=context, trust_env=False)

    def client(stack: str, capture_debug: str = "failures") -> Client:
        return Client(stack=stack, validate_every=0, stacks={
            "curl": CurlStack(ca_bundle=ca, trust_os_store=False, proxy="", capture_debug=capture_debug),
            "native": NativeStack(ca_bundle=ca)})

    clients = {"curl": client("curl"), "curl, debug always": client("curl", "always"),
               "curl, debug never": client("curl", "never"), "native": client("native")}
    pairs = {
        "curl": (lambda: clients["curl"].get(url), get_curl),
        "curl, debug always": (lambda: clients["curl, debug always"].get(url), get_curl),
        "curl, debug never": (lambda: clients["curl, debug never"].get(url), get_curl),
        "native": (lambda: clients["native"].get(url), lambda: bare_httpx.get(url)),
        "curl ÷ bare with headers": (lambda: clients["curl"].get(url), get_curl_headers),
        "curl ÷ bare returning all": (lambda: clients["curl"].get(url), get_curl_response),
        "curl, each response held": (held(clients["curl"], url), get_curl),
    }
    for ours, bare in pairs.values():
        for _ in range(20):  # warm: connections open, contexts loaded, caches filled
            ours(), bare()
    ratios: dict[str, list[float]] = {name: [] for name in pairs}
    rounds_seen: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in pairs}
    names = list(pairs)
    for index in range(rounds):
        if time.monotonic() > deadline:
            break
        # The pairs' order rotates between rounds, so that none always runs first (right after
        # the native pair's httpx) or last.
        for name in names[index % len(names):] + names[:index % len(names)]:
            ours, bare = pairs[name]
            # Each pair starts without the garbage of the one before (httpx's, mostly): a
            # collection it left due would otherwise fall into whichever side allocates a
            # tracked object first, which is never the bare pycurl handle.
            gc.collect()
            measured = one_round(ours, bare, requests)
            ratios[name].append(measured[0] / measured[1])
            rounds_seen[name].append(measured)
    for name in pairs:
        if not ratios[name]:
            continue
        mine, theirs, mine_cpu, theirs_cpu = (statistics.median(r[i] for r in rounds_seen[name]) for i in range(4))
        goal = "for reference: no goal" if "÷" in name or "held" in name else "goal median >= 0.9"
        print(f"  Client on {name:24}: {mine:6.0f} req/s; bare {'httpx' if name == 'native' else 'pycurl'}: "
              f"{theirs:6.0f} req/s; ratio min/median/max {min(ratios[name]):.2f} / "
              f"{statistics.median(ratios[name]):.2f} / {max(ratios[name]):.2f} over {len(ratios[name])} rounds "
              f"({goal}); client CPU {mine_cpu:.0f} vs {theirs_cpu:.0f} us/request")
    close_curl()
    close_curl_headers()
    close_curl_response()
    bare_httpx.close()
    for each in clients.values():
        each.close()
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per measurement (default 300)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per pair (default 7)")
    parser.add_argument("--target", choices=["nginx", "lab", "both"], default="both")
    args = parser.parse_args()
    deadline = time.monotonic() + DEADLINE_S
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{ssl.OPENSSL_VERSION}, {pycurl.version.split()[0]}, httpx {httpx.__version__}")
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")

    with running_lab(["ok", "h2-broken"]) as lab:
        if args.target in ("nginx", "both"):
            with NginxBackend(lab, ["ok"]) as nginx:
                site = nginx["ok"]
                print(f"against nginx (a separate process) at {site.url}:")
                measure(site.url, str(site.ca_file), args.requests, args.rounds, deadline)
        if args.target in ("lab", "both"):
            ok = lab["ok"]
            print(f"against the in-process lab at {ok.url} (its server shares this process):")
            measure(ok.url, str(ok.ca_file), args.requests, args.rounds, deadline)

        ca = str(lab["ok"].ca_file)
        broken = lab["h2-broken"]
        with Client(stack="curl", validate_every=0, stacks={
            "curl": CurlStack(ca_bundle=ca, trust_os_store=False, proxy=""), "native": NativeStack(ca_bundle=ca)}
        ) as client:
            extra, opened = [], []
            for _ in range(4):
                before, server_before = client.attempts, lab.connections["h2-broken"]
                client.get(broken.url)
                extra.append(client.attempts - before - 1)
                opened.append(lab.connections["h2-broken"] - server_before)
        print(f"extra connection attempts caused by fallback, request by request: {extra} (goal: 1, then 0)")
        print(f"new TCP connections the server saw, request by request: {opened} (keep-alive reuses the rest)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

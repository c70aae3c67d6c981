"""What tlsdoctor.client costs over the bare libraries, measured in one run on the lab.

- ``Client`` on ``curl`` ÷ a bare, reused pycurl handle (goal ≥ 0.9 of its requests/s);
- ``Client`` on ``native`` ÷ a bare ``httpx.Client`` with the same truststore context (goal ≥ 0.9);
- extra connection attempts caused by fallback on the first request to an origin whose
  HTTP/2 is broken, and on later requests (goal: 1, then 0) — counted by the lab's server.

Keep-alive GETs to the lab's ``ok`` scenario; rounds interleave client and peer so the
shared machine's noise hits both alike. Bounded in count and time; measures, never asserts.

    python bench/client_bench.py [--requests N] [--rounds R]
"""

from __future__ import annotations

import argparse
import io
import ssl
import statistics
import time

import httpx
import pycurl
import truststore

from tlsdoctor.client.client import Client
from tlsdoctor.client.curl_stack import CurlStack
from tlsdoctor.client.native_stack import NativeStack
from tlsdoctor.lab import running_lab


def rate(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with running_lab(["ok", "h2-broken"]) as lab:
        ok = lab["ok"]
        url, ca = ok.url, str(ok.ca_file)

        handle = pycurl.Curl()
        sink = io.BytesIO()

        def bare_curl() -> None:
            sink.seek(0)
            handle.setopt(pycurl.URL, url)
            handle.setopt(pycurl.CAINFO, ca)
            handle.setopt(pycurl.WRITEDATA, sink)
            handle.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2TLS)
            handle.setopt(pycurl.PROXY, "")
            handle.perform()

        context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cafile=ca)
        bare_httpx = httpx.Client(verify=context, trust_env=False)

        curl_client = Client(stack="curl", validate_every=0, stacks={
            "curl": CurlStack(ca_bundle=ca, trust_os_store=False, proxy=""), "native": NativeStack(ca_bundle=ca)})
        native_client = Client(stack="native", validate_every=0, stacks={
            "curl": CurlStack(ca_bundle=ca, trust_os_store=False, proxy=""), "native": NativeStack(ca_bundle=ca)})

        quiet_client = Client(stack="curl", validate_every=0, stacks={
            "curl": CurlStack(ca_bundle=ca, trust_os_store=False, proxy="", capture_debug=False),
            "native": NativeStack(ca_bundle=ca)})
        pairs = {
            "curl": (lambda: curl_client.get(url), bare_curl),
            "curl, no debug capture": (lambda: quiet_client.get(url), bare_curl),
            "native": (lambda: native_client.get(url), lambda: bare_httpx.get(url)),
        }
        for ours, bare in pairs.values():
            ours(), bare()  # warm: connections open, contexts loaded
        ratios: dict[str, list[float]] = {name: [] for name in pairs}
        rates: dict[str, list[tuple[float, float]]] = {name: [] for name in pairs}
        deadline = time.monotonic() + 240
        for _ in range(args.rounds):
            if time.monotonic() > deadline:
                break
            for name, (ours, bare) in pairs.items():
                mine, theirs = rate(ours, args.requests), rate(bare, args.requests)
                ratios[name].append(mine / theirs)
                rates[name].append((mine, theirs))
        for name in pairs:
            mine = statistics.median(r[0] for r in rates[name])
            theirs = statistics.median(r[1] for r in rates[name])
            print(f"Client on {name:22}: {mine:7.0f} req/s; bare {'httpx' if name == 'native' else 'pycurl'}: "
                  f"{theirs:7.0f} req/s; ratio {statistics.median(ratios[name]):.2f} "
                  f"(rounds {min(ratios[name]):.2f}-{max(ratios[name]):.2f}; goal >= 0.9)")

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
        handle.close()
        bare_httpx.close()
        curl_client.close()
        quiet_client.close()
        native_client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The lab never holds a small response back (issue 9: TCP_NODELAY).

Without TCP_NODELAY on accepted connections, a small TLS record written while an earlier
one is unacknowledged waits for the client's delayed ACK (~40 ms on Linux loopback), so
every request cost ~47 ms instead of a few. Two proofs: the option is set on the server's
side of a real connection, and a request costs about what a bare handshake costs (a
ratio measured in one run, not an absolute time).
"""

from __future__ import annotations

import io
import socket
import statistics
import time

import pycurl
import pytest

from tlsdoctor.lab import Lab, LabScenario


def _curl(entry: LabScenario, *, connect_only: bool = False, http_version: int = pycurl.CURL_HTTP_VERSION_2TLS) -> float:
    handle = pycurl.Curl()
    try:
        handle.setopt(pycurl.URL, entry.url)
        handle.setopt(pycurl.CAINFO, str(entry.ca_file))
        handle.setopt(pycurl.HTTP_VERSION, http_version)
        handle.setopt(pycurl.TIMEOUT_MS, 5000)
        handle.setopt(pycurl.WRITEDATA, io.BytesIO())
        if connect_only:
            handle.setopt(pycurl.CONNECT_ONLY, 1)  # TCP connect and TLS handshake, no request
        begin = time.perf_counter()
        handle.perform()
        elapsed = time.perf_counter() - begin
        if not connect_only:
            assert handle.getinfo(pycurl.RESPONSE_CODE) == 200
        return elapsed
    finally:
        handle.close()


def test_accepted_connections_have_nodelay(tls_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = tls_lab.endpoints["ok"]
    seen: list[int] = []
    original = endpoint.handle

    async def recording(reader, writer, timeout):  # type: ignore[no-untyped-def]
        seen.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        await original(reader, writer, timeout)

    monkeypatch.setattr(endpoint, "handle", recording)
    _curl(tls_lab["ok"])
    assert seen and all(seen), seen


@pytest.mark.parametrize("http_version", [pycurl.CURL_HTTP_VERSION_1_1, pycurl.CURL_HTTP_VERSION_2TLS], ids=["http1.1", "h2"])
def test_small_response_is_not_held(tls_lab: Lab, http_version: int) -> None:
    entry = tls_lab["ok"]
    requests, handshakes = [], []
    for _ in range(15):  # interleaved, so machine noise lands on both
        handshakes.append(_curl(entry, connect_only=True, http_version=http_version))
        requests.append(_curl(entry, http_version=http_version))
    # Held by a delayed ACK, a request costs ~8x a handshake here; sent at once, ~1.1x.
    ratio = statistics.median(requests) / statistics.median(handshakes)
    assert ratio < 3, f"request/handshake = {ratio:.1f}"

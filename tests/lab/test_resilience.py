"""The lab stays healthy whatever its clients do.

A field case motivates this: a well-known C++ REST server stopped answering once curl
>= 8.9 started dropping connections without close_notify. The lab must never be that
server. Each test below abuses one lab endpoint in a loop and, after every abuse, makes
an ordinary libcurl request that must succeed: abuse-then-request, on the same server.
"""

from __future__ import annotations

import os
import socket
import ssl
import struct
import urllib.parse
from typing import Callable

import pytest

from tlsdoctor.lab import Lab, LabScenario
from tlsdoctor.lab.check import attempt_for
from tlsdoctor.observe.curl import curl_attempt

CYCLES = 25


def address(entry: LabScenario) -> tuple[str, int]:
    url = urllib.parse.urlsplit(entry.url)
    assert url.hostname == "127.0.0.1" and url.port
    return url.hostname, url.port


def client_hello(host: str = "127.0.0.1") -> bytes:
    """A real ClientHello, from OpenSSL via a memory BIO (no socket involved)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname=host)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def reset(sock: socket.socket) -> None:
    """Close with an RST instead of a FIN, as a killed client or a middlebox does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def drop_after_response_without_close_notify(entry: LabScenario) -> None:
    ctx = ssl.create_default_context(cafile=str(entry.ca_file))
    raw = socket.create_connection(address(entry), timeout=2)
    tls = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    tls.sendall(b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n")  # keep-alive: the server waits for more
    assert tls.recv(4096).startswith(b"HTTP/1.1 200")
    os.close(tls.detach())  # the TCP socket goes away without a close_notify


def abort_mid_handshake(entry: LabScenario) -> None:
    hello = client_hello()
    sock = socket.create_connection(address(entry), timeout=2)
    sock.sendall(hello[: len(hello) // 2])
    reset(sock)


def abort_after_server_hello(entry: LabScenario) -> None:
    sock = socket.create_connection(address(entry), timeout=2)
    sock.sendall(client_hello())
    sock.recv(1)  # the server has answered and waits for our next flight
    reset(sock)


def send_garbage(entry: LabScenario) -> None:
    with socket.create_connection(address(entry), timeout=2) as sock:
        sock.sendall(os.urandom(512))
        try:
            sock.recv(4096)
        except (ConnectionResetError, TimeoutError):
            pass


def send_http_to_tls_port(entry: LabScenario) -> None:
    with socket.create_connection(address(entry), timeout=2) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n")
        try:
            sock.recv(4096)
        except (ConnectionResetError, TimeoutError):
            pass


def huge_record_then_close(entry: LabScenario) -> None:
    with socket.create_connection(address(entry), timeout=2) as sock:
        sock.sendall(bytes([22, 3, 1, 0xFF, 0xFF]) + b"\0" * 100)


def libcurl_drops_connections(entry: LabScenario) -> None:
    """libcurl >= 8.9 closes without close_notify: the exact field trigger."""
    for _ in range(3):
        assert curl_attempt(attempt_for(entry)).curl_code == 0


ABUSES: dict[str, Callable[[LabScenario], None]] = {
    "drop-without-close-notify": drop_after_response_without_close_notify,
    "abort-mid-handshake": abort_mid_handshake,
    "abort-after-server-hello": abort_after_server_hello,
    "garbage": send_garbage,
    "http-on-tls-port": send_http_to_tls_port,
    "huge-record": huge_record_then_close,
    "libcurl-drops": libcurl_drops_connections,
}


@pytest.mark.parametrize("abuse", ABUSES, ids=list(ABUSES))
@pytest.mark.parametrize("target", ["ok", "no-close-notify"])
def test_abuse_then_request_cycles(tls_lab: Lab, abuse: str, target: str) -> None:
    entry = tls_lab[target]
    before = tls_lab.connections[entry.id]
    for cycle in range(CYCLES):
        ABUSES[abuse](entry)
        result = curl_attempt(attempt_for(entry))
        assert (result.curl_code, result.http_status) == (0, 200), f"cycle {cycle}: {result.error}"
    assert tls_lab.connections[entry.id] >= before + 2 * CYCLES  # the abuse really reached the server


def test_stalled_clients_do_not_block_others(tls_lab: Lab) -> None:
    entry = tls_lab["ok"]
    stalled = [socket.create_connection(address(entry), timeout=2) for _ in range(20)]
    try:
        for sock in stalled[:10]:
            sock.sendall(client_hello()[:20])  # half a record, then silence
        for _ in range(10):
            result = curl_attempt(attempt_for(entry))
            assert (result.curl_code, result.http_status) == (0, 200), result.error
    finally:
        for sock in stalled:
            sock.close()


def test_interception_proxy_survives_aborting_clients(tls_lab: Lab) -> None:
    entry = tls_lab["proxy-bad-gateway"]  # the interceptor, with its CA trusted
    proxy = urllib.parse.urlsplit(entry.proxy)
    origin = urllib.parse.urlsplit(entry.url)
    for cycle in range(CYCLES):
        with socket.create_connection((proxy.hostname, proxy.port), timeout=2) as sock:
            sock.sendall(f"CONNECT {origin.netloc} HTTP/1.1\r\nHost: {origin.netloc}\r\n\r\n".encode())
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            sock.sendall(client_hello()[:40])
            reset(sock)
        result = curl_attempt(attempt_for(entry))
        assert (result.curl_code, result.http_status) == (0, 502), f"cycle {cycle}: {result.error}"


def test_stall_scenario_serves_many_stalled_clients_at_once(tls_lab: Lab) -> None:
    entry = tls_lab["stall-handshake"]
    results = [curl_attempt(attempt_for(entry, timeout=0.3)) for _ in range(5)]
    assert [r.curl_code for r in results] == [28] * 5
    assert curl_attempt(attempt_for(tls_lab["ok"])).curl_code == 0


def test_interception_proxy_reaches_the_origin_only_for_a_request(tls_lab: Lab) -> None:
    # A client that refuses the minted certificate (curl 60, the scenario's point) never asks
    # for anything: the interceptor opens no upstream connection for it, while a client
    # trusting its CA gets its request relayed (or the proxy's own 502) as before.
    refusing = tls_lab["intercepting-proxy"]
    origin_port = urllib.parse.urlsplit(refusing.url).port
    origins = [sid for sid, entry in tls_lab.scenarios.items() if urllib.parse.urlsplit(entry.url).port == origin_port
               and entry.proxy is None]
    assert origins, "the intercepting proxy's origin is one of the lab's own endpoints"
    before = {sid: tls_lab.connections[sid] for sid in origins}
    for _ in range(3):
        assert curl_attempt(attempt_for(refusing)).curl_code == 60
    assert {sid: tls_lab.connections[sid] for sid in origins} == before
    trusting = tls_lab["proxy-bad-gateway"]
    result = curl_attempt(attempt_for(trusting))
    assert (result.curl_code, result.http_status) == (0, 502), result.error

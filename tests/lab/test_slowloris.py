"""The lab sheds abusers, not clients (issue 12).

A loopback slowloris — thousands of connections that start a handshake and never finish
it, or hundreds that trickle a byte at a time — must leave a legitimate request served
within 2 s. Before, a cap of 512 connections shed every *new* client once the abusers
held the slots, and a 300 s deadline kept them there. Now the stalest connection doing no
work makes room (lab.admission), and unfinished handshakes and idle connections time out
in seconds.

Bounded: at most a few thousand sockets, every loop counted, every wait with a timeout.
"""

from __future__ import annotations

import resource
import select
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
from contextlib import ExitStack
from typing import Iterator

import pytest

from tlsdoctor.lab import Lab
from tlsdoctor.lab.admission import Phase
from tlsdoctor.lab.check import attempt_for
from tlsdoctor.lab.runner import running_lab
from tlsdoctor.observe.curl import curl_attempt

FLOOD = 2000
TRICKLERS = 520


def _raise_fd_limit(needed: int) -> None:
    """Both ends of every connection live in this process (the lab is a thread)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} file descriptors, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _client_hello() -> bytes:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def _address(lab: Lab) -> tuple[str, int]:
    url = urllib.parse.urlsplit(lab["ok"].url)
    assert url.hostname == "127.0.0.1" and url.port
    return url.hostname, url.port


def _served(lab: Lab) -> bool:
    """One legitimate libcurl request, verified, that must be answered within 2 s."""
    result = curl_attempt(attempt_for(lab["ok"], timeout=2.0))
    return (result.curl_code, result.http_status) == (0, 200)


@pytest.fixture
def lab() -> Iterator[Lab]:
    _raise_fd_limit(2 * FLOOD + 1024)
    with running_lab(["ok"]) as lab:  # the default limits: what every user of the lab gets
        yield lab


def _open(address: tuple[str, int], first_bytes: bytes, stack: ExitStack) -> socket.socket | None:
    try:
        sock = stack.enter_context(socket.create_connection(address, timeout=2))
        sock.sendall(first_bytes)
        return sock
    except OSError:
        return None  # the lab closed it already to make room: exactly what it should do


# The flood comes from a child process: in this process it would share the GIL with the lab's
# thread, and on a loaded machine the test would measure the flood's Python loop, not the lab.
_FLOODER = """
import socket, sys, time
host, port, count, step, hello = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), bytes.fromhex(sys.argv[5])
held, begin = [], time.monotonic()
for index in range(count):
    if time.monotonic() - begin > 60:
        break
    try:
        sock = socket.create_connection((host, port), timeout=2)
        sock.sendall(hello)
        held.append(sock)
    except OSError:
        pass  # the lab closed it already to make room: exactly what it should do
    if index % step == step - 1:
        print(index + 1, flush=True)
        sys.stdin.readline()  # hold the flood while the parent makes its request
print("done", flush=True)
sys.stdin.readline()
"""


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"the flooder said nothing for {timeout} s"
    return proc.stdout.readline().strip()


def test_two_thousand_stalled_handshakes_leave_clients_served(lab: Lab) -> None:
    hello_start = _client_hello()[:20]
    host, port = _address(lab)
    served: list[bool] = []
    proc = subprocess.Popen(
        [sys.executable, "-c", _FLOODER, host, str(port), str(FLOOD), "500", hello_start.hex()],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdin is not None
        for _ in range(FLOOD // 500 + 1):  # bounded: one line per 500 connections, then "done"
            line = _read_line(proc, 90)
            if line == "done":
                break
            served.append(_served(lab))  # while the flood is arriving...
            proc.stdin.write("\n")
            proc.stdin.flush()
        served += [_served(lab) for _ in range(5)]  # ...and with it held open
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert len(served) == FLOOD // 500 + 5, "the flooder stopped early (60 s bound)"
    assert all(served), served
    assert lab.admission.evicted >= FLOOD - lab.admission.limits.max_connections  # abusers were shed
    assert lab.admission.shed == 0  # no newcomer was refused


def test_tricklers_are_timed_out_and_clients_served() -> None:
    """520 connections sending one byte of a ClientHello at a time: more than the cap.

    The field case sent a byte every 10 s, under the lab's 15 s I/O timeout; here the
    handshake timeout is 1.5 s and the bytes come every 0.5 s, to keep the test short.
    """
    _raise_fd_limit(2 * TRICKLERS + 1024)
    hello = _client_hello()
    with running_lab(["ok"], handshake_timeout=1.5) as lab, ExitStack() as stack:
        socks = [s for s in (_open(_address(lab), hello[:1], stack) for _ in range(TRICKLERS)) if s]
        served = []
        for step in range(1, 7):  # 3 s of trickling, a legitimate request at each step
            time.sleep(0.5)
            for sock in socks:
                try:
                    sock.send(hello[step : step + 1])
                except OSError:
                    pass  # closed by the lab
            served.append(_served(lab))
        assert all(served), served
        assert lab.admission.count(Phase.HANDSHAKE) == 0  # every trickler is gone
        assert lab.admission.evicted >= TRICKLERS


def test_slow_request_after_handshake_is_timed_out() -> None:
    """Handshake done, then a request one byte at a time: the idle timeout ends it."""
    with running_lab(["ok"], idle_timeout=1.0) as lab:
        entry = lab["ok"]
        ctx = ssl.create_default_context(cafile=str(entry.ca_file))
        ctx.set_alpn_protocols(["http/1.1"])
        with socket.create_connection(_address(lab), timeout=2) as raw, ctx.wrap_socket(
            raw, server_hostname="127.0.0.1"
        ) as tls:
            closed = False
            for byte in b"GET / HTTP/1.1\r\nHost: lab\r\n"[:10]:  # 10 bytes over 2.5 s
                try:
                    tls.sendall(bytes([byte]))
                except OSError:
                    closed = True
                    break
                time.sleep(0.25)
            if not closed:
                tls.settimeout(3)
                try:
                    closed = tls.recv(1024) == b""
                except TimeoutError:
                    closed = False  # still open: the lab kept a connection doing no work
                except (OSError, ssl.SSLError):
                    closed = True
            assert closed
        assert _served(lab)

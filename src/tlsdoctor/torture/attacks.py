"""The attacks: one small function each, over raw sockets, the ClientHello bytes and
:class:`~tlsdoctor.torture.connection.TlsClient`.

A *round* attack does one abuse and returns a short note of what it saw (evidence for the
report). A *held* attack opens its abusive connections and returns a :class:`Held`: the
runner makes its sanity requests while they are held, then releases them. Neither kind
judges anything: whether the server survived is the sanity requests' business.

What the server does back (an alert, a reset, nothing) is part of the note, never an
error: servers are allowed to hang up on abusers.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from OpenSSL import SSL

from tlsdoctor.torture.connection import Close, RateLimit, TlsClient, close_socket, http_request, random_bytes
from tlsdoctor.torture.hello import client_hello
from tlsdoctor.torture.target import Target

T = TypeVar("T")
MAX_HOLD = 30.0  # no held attack keeps its connections longer, whatever the caller asks


@dataclass(frozen=True)
class Round:
    """Everything one round of an attack needs: where, how, and within what bounds."""

    target: Target
    index: int
    version: str | None  # "1.3", "1.2", or None: whatever the server picks
    close: Close  # how the attack's connections end: FIN or RST
    timeout: float
    rate: RateLimit
    concurrency: int  # connections held open by held attacks

    def connect(self) -> socket.socket:
        self.rate.wait()
        return self.target.connect(self.timeout)

    def tls(self, **options: object) -> TlsClient:
        self.rate.wait()
        return TlsClient(self.target, version=self.version, timeout=self.timeout, **options)  # type: ignore[arg-type]

    def hello(self) -> bytes:
        return client_hello(self.target.server_name or self.target.address, self.version)


def _quietly(action: Callable[[], object]) -> str | None:
    """Run a step whose failure is the server's right (it may hang up); the error as a note."""
    try:
        action()
    except (OSError, SSL.Error) as exc:
        return type(exc).__name__
    return None


def _read_answer(sock: socket.socket) -> str:
    """What the server did after our abuse: bytes, a close, a reset, or silence (within 1 s)."""
    sock.settimeout(min(1.0, sock.gettimeout() or 1.0))
    try:
        data = sock.recv(4096)
    except TimeoutError:
        return "server silent"
    except ConnectionResetError:
        return "server reset"
    except OSError as exc:
        return f"server: {type(exc).__name__}"
    return f"server answered {len(data)} bytes" if data else "server closed"


# -- after a complete exchange, or a complete handshake ---------------------------------


def drop_without_close_notify(r: Round) -> str:
    """Full request and response, then the TCP connection goes with no close_notify."""
    tls = r.tls()
    try:
        tls.handshake()
        tls.send(http_request(r.target))
        response = tls.read_response()
    except (OSError, SSL.Error) as exc:
        tls.drop(r.close)
        return f"exchange failed: {type(exc).__name__}"
    status = response.split(b"\r\n", 1)[0].decode("latin-1", "replace")[:40]
    tls.drop(r.close)
    return f"{tls.version}, {status or 'no response'}, dropped ({r.close.upper()})"


def drop_after_handshake(r: Round) -> str:
    """Handshake completed, nothing sent, no alert, no close_notify: a client whose own
    verification failed after the handshake (curl's host name check) walks away like this."""
    tls = r.tls()
    note = _quietly(tls.handshake)
    tls.drop(r.close)
    return f"{tls.version}, dropped ({r.close.upper()})" if note is None else f"handshake: {note}"


def alert_after_handshake(r: Round) -> str:
    """A client that rejects the server's certificate: a fatal alert after the server's flight.

    Odd rounds trust nothing (OpenSSL sends unknown_ca); even rounds trust the CA but fail
    the check in the verify callback (bad_certificate). In TLS 1.3 the alert follows the
    server's Finished; in TLS 1.2 it precedes it.
    """
    if r.index % 2:
        tls = r.tls(trust=None)
        expected = "unknown_ca"
    else:
        tls = r.tls(reject_certificate=True)
        expected = "bad_certificate"
    note = _quietly(tls.handshake)
    close_socket(tls.sock, r.close)
    return f"sent {expected} ({note or 'handshake unexpectedly succeeded'})"


def rst_after_request(r: Round) -> str:
    """A request, then an RST before reading a byte: the server writes to a reset socket."""
    tls = r.tls()
    note = _quietly(tls.handshake)
    if note is None:
        note = _quietly(lambda: tls.send(http_request(r.target)))
    tls.drop("rst")
    return f"{tls.version}, request sent, reset" if note is None else f"failed: {note}"


def truncated_request(r: Round) -> str:
    """Half an HTTP request, then close_notify: the request ends mid-header, politely."""
    tls = r.tls()
    note = _quietly(tls.handshake)
    if note is None:
        request = http_request(r.target)
        note = _quietly(lambda: tls.send(request[: len(request) // 2]))
    tls.close_notify()
    answer = _read_answer(tls.sock)
    close_socket(tls.sock, r.close)
    return f"half a request, close_notify; {answer}" if note is None else f"failed: {note}"


def renegotiation(r: Round) -> str:
    """Client-initiated renegotiations on TLS 1.2, a bounded number per round."""
    tls = r.tls()
    note = _quietly(tls.handshake)
    if note is not None:
        tls.drop(r.close)
        return f"handshake: {note}"
    done = 0
    for _ in range(8):
        if not tls.renegotiate():
            break
        done += 1
    tls.close()  # politely: an unclean end is another attack's business
    return f"{done} renegotiations accepted" if done else "renegotiation refused"


# -- before or instead of a handshake ---------------------------------------------------


def _raw(r: Round, payload: bytes, *, read: bool) -> str:
    sock = r.connect()
    try:
        sock.sendall(payload)
        answer = _read_answer(sock) if read else "not read"
    except OSError as exc:
        answer = f"send failed: {type(exc).__name__}"
    close_socket(sock, r.close)
    return f"{len(payload)} bytes, {answer}, closed ({r.close.upper()})"


def fin_after_clienthello(r: Round) -> str:
    """A whole ClientHello, then a FIN before the server's answer is read."""
    return _raw(Round(**{**r.__dict__, "close": "fin"}), r.hello(), read=False)


def rst_after_clienthello(r: Round) -> str:
    """A whole ClientHello, then an RST: the server's ServerHello meets a reset socket."""
    return _raw(Round(**{**r.__dict__, "close": "rst"}), r.hello(), read=False)


def partial_clienthello(r: Round) -> str:
    """Half a ClientHello record, then close."""
    hello = r.hello()
    return _raw(r, hello[: len(hello) // 2], read=False)


def garbage(r: Round) -> str:
    """Random bytes where a ClientHello belongs (first byte not 22, so never a record)."""
    data = random_bytes(512)
    return _raw(r, bytes([0x80 | data[0] & 0x7F]) + data[1:], read=True)


def plaintext_http(r: Round) -> str:
    """A plain HTTP request on the TLS port."""
    return _raw(r, http_request(r.target), read=True)


# -- held open while sanity requests run -------------------------------------------------


@dataclass
class Held:
    """Abusive connections held open; ``release`` ends them (bounded, idempotent).

    Completed TLS connections are released politely (close_notify, then FIN): what these
    attacks test is the holding, and an unclean end is another attack's business.
    """

    sockets: list[socket.socket]
    close: Close
    note: str
    clients: list[TlsClient] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for sock in self.sockets:
            close_socket(sock, self.close)
        for client in self.clients:
            client.close()
        self.sockets.clear()
        self.clients.clear()


def _open_many(r: Round, opener: Callable[[], T]) -> tuple[list[T], int]:
    """Up to K connections; the first that fails ends the opening (a server that stopped
    accepting is evidence already, and waiting out K timeouts would only slow the run)."""
    opened = []
    for _ in range(r.concurrency):
        try:
            opened.append(opener())
        except (OSError, SSL.Error):
            return opened, 1
    return opened, 0


def stalled_handshakes(r: Round) -> Held:
    """K connections that send a ClientHello and never continue."""

    def open_one() -> socket.socket:
        sock = r.connect()
        try:
            sock.sendall(r.hello())
        except OSError:
            sock.close()
            raise
        return sock

    socks, failed = _open_many(r, open_one)
    return Held(socks, r.close, f"{len(socks)} ClientHellos held" + (f", {failed} failed" if failed else ""))


def _handshaken(r: Round) -> TlsClient:
    tls = r.tls()
    try:
        tls.handshake()
    except BaseException:
        tls.sock.close()
        raise
    return tls


def idle_connections(r: Round) -> Held:
    """K completed TLS connections that never send a request."""
    clients, failed = _open_many(r, lambda: _handshaken(r))
    return Held([], r.close, f"{len(clients)} idle TLS connections held" + (f", {failed} failed" if failed else ""),
                clients)


SLOW_INTERVAL = 0.25  # seconds between two bytes of a slow request


def slow_request(r: Round) -> Held:
    """K TLS connections sending their request headers one byte per interval, never finishing."""
    clients, failed = _open_many(r, lambda: _handshaken(r))
    request = http_request(r.target).rstrip(b"\r\n") + b"\r\nX-Slow: " + b"a" * 4096
    held = Held([], r.close, f"{len(clients)} slow requests held" + (f", {failed} failed" if failed else ""),
                list(clients))

    def trickle() -> None:
        deadline = time.monotonic() + MAX_HOLD
        for position in range(len(request)):
            if held._stop.wait(SLOW_INTERVAL) or time.monotonic() > deadline:
                return
            for tls in list(clients):
                try:
                    tls.send(request[position : position + 1])
                except (OSError, SSL.Error):
                    clients.remove(tls)  # the server closed it: its right

    held._thread = threading.Thread(target=trickle, name="torture-slow-request", daemon=True)
    held._thread.start()
    return held

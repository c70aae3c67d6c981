"""Fragile servers: deliberately buggy HTTPS servers, so that torture has something to catch.

These are not diagnosis scenarios (a client meets nothing wrong with them until someone
misbehaves), so they live in their own small registry, outside the catalogue that
``tlsdoctor demo`` and ``check`` iterate. The lab serves them on request
(``Lab(fragile=["fragile-eof"])``), with the lab's PKI; torture's tests and docs use them
as deterministic demonstrations. Each reproduces one field bug faithfully:

- ``fragile-eof``: a C++ REST framework's HTTPS server in 2024-25. After one connection
  ends without close_notify (curl >= 8.9 after a failed host name check), a stale
  OpenSSL error queue makes every later SSL_read on the server's thread fail: handshakes
  still work, every request gets an empty reply (curl 52), until a restart.
- ``fragile-blocking``: Python's standard ``http.server`` (ThreadingHTTPServer: requests
  in threads) with TLS done the usual way, in the accept loop. One client that stalls
  mid-handshake blocks the accept loop, so nobody else is served until it gives up.
"""

from __future__ import annotations

import asyncio
import http.server
import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Union

from OpenSSL import SSL

from tlsdoctor.lab.endpoints import Endpoint
from tlsdoctor.lab.http import Reply, serve_http1
from tlsdoctor.lab.scenarios import BuildContext
from tlsdoctor.lab.tls import TlsServerConfig, TlsStream

LOOPBACK = "127.0.0.1"
_OP_ALLOW_CLIENT_RENEGOTIATION = 1 << 8  # SSL_OP_ALLOW_CLIENT_RENEGOTIATION (OpenSSL 3), not in pyOpenSSL


@dataclass
class FragileEof:
    """HTTP/1.1 over TLS, poisoned for good by the first connection that ends without close_notify."""

    tls: TlsServerConfig
    poisoned: bool = False  # the stale error queue: one per server thread, and this server has one
    _context: SSL.Context | None = field(default=None, init=False, repr=False)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        if self._context is None:
            self._context = self.tls.build_context()
            # The field server ran on OpenSSL 1.1, which allowed client renegotiation;
            # OpenSSL 3 needs SSL_OP_ALLOW_CLIENT_RENEGOTIATION for that.
            self._context.set_options(_OP_ALLOW_CLIENT_RENEGOTIATION)
        stream = TlsStream.server(self._context, reader, writer, timeout)
        try:
            await stream.handshake()  # SSL_accept clears nothing, but it still succeeds
            if self.poisoned:
                # SSL_read returns -1 and SSL_get_error reads the stale entry: the server
                # takes it for this connection's failure and closes without answering.
                await stream.recv()
                return
            await serve_http1(stream, Reply(body=b"fragile-eof\n"))
            if stream.peer_eof_without_close_notify:
                self.poisoned = True  # "unexpected eof while reading", never cleared
        finally:
            await stream.close()


class _HandshakeInAcceptLoop(http.server.ThreadingHTTPServer):
    """The stock pattern, ``httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)``,
    written out: ``accept()`` returns only after the handshake, in the one accept thread.

    One change from the stock pattern, so that the lab can always stop: a handshake gives
    up after ``handshake_timeout`` (the stock server waits forever)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext, handshake_timeout: float) -> None:
        self.tls_context = context
        self.handshake_timeout = handshake_timeout
        super().__init__(address, _FragileHandler)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # socketserver prints a traceback per failed connection; abusers cause many

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        sock, address = self.socket.accept()
        sock.settimeout(self.handshake_timeout)
        try:
            return self.tls_context.wrap_socket(sock, server_side=True), address  # the handshake, right here
        except BaseException:
            sock.close()
            raise


class _FragileHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # per read of a request, as a careful deployment sets it
    server_version = "fragile-blocking"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b"fragile-blocking\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # the lab is quiet


@dataclass
class FragileBlocking:
    """A real ``http.server`` in a thread of its own; ``start`` binds and returns the port."""

    chain: Path
    key: Path
    handshake_timeout: float = 10.0
    _server: _HandshakeInAcceptLoop | None = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)

    def start(self) -> int:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.chain, self.key)
        self._server = _HandshakeInAcceptLoop((LOOPBACK, 0), context, self.handshake_timeout)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="fragile-blocking", daemon=True
        )
        self._thread.start()
        return self._server.server_address[1]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()  # returns once the accept loop is free: bounded by the handshake timeout
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=self.handshake_timeout + 5)


@dataclass(frozen=True)
class FragileServer:
    """A fragile server as the running lab serves it."""

    id: str
    description: str
    url: str
    ca_file: Path
    port: int

    def to_dict(self) -> dict[str, object]:
        entry = fragile(self.id)
        return {"id": self.id, "description": self.description, "url": self.url, "ca_file": str(self.ca_file),
                "bug_class": entry.bug_class, "caught_by": entry.caught_by}


ThreadServer = FragileBlocking
Built = Union[Endpoint, ThreadServer]


@dataclass(frozen=True)
class Fragile:
    """One fragile server: what its bug is, and which torture attack is meant to catch it."""

    id: str
    description: str
    bug_class: str  # a tlsdoctor.torture BugClass value
    caught_by: str  # the torture attack id that matches its bug
    build: Callable[[BuildContext, Path], Built]


def _fragile_eof(ctx: BuildContext, _run_dir: Path) -> Built:
    return FragileEof(TlsServerConfig(certificate=ctx.leaf(), alpn=("http/1.1",)))


def _fragile_blocking(ctx: BuildContext, run_dir: Path) -> Built:
    chain, key = ctx.leaf().write(run_dir / "fragile", "fragile-blocking")
    return FragileBlocking(chain, key)


FRAGILE: tuple[Fragile, ...] = (
    Fragile("fragile-eof", "after one connection ends without close_notify, every later request gets an empty reply",
            "unclean-close-state", "drop-without-close-notify", _fragile_eof),
    Fragile("fragile-blocking", "Python's http.server with the TLS handshake in its accept loop: one stalled client "
            "blocks everyone", "blocking-handshake", "stalled-handshakes", _fragile_blocking),
)
FRAGILE_BY_ID: dict[str, Fragile] = {f.id: f for f in FRAGILE}


def fragile(fragile_id: str) -> Fragile:
    try:
        return FRAGILE_BY_ID[fragile_id]
    except KeyError:
        raise KeyError(f"unknown fragile server {fragile_id!r}; known: {', '.join(FRAGILE_BY_ID)}") from None

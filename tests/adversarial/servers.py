"""Hostile servers, lab-style: real TLS on 127.0.0.1 with lab PKI certificates, each misbehaving in one way.

Each class is an endpoint (``handle(reader, writer, timeout)``, as in
:mod:`tlsdoctor.lab.endpoints`); :func:`serving` runs one on a loopback port from a
background event loop. Every loop here is bounded in count and in time, and every
server stops when its test ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator

from OpenSSL import SSL

from tlsdoctor.lab.endpoints import read_client_hello, reset
from tlsdoctor.lab.http import Reply, serve_http1
from tlsdoctor.lab.proxy import ConnectProxy
from tlsdoctor.lab.tls import TlsClosed, TlsServerConfig, TlsStream

SERVE_FOR = 30.0  # no connection is served longer than this, whatever the client does


@contextlib.contextmanager
def serving(endpoint: Any, tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """Serve ``endpoint`` on a loopback port from a background event loop; yields the port.

    With ``tls``, every connection is TLS first (asyncio's own server side), and the endpoint
    reads and writes inside it: an HTTPS proxy is a CONNECT proxy served so."""
    loop = asyncio.new_event_loop()
    ready: list[int] = []
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        # Stopping the server cancels its handlers: that ends them, quietly (asyncio would
        # otherwise log the cancelled task's CancelledError).
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(endpoint.handle(reader, writer, 5.0), SERVE_FOR)
        writer.transport.abort()

    async def main() -> asyncio.base_events.Server:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls, ssl_handshake_timeout=5.0 if tls else None)
        ready.append(server.sockets[0].getsockname()[1])
        return server

    async def stop(server: asyncio.base_events.Server) -> None:
        server.close()
        for task in list(handlers):
            task.cancel()
        await asyncio.sleep(0)
        pending = [t for t in handlers if not t.done()]
        if pending:  # a TLS connection's cancellation takes a few turns of the loop to unwind
            await asyncio.wait(pending, timeout=2.0)

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(main(), loop).result(timeout=10)
    try:
        yield ready[0]
    finally:
        asyncio.run_coroutine_threadsafe(stop(server), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@dataclass
class _Tls:
    """A lab TLS server whose context is built once."""

    tls: TlsServerConfig
    _context: SSL.Context | None = field(default=None, init=False, repr=False)

    def stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> TlsStream:
        if self._context is None:
            self._context = self.tls.build_context()
        return TlsStream.server(self._context, reader, writer, timeout)


@dataclass
class TrickleHttp(_Tls):
    """A fine TLS handshake, then an HTTP/1.1 response header trickled one byte a second."""

    interval: float = 1.0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        stream = self.stream(reader, writer, timeout)
        await stream.handshake()
        await stream.recv()  # the request; whatever it is
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Trickle: " + b"z" * 64 + b"\r\n\r\n"
        for byte in head:
            await stream.send(bytes([byte]))
            await asyncio.sleep(self.interval)


@dataclass
class SettingsFlood(_Tls):
    """HTTP/1.1 answered normally; over h2, SETTINGS frames without end and never a response."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        stream = self.stream(reader, writer, timeout)
        await stream.handshake()
        if stream.alpn != "h2":
            await serve_http1(stream, Reply())
            return
        # An empty SETTINGS frame: length 0, type 4, flags 0, stream 0 (RFC 9113 §6.5).
        burst = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" * 1000
        for _ in range(100_000):  # bounded; SERVE_FOR ends it first
            try:
                await stream.send(burst)
            except (TlsClosed, ConnectionError, asyncio.TimeoutError):
                return
            await asyncio.sleep(0.005)  # ~1.8 MB/s of frames: a flood, yet leaves the GIL to the client


@dataclass
class HugeRecord:
    """Answers the ClientHello with a record header announcing 65,535 bytes, then a trickle of zeros."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        await read_client_hello(reader, timeout)
        writer.write(b"\x16\x03\x03\xff\xff" + b"\x00" * 1024)
        await writer.drain()
        for _ in range(20):
            await asyncio.sleep(0.5)
            writer.write(b"\x00" * 16)
            await writer.drain()


@dataclass
class RandomBytes:
    """Answers the ClientHello with a megabyte of random bytes."""

    size: int = 1024 * 1024

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        await read_client_hello(reader, timeout)
        noise = os.urandom(self.size)
        if noise[0] in (20, 21, 22, 23):  # keep it recognisably not a TLS record header
            noise = b"\x99" + noise[1:]
        writer.write(noise)
        await writer.drain()


@dataclass
class Tarpit:
    """A plain HTTP server (a CRL or OCSP URL) that sends its answer one byte a second."""

    interval: float = 1.0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        await reader.read(4096)
        for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: 100000\r\n\r\n":
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(self.interval)


@dataclass
class BrokenAnswer(_Tls):
    """A fine TLS handshake; the request is read and answered with ``answer`` (not HTTP, or a
    broken HTTP head), then the connection ends: with close_notify, without it, or with a reset."""

    answer: bytes = b""
    ending: str = "close_notify"  # or "eof" (no close_notify), "reset" (RST)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        stream = self.stream(reader, writer, timeout)
        await stream.handshake()
        await stream.recv()  # the request; whatever it is
        if self.answer:
            await stream.send(self.answer)
        if self.ending == "reset":
            reset(writer)
            return
        await stream.close(close_notify=self.ending == "close_notify")


@dataclass
class ProxyDroppingTls:
    """A plain CONNECT proxy that drops a connection whose first byte starts a TLS record (some
    proxies close on what does not parse as HTTP, rather than answer 400)."""

    proxy: Any = field(default_factory=lambda: ConnectProxy("tunnel"))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        first = await asyncio.wait_for(reader.readexactly(1), timeout)
        if first == b"\x16":
            return  # the harness aborts: unread bytes make it a reset
        await self.proxy.handle(reader, writer, timeout, already_read=first)


@dataclass
class RecordingProxy:
    """Answers every request with 407 and ``challenges``, and keeps what each client sent (bounded)."""

    challenges: tuple[str, ...] = ('Basic realm="corp"',)
    heard: list[bytes] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        if len(self.heard) < 64:
            self.heard.append(head[:16384])
        writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                     + b"".join(b"Proxy-Authenticate: " + c.encode() + b"\r\n" for c in self.challenges)
                     + b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()


@dataclass
class BlockPageProxy:
    """A filtering proxy: CONNECT gets 200, then the ClientHello gets the proxy's own 403 page, in plain text."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await read_client_hello(reader, timeout)
        page = b"<html><head><title>Access denied</title></head><body>Category: Uncategorized</body></html>"
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nContent-Length: "
                     + str(len(page)).encode() + b"\r\nConnection: close\r\n\r\n" + page)
        await writer.drain()


def tls_server_context(issued: Any, directory: Any) -> ssl.SSLContext:
    """A Python ``ssl`` server context presenting ``issued`` (a lab IssuedCert) and its chain."""
    chain, key = issued.write(directory, "served")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(chain), str(key))
    return context


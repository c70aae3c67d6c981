"""What a lab port does with a connection: one small class per kind of peer.

Each endpoint takes an accepted TCP stream and behaves as one kind of field server does:
a healthy (or mis-certified) HTTPS origin, a server that answers a ClientHello with an
alert, resets, closes or stalls, a plain-HTTP server on the TLS port. The lab's runner
gives every connection its own task and deadline, so an endpoint may simply return or
raise when a client misbehaves: the next client is served regardless.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL

from tlsdoctor.lab.admission import Phase, progress
from tlsdoctor.lab.http import PlainStream, Reply, answer_raw, never_answer, serve_http1, serve_http2
from tlsdoctor.lab.pki import IssuedCert
from tlsdoctor.lab.tls import TlsServerConfig, TlsStream
from tlsdoctor.wire import (
    POST_QUANTUM_GROUPS, RECORD_HEADER_LEN, AlertDescription, ContentType, HandshakeType, alert_record,
    handshake_message, parse_client_hello, record, record_length,
)


class Endpoint(Protocol):
    """A lab peer: serves one accepted connection, then returns."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None: ...


@dataclass
class HttpsOrigin:
    """An HTTPS server: HTTP/2 or HTTP/1.1 by ALPN, over the TLS configuration given.

    ``h2_broken`` selects h2 in ALPN and then answers in HTTP/1.1, as a misconfigured
    proxy or load balancer does; ``h2_reset`` (an HTTP/2 error code) speaks HTTP/2 but refuses
    every stream with RST_STREAM of that code; ``close_notify=False`` drops every connection after one
    response without a close_notify, as many servers (and curl >= 8.9 as a client) do.
    ``raw_answer`` answers an HTTP/1.1 request with those bytes instead of HTTP and closes
    (``b""``: closes without answering); ``answers=False`` takes the request and never
    answers. Give either a TLS configuration whose ALPN offers only http/1.1.
    """

    tls: TlsServerConfig
    reply: Reply = field(default_factory=Reply)
    close_notify: bool = True
    h2_broken: bool = False
    h2_reset: int = 0
    raw_answer: bytes | None = None
    answers: bool = True
    _context: SSL.Context | None = field(default=None, init=False, repr=False)

    @property
    def context(self) -> SSL.Context:
        if self._context is None:
            self._context = self.tls.build_context()  # built once: contexts are costly
        return self._context

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float,
                     already_read: bytes = b"") -> None:
        """Serve the connection; ``already_read``: bytes of it a front end has read already."""
        stream = TlsStream.server(self.context, reader, writer, timeout)
        if already_read:
            stream.connection.bio_write(already_read)
        try:
            await stream.handshake()
            if stream.alpn == "h2" and self.h2_broken:
                await stream.send(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
                # Stay until the client gives up, as the broken servers in the field do:
                # closing at once would race the client's own SETTINGS into a reset, and
                # the client would report a send error (curl 55) instead of the h2 one.
                for _ in range(256):
                    if not await stream.recv():
                        break
            elif stream.alpn == "h2":
                await serve_http2(stream, self.reply, reset_streams=self.h2_reset)
            elif self.raw_answer is not None:
                await answer_raw(stream, self.raw_answer)
            elif not self.answers:
                await never_answer(stream)
            else:
                reply = self.reply if self.close_notify else _with_connection_close(self.reply)
                await serve_http1(stream, reply)
        finally:
            await stream.close(close_notify=self.close_notify)


def _with_connection_close(reply: Reply) -> Reply:
    return Reply(reply.status, reply.body, reply.content_type, False, reply.extra_headers)


async def read_client_hello(reader: asyncio.StreamReader, timeout: float) -> bytes:
    """Read the first TLS record (the ClientHello), or whatever came if it is not TLS."""
    header = await asyncio.wait_for(reader.read(RECORD_HEADER_LEN), timeout)
    length = record_length(header)
    if length is None:
        return header
    try:
        return header + await asyncio.wait_for(reader.readexactly(length), timeout)
    except asyncio.IncompleteReadError as exc:
        return header + exc.partial


@dataclass
class AlertAfterHello:
    """Answers the ClientHello with one fatal alert and closes, as broken servers do.

    With ``CLOSE_NOTIFY`` this is the server from the well-known keychain write-up: a
    *fatal* close_notify before any handshake message, which clients report as an
    unexpected EOF or a "tlsv1 alert" with no description.
    """

    description: AlertDescription

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        await read_client_hello(reader, timeout)
        await send_alert(writer, self.description, timeout)


@dataclass
class LegacyRenegotiation:
    """A TLS 1.2 server from before RFC 5746 (2010): its ServerHello has no renegotiation_info.

    OpenSSL 3 clients (curl, Python 3.10+, Node 17+, .NET on Linux) refuse such a server right
    after its ServerHello with "unsafe legacy renegotiation disabled"; old load balancers and
    appliances still answer so. No OpenSSL server can leave the extension out, so the flight is
    written here by hand: a TLS 1.2 ServerHello with no extensions (an RSA key exchange suite
    the client offered, as such servers prefer, else ECDHE), the certificate chain and
    ServerHelloDone. No client gets past the ServerHello, so nothing more is needed.
    """

    certificate: IssuedCert

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        offered = parse_client_hello(await read_client_hello(reader, timeout))
        suites = offered.cipher_suites if offered is not None else ()
        suite = next((s for s in _LEGACY_SUITES if s in suites), _LEGACY_SUITES[0])
        hello = b"\x03\x03" + os.urandom(32) + b"\x00" + suite.to_bytes(2, "big") + b"\x00"
        ders = [c.public_bytes(Encoding.DER) for c in (self.certificate.cert, *self.certificate.chain)]
        chain = b"".join(len(d).to_bytes(3, "big") + d for d in ders)
        flight = (handshake_message(HandshakeType.SERVER_HELLO, hello)
                  + handshake_message(HandshakeType.CERTIFICATE, len(chain).to_bytes(3, "big") + chain)
                  + handshake_message(HandshakeType.SERVER_HELLO_DONE, b""))
        writer.write(record(ContentType.HANDSHAKE, flight))
        await asyncio.wait_for(writer.drain(), timeout)
        await asyncio.wait_for(reader.read(RECORD_HEADER_LEN + 2), timeout)  # the client's alert, or its close


# TLS 1.2 suites such a server picks, best first: RSA key exchange (no ServerKeyExchange to sign),
# then ECDHE, for clients that no longer offer RSA key exchange (their refusal comes first anyway).
_LEGACY_SUITES = (0x009C, 0x009D, 0x002F, 0x0035, 0xC02F, 0xC030, 0xC02B, 0xC02C)


@dataclass
class ResetAfterHello:
    """Reads the ClientHello, then resets the connection (RST), like a filtering middlebox."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        await read_client_hello(reader, timeout)
        reset(writer)


async def send_alert(writer: asyncio.StreamWriter, description: AlertDescription, timeout: float) -> None:
    """One fatal alert record, as a server that refuses a ClientHello sends it."""
    writer.write(alert_record(description))
    await asyncio.wait_for(writer.drain(), timeout)


def reset(writer: asyncio.StreamWriter) -> None:
    """End the connection with an RST."""
    sock = writer.get_extra_info("socket")
    # SO_LINGER with a zero timeout turns close() into an RST: the only portable way.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass
class SniRequired:
    """An HTTPS server that serves only the host names it knows: a ClientHello without one of
    them in SNI (a client that connects by IP address sends none) gets a fatal unrecognized_name.

    CDNs and virtual-hosting front ends behave so ("curl https://203.0.113.7/" fails with
    "tlsv1 unrecognized name" while the site's name works).
    """

    origin: HttpsOrigin
    names: tuple[str, ...] = ("localhost",)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        hello = await read_client_hello(reader, timeout)
        offered = parse_client_hello(hello)
        if offered is None or (offered.server_name or "").lower() not in self.names:
            await send_alert(writer, AlertDescription.UNRECOGNIZED_NAME, timeout)
            return
        await self.origin.handle(reader, writer, timeout, already_read=hello)


@dataclass
class OneSegmentHello:
    """An HTTPS server that reads one TCP segment of the ClientHello, and resets on a larger hello.

    A ClientHello over ``limit`` bytes spans two segments on most paths; servers and
    middleboxes that expect it whole in one read fail on it (https://tldr.fail). OpenSSL
    3.5's default post-quantum key share takes every OpenSSL client's hello there (~1.5 KB),
    while a smaller hello (Python's ``ssl`` on OpenSSL 3.0: ~520 bytes) is served as usual.
    """

    origin: HttpsOrigin
    limit: int = 1400

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        hello = await read_client_hello(reader, timeout)
        if len(hello) > self.limit:
            reset(writer)
            return
        await self.origin.handle(reader, writer, timeout, already_read=hello)


@dataclass
class PostQuantumIntolerant:
    """An HTTPS server that answers a ClientHello carrying a post-quantum key share with a fatal alert.

    TLS stacks and middleboxes that mis-parse ML-KEM key shares (RFC 8446 §4.2.8 says to ignore
    groups one does not know) broke when browsers (2024) and OpenSSL 3.5 (2025) began to send
    X25519MLKEM768 by default; hellos without it are served as usual.
    """

    origin: HttpsOrigin
    alert: AlertDescription = AlertDescription.ILLEGAL_PARAMETER

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        hello = await read_client_hello(reader, timeout)
        offered = parse_client_hello(hello)
        if offered is not None and POST_QUANTUM_GROUPS & set(offered.key_share_groups):
            await send_alert(writer, self.alert, timeout)
            return
        await self.origin.handle(reader, writer, timeout, already_read=hello)


@dataclass
class CloseAfterHello:
    """Reads the ClientHello, then closes (FIN) with no alert, like a crashing TLS server."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        await read_client_hello(reader, timeout)


@dataclass
class StallAfterHello:
    """Reads the ClientHello and never answers, until the client or ``hold`` gives up."""

    hold: float = 30.0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        await read_client_hello(reader, timeout)
        progress(Phase.BUSY)  # stalling is this scenario's job: not an abuser to shed
        try:
            # Wait for the client to go away; bounded so a forgotten client cannot pin us.
            await asyncio.wait_for(reader.read(1), self.hold)
        except asyncio.TimeoutError:
            pass


@dataclass
class PlainHttp:
    """Plain HTTP where TLS is expected: a ClientHello is not valid HTTP, so 400 it is.

    This is what nginx or a dev server on the wrong port answers; OpenSSL clients then
    read ``HTTP/`` as a record header and report "wrong version number".
    """

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        stream = PlainStream(reader, writer, timeout)
        first = await stream.recv()
        if first[:1] == bytes([22]):  # a TLS handshake record: answer as HTTP servers do
            body = b"400 Bad Request: this port speaks plain HTTP\n"
            await stream.send(
                b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            return
        # A real HTTP client (e.g. a diagnosis reading the banner) gets a real answer.
        replay = _Prefixed(first, stream)
        await serve_http1(replay, Reply(body=b"plain HTTP on the TLS port\n", keep_alive=False))


class CaptivePortal:
    """A captive portal on the path (hotel, airport, guest Wi-Fi before its terms are accepted):
    every connection, whatever it says, gets a redirect to the portal's login page.

    Such networks take over port 443 as well as 80: a ClientHello gets the same plain-HTTP
    302 (clients: "wrong version number"), where a server on a wrong port would answer 400.
    The portal's name is under .invalid (RFC 6761): nothing can ever reach it.
    """

    LOGIN = b"http://portal.tlsdoctor-lab.invalid/login"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        stream = PlainStream(reader, writer, timeout)
        await stream.recv()  # whatever it is: the portal does not read it
        await stream.send(b"HTTP/1.1 302 Found\r\nLocation: " + self.LOGIN + b"?continue=https%3A%2F%2Fsite%2F"
                          b"&session=4f1c2a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


@dataclass
class _Prefixed:
    """A stream that first returns bytes already read."""

    pending: bytes
    inner: PlainStream

    async def recv(self) -> bytes:
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        return await self.inner.recv()

    async def send(self, data: bytes) -> None:
        await self.inner.send(data)

"""Server-side TLS for the lab: pyOpenSSL on memory BIOs, driven by asyncio streams.

Why not ``asyncio.start_server(ssl=...)``: Python's ``ssl`` cannot staple an OCSP
response, cannot offer only TLS 1.3 CCM suites, and hides whether a peer's close came
with a close_notify. Scenarios need all three. pyOpenSSL with memory BIOs keeps the TLS
state machine free of sockets (the h11 way): we move bytes between the stream and the
BIO, OpenSSL decides what they mean.

Every wait has a timeout; a misbehaving client costs the lab one task, never the server.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from cryptography import x509
from OpenSSL import SSL, crypto

from tlsdoctor import aio
from tlsdoctor.lab.admission import Phase, progress
from tlsdoctor.lab.pki import IssuedCert
from tlsdoctor.openssl_policy import apply_protocol_policy
from tlsdoctor.socket_stream import open_connection, read_within

_CHUNK = 64 * 1024
_T = TypeVar("_T")



@dataclass(frozen=True)
class TlsServerConfig:
    """Everything about a lab endpoint's TLS that a scenario may want to break."""

    certificate: IssuedCert
    send_chain: bool = True  # False: leaf only, the "incomplete chain" server
    min_version: str = "1.2"
    max_version: str = "1.3"
    cipher_list: str | None = None  # TLS 1.2 and below, OpenSSL syntax
    tls13_ciphersuites: str | None = None
    security_level: int | None = None  # 0 lets the server load weak keys and old versions
    alpn: tuple[str, ...] = ("h2", "http/1.1")
    ocsp_staple: Callable[[], bytes] | None = None  # DER OCSP response to staple
    # Demand a client certificate issued by this CA (its name goes in the CertificateRequest);
    # a client that presents none fails: alert certificate_required (TLS 1.3) or handshake_failure.
    client_ca: x509.Certificate | None = None

    def build_context(self) -> SSL.Context:
        ctx = SSL.Context(SSL.TLS_METHOD)
        apply_protocol_policy(
            ctx, min_version=self.min_version, max_version=self.max_version,
            cipher_list=self.cipher_list or "DEFAULT", tls13_ciphersuites=self.tls13_ciphersuites,
            security_level=self.security_level,
        )
        # Tickets would let benchmark clients resume; the lab measures full handshakes.
        ctx.set_options(SSL.OP_NO_TICKET)
        ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
        cert = self.certificate
        ctx.use_certificate(cert.cert)
        if self.send_chain:
            for extra in cert.chain:
                ctx.add_extra_chain_cert(extra)
        ctx.use_privatekey(cert.key.private_key)
        ctx.check_privatekey()
        if self.alpn:
            offered = [p.encode() for p in self.alpn]

            def select(_conn: SSL.Connection, client_protos: list[bytes]) -> bytes:
                # Server preference order, as nginx does; no overlap means "no ALPN"
                # rather than a fatal alert, which is what real servers do too.
                for proto in offered:
                    if proto in client_protos:
                        return proto
                return SSL.NO_OVERLAPPING_PROTOCOLS

            ctx.set_alpn_select_callback(select)
        if self.client_ca is not None:
            ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda _c, _x, _e, _d, ok: bool(ok))
            # X509Store.add_cert still wants pyOpenSSL's object; add_client_ca takes ours.
            ctx.get_cert_store().add_cert(crypto.X509.from_cryptography(self.client_ca))  # type: ignore[union-attr]
            ctx.add_client_ca(self.client_ca)  # type: ignore[arg-type]
        if self.ocsp_staple is not None:
            staple = self.ocsp_staple
            ctx.set_ocsp_server_callback(lambda _conn, _data: staple())
        return ctx


class TlsClosed(Exception):
    """The peer went away (EOF, reset, or a TLS error) before we were done."""


@dataclass
class TlsStream:
    """One server-side TLS connection over an asyncio stream pair.

    ``recv`` returns ``b""`` once the client has closed; ``peer_sent_close_notify`` says
    whether it did so politely, which the lab's robustness tests care about.
    """

    connection: SSL.Connection
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    timeout: float
    peer_sent_close_notify: bool = field(default=False, init=False)
    peer_eof_without_close_notify: bool = field(default=False, init=False)  # curl >= 8.9's way out
    established: bool = field(default=False, init=False)  # the handshake completed

    @classmethod
    def server(
        cls, ctx: SSL.Context, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
    ) -> "TlsStream":
        conn = SSL.Connection(ctx, None)
        conn.set_accept_state()
        return cls(conn, reader, writer, timeout)

    async def handshake(self) -> None:
        # Bounded: each round trip either completes the handshake, reads more bytes
        # (with a timeout), or fails; a handshake needs only a handful of rounds.
        for _ in range(64):
            try:
                self.connection.do_handshake()
            except SSL.WantReadError:
                await self._flush()
                await self._fill()
                continue
            except SSL.Error as exc:
                await self._flush()  # send our alert, as a real server does
                raise TlsClosed(f"handshake failed: {exc}") from exc
            await self._flush()
            self.established = True
            progress(Phase.IDLE)  # no longer an unfinished handshake; see lab.admission
            return
        raise TlsClosed("handshake did not finish")

    @property
    def alpn(self) -> str | None:
        proto = self.connection.get_alpn_proto_negotiated()
        return proto.decode() if proto else None

    async def recv(self) -> bytes:
        """Up to one chunk of plaintext; ``b""`` when the peer closed."""
        for _ in range(1024):
            try:
                return self.connection.recv(_CHUNK)
            except SSL.WantReadError:
                await self._flush()
                if not await self._fill():
                    # EOF where OpenSSL wanted more: a close_notify would have been read
                    # (ZeroReturnError) before it, so there was none.
                    self.peer_eof_without_close_notify = True
                    return b""
            except SSL.ZeroReturnError:
                self.peer_sent_close_notify = True
                return b""
            except SSL.SysCallError:
                self.peer_eof_without_close_notify = True
                return b""  # EOF without close_notify: the case the lab must survive
            except SSL.Error as exc:
                if "unexpected eof" in str(exc).lower():  # OpenSSL 3 names the same EOF so
                    self.peer_eof_without_close_notify = True
                    return b""
                raise TlsClosed(f"TLS error: {exc}") from exc
        raise TlsClosed("peer sent only non-application records")

    async def send(self, data: bytes) -> None:
        try:
            self.connection.sendall(data)
        except SSL.Error as exc:
            raise TlsClosed(f"TLS error: {exc}") from exc
        await self._flush()

    async def close(self, *, close_notify: bool = True) -> None:
        """End the connection; ``close_notify=False`` drops it as a sloppy server does.

        After a failed handshake there is nothing to shut down: the alert went out already.
        """
        if close_notify and self.established:
            try:
                self.connection.shutdown()
                await self._flush()
            except (SSL.Error, TlsClosed, ConnectionError, asyncio.TimeoutError):
                pass
        await close_writer(self.writer, self.timeout)

    async def _fill(self) -> bool:
        """Feed bytes from the socket into OpenSSL; False at EOF."""
        try:
            data = await read_within(self.reader, _CHUNK, self.timeout)
        except (ConnectionError, asyncio.TimeoutError) as exc:
            raise TlsClosed(f"read failed: {exc!r}") from exc
        if not data:
            self.connection.bio_shutdown()
            return False
        self.connection.bio_write(data)
        return True

    async def _flush(self) -> None:
        """Send whatever OpenSSL has queued for the peer."""
        chunks = []
        while True:
            try:
                chunks.append(self.connection.bio_read(_CHUNK))
            except SSL.WantReadError:
                break
        if chunks:
            try:
                self.writer.write(b"".join(chunks))
                await aio.drained(self.writer, self.timeout)
            except (ConnectionError, asyncio.TimeoutError) as exc:
                raise TlsClosed(f"write failed: {exc!r}") from exc


class TlsClientStream:
    """A client TLS connection (Python's ``ssl`` on memory BIOs) with TlsStream's verbs: the interceptor's upstream.

    ``asyncio.open_connection(ssl=...)`` runs the same OpenSSL through asyncio's SSL
    protocol layer, which on this path cost the lab ~1.7 ms of CPU per upstream handshake
    against ~1.2 ms here (bench/README, diagnose section): the interceptor's upstream is
    on the path of every request through it. Python's ``ssl`` rather than pyOpenSSL
    because it checks the origin's name and says why verification failed
    (``SSLCertVerificationError``), as an inspecting product's error page does.
    """

    def __init__(self, tls: ssl.SSLObject, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO,
                 reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        self._tls, self._incoming, self._outgoing = tls, incoming, outgoing
        self._reader, self._writer = reader, writer
        self.timeout = timeout

    @classmethod
    async def connect(cls, host: str, port: int, ctx: ssl.SSLContext, timeout: float) -> "TlsClientStream":
        """Connect and handshake (bounded by ``timeout`` each); raises OSError, ``ssl.SSLError`` or TimeoutError."""
        reader, writer = await aio.within(open_connection(host, port), timeout)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        client = cls(ctx.wrap_bio(incoming, outgoing, server_side=False, server_hostname=host), incoming, outgoing,
                     reader, writer, timeout)  # type: ignore[arg-type]
        try:
            await client._pump(client._tls.do_handshake)
        except BaseException:
            writer.transport.abort()
            raise
        return client

    async def recv(self) -> bytes:
        """Up to one chunk of plaintext; ``b""`` when the origin closed (with or without close_notify)."""
        try:
            return await self._pump(lambda: self._tls.read(_CHUNK))
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""
        except (ssl.SSLError, ConnectionError) as exc:
            raise TlsClosed(f"TLS error: {exc}") from exc

    async def send(self, data: bytes) -> None:
        try:
            self._tls.write(data)  # into the memory BIO: never blocks
            await self._flush()
        except (ssl.SSLError, ConnectionError) as exc:
            raise TlsClosed(f"TLS error: {exc}") from exc

    async def close(self) -> None:
        try:
            self._tls.unwrap()  # our close_notify; the origin's answer is not awaited
        except (ssl.SSLError, ssl.SSLWantReadError):
            pass
        try:
            await self._flush()
        except (ConnectionError, asyncio.TimeoutError):
            pass
        self._writer.transport.abort()  # nothing of ours is left to send: the close_notify went first

    async def _pump(self, step: Callable[[], _T]) -> _T:
        """Run ``step`` until OpenSSL stops asking for bytes (bounded), moving bytes both ways."""
        for _ in range(1024):
            try:
                result = step()
            except ssl.SSLWantReadError:
                await self._flush()
                data = await read_within(self._reader, _CHUNK, self.timeout)
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
                continue
            await self._flush()
            return result
        raise TlsClosed("the origin sent only records without data")

    async def _flush(self) -> None:
        data = self._outgoing.read()
        if data:
            self._writer.write(data)
            await aio.drained(self._writer, self.timeout)


async def close_writer(writer: asyncio.StreamWriter, timeout: float) -> None:
    """Close a stream and wait (bounded) for it to go, ignoring a peer that already left."""
    try:
        writer.close()
        await aio.within(writer.wait_closed(), timeout)
    except (ConnectionError, asyncio.TimeoutError, OSError):
        pass

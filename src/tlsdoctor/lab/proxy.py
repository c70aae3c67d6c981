"""HTTP CONNECT proxies: the honest tunnel, the refusing one, and the interceptor.

The interceptor is what antivirus "HTTPS scanning" and corporate TLS-inspection gateways
do: accept ``CONNECT host:port``, answer 200, then terminate the client's TLS with a
certificate for ``host`` minted on the fly by the proxy's own CA, and, once the client
sends its request, open a second TLS connection to the origin, which the proxy verifies
against its own trust store. When that
verification (or the connection) fails, such products answer the *client* with an HTTP
502 page inside the tunnel, which is why the field sees "HTTP 502" rather than a TLS error.

Only loopback targets are tunnelled: the lab never becomes a path off the machine.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from dataclasses import dataclass, field
from typing import Literal

import h11
from OpenSSL import SSL

from tlsdoctor import aio
from tlsdoctor.lab.admission import Phase, progress
from tlsdoctor.lab.http import PlainStream, Reply, reason_phrase, serve_http1
from tlsdoctor.lab.pki import CA
from tlsdoctor.lab.tls import TlsClientStream, TlsClosed, TlsServerConfig, TlsStream, close_writer
from tlsdoctor.socket_stream import read_within

ProxyMode = Literal["tunnel", "intercept", "status", "block"]


@dataclass
class ConnectProxy:
    """One proxy; ``mode`` says which kind of field proxy it is.

    - ``tunnel``: a plain forward proxy, bytes relayed untouched.
    - ``intercept``: re-signs every site with ``interception_ca``; verifies origins
      against ``origin_trust``; a failed origin becomes a 502 inside the tunnel. With
      ``h2_broken``, it lets ALPN pick h2 and then answers in HTTP/1.1.
    - ``status``: answers every CONNECT with ``status`` (407 wants credentials, 403
      refuses the destination) and closes. A 407 offers ``challenges`` (Proxy-Authenticate
      values: a corporate proxy that logs Windows users in offers NTLM and Negotiate only).
    - ``block``: a filtering proxy that accepts CONNECT, then answers the ClientHello inside
      the tunnel with its own 403 block page, in plain text (clients: "wrong version number").
      It also accepts CONNECT for ``internal_names`` (it never connects anywhere): names that
      resolve only for the proxy, as a company's internal names do behind its proxy.

    With ``tls`` it is an HTTPS proxy: the client speaks TLS to the proxy first (an
    ``https://`` proxy URL), and CONNECT inside it (not with ``intercept``).
    """

    mode: ProxyMode
    status: int = 200
    challenges: tuple[str, ...] = ('Basic realm="tlsdoctor lab"',)
    interception_ca: CA | None = None
    origin_trust: ssl.SSLContext | None = None
    tls: TlsServerConfig | None = None
    internal_names: tuple[str, ...] = ()
    h2_broken: bool = False  # intercept: offer h2 to the client, then answer in HTTP/1.1
    _contexts: dict[str, SSL.Context] = field(default_factory=dict, init=False, repr=False)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float,
                     already_read: bytes = b"") -> None:
        """Serve one client; ``already_read``: bytes of it a front end has read already."""
        client: PlainStream | TlsStream
        if self.tls is not None:
            assert self.mode != "intercept", "an HTTPS proxy that also intercepts is not a lab scenario"
            client = TlsStream.server(self._context_for(""), reader, writer, timeout)
            try:
                await client.handshake()
            except Exception:  # noqa: BLE001 - a client that refuses the proxy's certificate ends here
                return
        else:
            client = PlainStream(reader, writer, timeout)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=16 * 1024)
        if already_read:
            conn.receive_data(already_read)
        target = await _read_connect(conn, client)
        if target is None:
            await _respond(conn, client, 400, b"this proxy only tunnels CONNECT requests\n")
            return
        host, port = target
        if not _is_loopback(host) and not (self.mode == "block" and host in self.internal_names):
            await _respond(conn, client, 403, b"the tlsdoctor lab only tunnels to loopback\n")
            return
        if self.mode == "status":
            extra = [(b"proxy-authenticate", c.encode()) for c in self.challenges] if self.status == 407 else []
            await _respond(conn, client, self.status, f"proxy says {self.status}\n".encode(), extra)
            return
        if self.mode == "block":
            await _respond(conn, client, 200, b"", established=True)
            await client.recv()  # the ClientHello, unread: the policy said no before it came
            page = b"<html><head><title>Access denied</title></head><body>tlsdoctor lab: site blocked</body></html>"
            await client.send(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nConnection: close\r\n"
                              b"Content-Length: " + str(len(page)).encode() + b"\r\n\r\n" + page)
            return
        if self.mode == "tunnel":
            try:
                up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
            except (OSError, asyncio.TimeoutError):
                await _respond(conn, client, 502, b"upstream unreachable\n")
                return
            await _respond(conn, client, 200, b"", established=True)
            if isinstance(client, TlsStream):
                await _relay_stream(client, up_reader, up_writer, timeout)
            else:
                await relay_plain(reader, writer, up_reader, up_writer, timeout)
            return
        await _respond(conn, client, 200, b"", established=True)
        await self._intercept(host, port, reader, writer, timeout)

    async def _intercept(
        self, host: str, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
    ) -> None:
        client_tls = TlsStream.server(self._context_for(host), reader, writer, timeout)
        try:
            await client_tls.handshake()
            if self.h2_broken and client_tls.alpn == "h2":
                # An inspection product that lets ALPN pick h2 and then speaks HTTP/1.1 anyway.
                await client_tls.send(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
                for _ in range(256):  # stay until the client gives up, as such products do
                    if not await client_tls.recv():
                        break
                return
            # The origin only once the client asks for something: a client that refuses the
            # minted certificate (curl 60, the scenario's whole point) hangs up without a
            # request, and an upstream handshake for it would only load the lab's one core.
            try:
                first = await client_tls.recv()
            except TlsClosed:
                return
            if not first:
                return
            assert self.origin_trust is not None
            try:
                upstream = await TlsClientStream.connect(host, port, self.origin_trust, timeout)
            except (OSError, ssl.SSLError, asyncio.TimeoutError) as exc:
                # The product's own error page, as the client receives it.
                body = f"tlsdoctor lab interception proxy: upstream {host}:{port} failed: {_reason(exc)}\n"
                await serve_http1(_Replayed(first, client_tls), Reply(status=502, body=body.encode(), keep_alive=False))
                return
            try:
                await upstream.send(first)
                await _relay_tls(client_tls, upstream)
            finally:
                await upstream.close()
        finally:
            await client_tls.close()

    def _context_for(self, host: str) -> SSL.Context:
        """A server context with a certificate for ``host``, minted once and cached ("": the HTTPS
        proxy's own, from ``tls``)."""
        if host == "" and host not in self._contexts:
            assert self.tls is not None
            self._contexts[host] = self.tls.build_context()
        if host not in self._contexts:
            assert self.interception_ca is not None
            leaf = self.interception_ca.issue_cert(host, issuer_pointers=False)
            # HTTP/1.1 only: most inspection products do not speak h2 to the client (a broken
            # one offers it all the same).
            alpn = ("h2", "http/1.1") if self.h2_broken else ("http/1.1",)
            self._contexts[host] = TlsServerConfig(certificate=leaf, alpn=alpn).build_context()
        return self._contexts[host]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed ({exc.verify_message})"
    return str(exc) or type(exc).__name__


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


async def _read_connect(conn: h11.Connection, client: PlainStream) -> tuple[str, int] | None:
    for _ in range(64):
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError:
            return None
        if event is h11.NEED_DATA:
            data = await client.recv()
            if not data:
                return None
            conn.receive_data(data)
            continue
        if isinstance(event, h11.Request) and event.method == b"CONNECT":
            authority = event.target.decode("latin-1")
            host, sep, port = authority.rpartition(":")
            if not sep or not port.isdigit():
                return None
            return host.strip("[]"), int(port)
        return None
    return None


async def _respond(
    conn: h11.Connection,
    client: PlainStream,
    status: int,
    body: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
    *,
    established: bool = False,
) -> None:
    if established:
        # h11 switches protocols after a 2xx to CONNECT; the tunnel starts right after.
        await client.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
        return
    headers = [(b"content-length", str(len(body)).encode()), (b"connection", b"close"), *(extra or [])]
    try:
        out = conn.send(h11.Response(status_code=status, headers=headers, reason=reason_phrase(status)))
        out += conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
    except h11.LocalProtocolError:
        out = f"HTTP/1.1 {status} Error\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    await client.send(out)


async def relay_plain(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
    timeout: float,
) -> None:
    """Relay a tunnel's bytes both ways until either side ends (each half-closed in turn), bounded."""
    async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        for _ in range(1_000_000):
            data = await read_within(src, 64 * 1024, timeout)
            if not data:
                break
            dst.write(data)
            await aio.drained(dst, timeout)
        if dst.can_write_eof():
            dst.write_eof()

    progress(Phase.BUSY)  # a tunnel is work: bounded by the I/O timeout, not the idle one
    try:
        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
    except (OSError, asyncio.TimeoutError):
        pass
    finally:
        await close_writer(up_writer, timeout)


async def _relay_stream(client: TlsStream, up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter,
                        timeout: float) -> None:
    """An HTTPS proxy's tunnel: the client's side inside the proxy's TLS, the origin's plain TCP."""
    async def client_to_origin() -> None:
        for _ in range(1_000_000):
            data = await client.recv()
            if not data:
                break
            up_writer.write(data)
            await aio.drained(up_writer, timeout)
        if up_writer.can_write_eof():
            up_writer.write_eof()

    async def origin_to_client() -> None:
        for _ in range(1_000_000):
            data = await read_within(up_reader, 64 * 1024, timeout)
            if not data:
                break
            await client.send(data)

    progress(Phase.BUSY)
    try:
        await asyncio.gather(client_to_origin(), origin_to_client())
    except (OSError, asyncio.TimeoutError, TlsClosed):
        pass
    finally:
        await close_writer(up_writer, timeout)


class _Replayed:
    """The client's stream with the bytes already read from it put back in front (a ByteStream)."""

    def __init__(self, first: bytes, stream: TlsStream) -> None:
        self._first: bytes | None = first
        self._stream = stream

    async def recv(self) -> bytes:
        first, self._first = self._first, None
        return first if first is not None else await self._stream.recv()

    async def send(self, data: bytes) -> None:
        await self._stream.send(data)


async def _relay_tls(client: TlsStream, upstream: TlsClientStream) -> None:
    async def client_to_origin() -> None:
        for _ in range(1_000_000):
            data = await client.recv()
            if not data:
                break
            await upstream.send(data)

    async def origin_to_client() -> None:
        for _ in range(1_000_000):
            data = await upstream.recv()
            if not data:
                break
            await client.send(data)

    progress(Phase.BUSY)
    tasks = [asyncio.ensure_future(client_to_origin()), asyncio.ensure_future(origin_to_client())]
    try:
        # Either side closing ends the tunnel, as HTTP/1.1 with Connection: close expects.
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

"""The lab's HTTP responders: HTTP/1.1 with h11 and HTTP/2 with h2, over any byte stream.

Every lab origin answers every request with a short text naming the scenario, and always
sends a ``Date`` header: diagnosis reads it to tell a wrong local clock from an expired
certificate. Connections are kept alive (benchmarks and clients with pools rely on it)
but bounded in requests, request size and idle time (the stream's read timeout).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import Callable, Protocol

import h11
import h2.config
import h2.connection
import h2.events
import h2.exceptions

from tlsdoctor import aio
from tlsdoctor.lab.admission import Phase, progress
from tlsdoctor.socket_stream import read_within

MAX_REQUESTS_PER_CONNECTION = 10_000
MAX_REQUEST_BODY = 64 * 1024


class ByteStream(Protocol):
    """What the responders need from a connection: TLS or plain, they do not care."""

    async def recv(self) -> bytes: ...

    async def send(self, data: bytes) -> None: ...


@dataclass
class PlainStream:
    """A plain TCP stream with the same two verbs as :class:`~tlsdoctor.lab.tls.TlsStream`."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    timeout: float

    async def recv(self) -> bytes:
        try:
            return await read_within(self.reader, 64 * 1024, self.timeout)
        except (ConnectionError, asyncio.TimeoutError):
            return b""

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await aio.drained(self.writer, self.timeout)


@dataclass(frozen=True)
class Reply:
    """A response: the lab's origins give the same one to every request."""

    status: int = 200
    body: bytes = b"ok\n"
    content_type: bytes = b"text/plain; charset=utf-8"
    keep_alive: bool = True
    extra_headers: tuple[tuple[bytes, bytes], ...] = ()

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"date", formatdate(usegmt=True).encode()),
            (b"server", b"tlsdoctor-lab"),
            (b"content-type", self.content_type),
            (b"content-length", str(len(self.body)).encode()),
            (b"cache-control", b"no-store"),
            *self.extra_headers,
        ]
        if not self.keep_alive:
            headers.append((b"connection", b"close"))
        return headers


def reason_phrase(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


Responder = Callable[[h11.Request, bytes], Reply]


def always(reply: Reply) -> Responder:
    return lambda _request, _body: reply


async def read_request(conn: h11.Connection, stream: ByteStream) -> tuple[h11.Request, bytes] | None:
    """Read one whole request (head and body); None when the client closed or misbehaved."""
    request, body = None, b""
    for _ in range(4096):  # bounds a client trickling a request a few bytes at a time
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError:
            return None
        if event is h11.NEED_DATA:
            data = await stream.recv()
            conn.receive_data(data)
            if not data and conn.their_state is h11.IDLE:
                return None
        elif isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_REQUEST_BODY:
                return None
        elif isinstance(event, h11.EndOfMessage):
            return (request, body) if request is not None else None
        elif isinstance(event, h11.ConnectionClosed):
            return None
    return None


async def serve_http1(stream: ByteStream, respond: Responder | Reply) -> None:
    """Answer HTTP/1.1 requests until the client closes or stops keeping alive."""
    responder = always(respond) if isinstance(respond, Reply) else respond
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_BODY)
    for _ in range(MAX_REQUESTS_PER_CONNECTION):
        got = await read_request(conn, stream)
        if got is None:
            return
        request, body = got
        progress(Phase.BUSY)
        reply = responder(request, body)
        out = conn.send(h11.Response(status_code=reply.status, headers=reply.headers(), reason=reason_phrase(reply.status)))
        if request.method != b"HEAD":
            out += conn.send(h11.Data(data=reply.body))
        out += conn.send(h11.EndOfMessage())
        await stream.send(out)
        progress(Phase.IDLE)  # the next request must come within the lab's idle timeout
        if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
            return  # Connection: close on either side
        conn.start_next_cycle()


async def answer_raw(stream: ByteStream, data: bytes) -> None:
    """Read one request, and answer it with ``data`` instead of HTTP (``b""``: nothing at all).

    What a backend on the wrong protocol, or a worker that dies mid-request, does to a client
    whose TLS went fine: libcurl's 1 ("Received HTTP/0.9 when not allowed"), 8 ("Weird server
    reply") or, for nothing, 52 ("Empty reply from server").
    """
    if await read_request(h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_BODY), stream) is None:
        return
    progress(Phase.BUSY)
    if data:
        await stream.send(data)


async def never_answer(stream: ByteStream) -> None:
    """Read one request, then say nothing until the client gives up (or the lab's I/O timeout).

    A backend that hangs (a deadlocked worker, a database lock) behind a TLS terminator that
    is fine: the handshake completes, the request is taken, no status line ever comes. Clients
    time out (libcurl 28, "Operation timed out ... with 0 bytes received") after their TLS
    succeeded, which is what tells it from a server that stalls the handshake.
    """
    if await read_request(h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_BODY), stream) is None:
        return
    progress(Phase.BUSY)
    for _ in range(64):  # bounded: each read ends with the client's close, or the lab's I/O timeout
        if not await stream.recv():
            return


async def serve_http2(stream: ByteStream, reply: Reply, *, reset_streams: int = 0) -> None:
    """Answer HTTP/2 streams until the client sends GOAWAY or closes.

    With ``reset_streams`` (an HTTP/2 error code), every stream is refused with RST_STREAM of
    that code instead of answered: PROTOCOL_ERROR (1) is what a load balancer or inspecting
    proxy with a broken HTTP/2 stack does to requests it cannot handle (libcurl 92, "HTTP/2
    stream 1 reset by server"); HTTP_1_1_REQUIRED (0xd) asks the client to retry over
    HTTP/1.1, which libcurl does by itself. Its HTTP/1.1 serves the same request.
    """
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
    conn.initiate_connection()
    await stream.send(conn.data_to_send())
    answered = 0
    for _ in range(4 * MAX_REQUESTS_PER_CONNECTION):
        data = await stream.recv()
        if not data:
            return
        try:
            events = conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            await stream.send(conn.data_to_send())
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived) and reset_streams:
                conn.reset_stream(event.stream_id, reset_streams)
                answered += 1
            elif isinstance(event, h2.events.RequestReceived):
                head = dict(event.headers).get(b":method") == b"HEAD"
                headers = [(b":status", str(reply.status).encode()), *reply.headers()]
                headers = [(k, v) for k, v in headers if k != b"connection"]  # illegal in HTTP/2
                conn.send_headers(event.stream_id, headers, end_stream=head)
                if not head:
                    conn.send_data(event.stream_id, reply.body, end_stream=True)
                answered += 1
            elif isinstance(event, h2.events.ConnectionTerminated):
                await stream.send(conn.data_to_send())
                return
        await stream.send(conn.data_to_send())
        if any(isinstance(e, h2.events.RequestReceived) for e in events):
            progress(Phase.IDLE)  # only answered requests count: a PING flood stays stale
        if answered >= MAX_REQUESTS_PER_CONNECTION:
            return

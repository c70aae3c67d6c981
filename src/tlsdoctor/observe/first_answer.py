"""What the server says first: one real ClientHello, and the bytes that come back.

Before any handshake library gets a say, the rawest fact about a TLS port is its first
answer to a ClientHello: a ServerHello, an alert, plain HTTP, a close, a reset, or
nothing at all. Handshake libraries fold several of these into one message (OpenSSL
reports a fatal close_notify with an empty reason, a plain-HTTP answer as "wrong version
number"), so this probe reads the bytes itself and leaves their meaning to
:func:`tlsdoctor.wire.parse_first_answer`.

The ClientHello is a real one, made by Python's ``ssl`` over memory BIOs: servers and
middleboxes that react to what a client offers (SNI, ALPN, versions, ciphers) react to
it as to an ordinary client. It offers TLS 1.2–1.3, ALPN h2 and http/1.1, and SNI when
the target is a name. Nothing is verified: no handshake is completed, we only listen.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import TYPE_CHECKING

from tlsdoctor import aio
from tlsdoctor.observe.route import ConnectAnswer, Route, RouteError, open_stream
from tlsdoctor.observe.timing import elapsed_ms
from tlsdoctor.records import record
from tlsdoctor.socket_stream import read_within
from tlsdoctor.wire import FirstAnswer, first_answer_needs_more, parse_first_answer

if TYPE_CHECKING:
    from tlsdoctor.observe.handshake import HandshakeObservation

MAX_ANSWER_BYTES = 64 * 1024  # one whole record is at most 5 + 18432 bytes; this is ample
_MAX_READS = 4096  # a peer trickling single bytes still ends the loop
_CLOSE_TIMEOUT = 1.0

DEFAULT_ALPN = ("h2", "http/1.1")


@record
class RouteFailure:
    """The route itself failed before TLS began: where (``stage``), why, and the proxy's answer.

    ``stage`` is :class:`~tlsdoctor.observe.route.RouteError`'s: "connect",
    "proxy-connect" or "proxy-tunnel"; ``connect_answer`` is the proxy's status line and
    headers when it answered CONNECT with something other than 200.
    """

    stage: str
    message: str
    connect_answer: ConnectAnswer | None = None
    timed_out: bool = False  # nothing answered within the timeout

    @classmethod
    def from_error(cls, exc: RouteError) -> RouteFailure:
        return cls(exc.stage, str(exc), exc.answer, exc.timed_out)


@record
class FirstAnswerObservation:
    """One ClientHello sent, the first answer read. ``answer`` is None when the route failed."""

    answer: FirstAnswer | None
    client_hello_bytes: int
    server_name: str | None  # the SNI sent (None for IP literals: RFC 6066 §3)
    connect_answer: ConnectAnswer | None  # the proxy's 200 to CONNECT, when there is a proxy
    route_error: RouteFailure | None
    transport_error: str | None  # the OS's words when reading or writing failed (reset, ...)
    connect_ms: float | None  # opening the route: TCP, and CONNECT through a proxy
    answer_ms: float | None  # ClientHello written → answer read (or given up on)
    elapsed_ms: float


def client_hello(server_name: str | None, alpn: tuple[str, ...] = DEFAULT_ALPN) -> bytes:
    """The first flight of Python's ``ssl`` as a default client: one ClientHello record.

    Python's defaults are those of most scripts and tools (TLS 1.2–1.3, its own cipher
    string); certificate checks are off because the handshake never gets that far.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # nothing is verified: we only read the first answer
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    if alpn:
        context.set_alpn_protocols(list(alpn))
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_side=False, server_hostname=server_name)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass  # expected: the ClientHello is written, the server's answer is awaited
    return outgoing.read()


async def probe_first_answer(route: Route, timeout: float) -> FirstAnswerObservation:
    """Send one ClientHello along ``route`` and read the server's first answer.

    ``timeout`` bounds each phase: opening the route (as :func:`open_stream` does), then
    waiting for the answer, so that a slow proxy does not make a server look silent.
    Reads stop at one whole record (or a text line), at EOF, reset or the deadline, and
    at :data:`MAX_ANSWER_BYTES`. Never raises for network outcomes.
    """
    started = time.perf_counter()
    server_name = route.target.server_name
    hello = client_hello(server_name)
    try:
        (reader, writer), connect_answer = await open_stream(route, timeout)
    except RouteError as exc:
        return FirstAnswerObservation(
            answer=None, client_hello_bytes=len(hello), server_name=server_name, connect_answer=exc.answer,
            route_error=RouteFailure.from_error(exc), transport_error=None, connect_ms=None, answer_ms=None,
            elapsed_ms=elapsed_ms(started),
        )
    connect_ms = elapsed_ms(started)
    sent = time.perf_counter()
    try:
        data, eof, reset, timed_out, transport_error = await _exchange(reader, writer, hello, timeout)
    finally:
        await close_stream(writer)
    return FirstAnswerObservation(
        answer=parse_first_answer(data, eof=eof, reset=reset, timed_out=timed_out),
        client_hello_bytes=len(hello),
        server_name=server_name,
        connect_answer=connect_answer,
        route_error=None,
        transport_error=transport_error,
        connect_ms=connect_ms,
        answer_ms=elapsed_ms(sent),
        elapsed_ms=elapsed_ms(started),
    )


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, hello: bytes, timeout: float
) -> tuple[bytes, bool, bool, bool, str | None]:
    """Write ``hello``, read the answer: ``(data, eof, reset, timed_out, transport_error)``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        writer.write(hello)
        await aio.drained(writer, timeout)
    except asyncio.TimeoutError:
        return b"", False, False, True, None
    except ConnectionError as exc:
        # Torn down before our ClientHello was even taken (RST, EPIPE): still an answer.
        return b"", False, True, False, str(exc) or type(exc).__name__
    except OSError as exc:
        return b"", False, False, False, str(exc)
    data = bytearray()
    for _ in range(_MAX_READS):
        if not first_answer_needs_more(data) or len(data) >= MAX_ANSWER_BYTES:
            break
        remaining = deadline - loop.time()
        if remaining <= 0:
            return bytes(data), False, False, True, None
        try:
            chunk = await read_within(reader, MAX_ANSWER_BYTES - len(data), remaining)
        except asyncio.TimeoutError:
            return bytes(data), False, False, True, None
        except ConnectionError as exc:
            # ECONNRESET is the RST; ECONNABORTED and EPIPE also mean the peer tore it down.
            return bytes(data), False, True, False, str(exc) or type(exc).__name__
        except OSError as exc:
            return bytes(data), False, False, False, str(exc)
        if not chunk:
            return bytes(data), True, False, False, None
        data += chunk
    return bytes(data), False, False, False, None


async def close_stream(writer: asyncio.StreamWriter) -> None:
    """Close a stream, waiting (bounded) for it to go; a peer that already left is fine."""
    try:
        writer.close()
        await aio.within(writer.wait_closed(), _CLOSE_TIMEOUT)
    except (OSError, asyncio.TimeoutError):
        pass



def first_answer_of(handshake: "HandshakeObservation") -> FirstAnswerObservation:
    """The first-answer observation a handshake already holds: its first bytes back, read the same way.

    A diagnosis needs no separate ClientHello for this fact (one connection fewer): the
    handshake probe keeps the server's first bytes and how the reading ended.
    """
    return FirstAnswerObservation(
        answer=handshake.first_answer, client_hello_bytes=0, server_name=handshake.server_name,
        connect_answer=handshake.connect_answer, route_error=handshake.route_error, transport_error=None,
        connect_ms=handshake.connect_ms, answer_ms=handshake.handshake_ms, elapsed_ms=handshake.elapsed_ms,
    )

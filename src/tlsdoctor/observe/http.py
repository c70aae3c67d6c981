"""HTTP over the route: ``HEAD /`` over the protocol ALPN selects, to observe, not to trust.

The diagnosis asks its HEAD over the handshake probe's own connection
(:meth:`tlsdoctor.observe.handshake.HandshakeSession.head`, through :func:`head_over`),
and only when that HEAD went over h2 and failed asks again over HTTP/1.1 on a
connection of its own (:func:`http_after`): the second answer tells a broken h2 stack
from a broken server.

Two facts only an HTTP exchange gives: whether HTTP/2 works once ALPN chose it (a broken
h2 stack in a proxy or load balancer is a classic "works in curl --http1.1" report), and
the server's ``Date`` header, the one trustworthy clock a client can read when its own is
wrong (Chrome's bad-clock interstitial relies on the same idea).

Certificate verification is OFF here, on purpose and only here: the chain is judged by
the trust probes; this probe must still reach HTTP when the chain is broken, so that
the date is readable exactly when an expired-looking certificate makes it matter. It only
ever sends a credential-free ``HEAD /`` — never the URL's path, which may hold a token
(``/reset/SECRET``), to a server whose certificate nobody has verified — and reads headers.

Both HEADs run at once, each within ``timeout`` for the connection, ``timeout`` for TLS,
and ``timeout`` for request and answer *together*: a server that trickles its header a byte a second, or
floods HTTP/2 SETTINGS frames, keeps every single read short, so only one deadline over the
whole exchange bounds it. Reads are capped in bytes too, and a connection that did not end
cleanly is aborted, never awaited.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Callable, Literal, NamedTuple


from tlsdoctor import aio
from tlsdoctor.observe.route import Route, RouteError, open_stream, redirect_target
from tlsdoctor.observe.timing import elapsed_ms
from tlsdoctor.observe.tls_layer import TlsLayer
from tlsdoctor.records import record

_MAX_HEAD = 64 * 1024
_MAX_H2_BYTES = 256 * 1024  # a response HEADERS frame is a few KB; a flood is cut here
_MAX_READS = 256
_CLOSE_TIMEOUT = 0.25  # a polite close after a whole answer; anything else is aborted

Fault = Literal["invalid", "closed", "reset"]


@record
class HttpExchange:
    """One HEAD request's outcome over one protocol."""

    protocol: str  # "http/1.1" or "h2"
    alpn: str | None  # what the server selected
    status: int | None
    date: datetime | None  # the server's Date header, parsed
    server: str | None
    error: str | None
    elapsed_ms: float
    timed_out: bool = False  # the deadline ended it: the answer was stalled or trickling
    via_libcurl: bool = False  # libcurl's own answer (verification on), read instead of asking again
    # What came back instead of an answer, once the request was out: "invalid" (bytes that are
    # not an HTTP response), "closed" (the connection ended, close_notify or not, before any
    # answer: curl's "Empty reply from server"), "reset" (a TCP reset before any answer).
    # None for an answer, a timeout, a TLS alert, or a failure before the request went out.
    fault: Fault | None = None
    # A redirect's target (3xx with Location), as observe.route.redirect_target shapes it: where a
    # client that follows redirects goes next, which this diagnosis does not examine.
    location: str | None = None
    # h2: the error code of the RST_STREAM or GOAWAY the server answered the request with (RFC 9113
    # §7): 0x1 PROTOCOL_ERROR, 0xd HTTP_1_1_REQUIRED (retry over HTTP/1.1, which curl does)...
    h2_error_code: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None


@record
class HttpObservation:
    """The HEADs asked: at least one of ``http1``/``h2`` is set."""

    http1: HttpExchange | None  # None: not asked, because HEAD over h2 answered
    h2: HttpExchange | None  # None: the server did not select h2, so nothing to test
    local_time_at_response: datetime | None  # our clock when the Date was read
    connections: int  # of its own: a HEAD over the handshake's connection opens none

    @property
    def exchanges(self) -> tuple[HttpExchange, ...]:
        return tuple(e for e in (self.h2, self.http1) if e is not None)

    @property
    def answer(self) -> HttpExchange | None:
        """The first exchange that got an HTTP answer, if any."""
        return next((e for e in self.exchanges if e.ok), None)

    @property
    def date(self) -> datetime | None:
        """The server's Date, from whichever answer carried one."""
        return next((e.date for e in self.exchanges if e.date is not None), None)


async def http_after(first: HttpExchange, route: Route, timeout: float,
                     clock_now: Callable[[], datetime]) -> HttpObservation:
    """The observation, given the HEAD already asked over the handshake's connection.

    Over HTTP/1.1, or over h2 with an answer, that one HEAD is the whole story. A failed
    h2 HEAD is asked again over HTTP/1.1 (ALPN offering only that), one new connection:
    HTTP/1.1 working where h2 does not is the finding ``http2.negotiation_failed``.
    """
    if first.protocol != "h2":
        return HttpObservation(first, None, clock_now() if first.date else None, 0)
    if first.ok:
        return HttpObservation(None, first, clock_now() if first.date else None, 0)
    http1 = await _exchange(route, timeout, "http/1.1")
    return HttpObservation(http1, first, clock_now() if http1.date else None, 1)


async def head_over(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, route: Route, timeout: float,
                    alpn: str | None) -> HttpExchange:
    """``HEAD /`` over an established TLS stream, in the protocol ALPN selected; within ``timeout`` as a whole.

    A server that trickles its header a byte a second, or floods HTTP/2 SETTINGS frames,
    keeps every single read short, so one deadline over the whole exchange bounds it.
    """
    started = time.perf_counter()
    protocol = "h2" if alpn == "h2" else "http/1.1"
    try:
        async with asyncio.timeout(timeout):
            head = await (_head_h2 if protocol == "h2" else _head_http1)(reader, writer, route)
    except TimeoutError:
        return HttpExchange(protocol, alpn, None, None, None, f"no whole HTTP answer within {timeout:g} s",
                            elapsed_ms(started), timed_out=True)
    status, headers = head.status, head.headers
    location = redirect_target(route.target.url, headers.get("location")) if status and 300 <= status < 400 else None
    return HttpExchange(protocol, alpn, status, parse_http_date(headers.get("date")), headers.get("server"), head.error,
                        elapsed_ms(started), fault=head.fault, location=location, h2_error_code=head.h2_error_code)


async def _exchange(route: Route, timeout: float, protocol: str) -> HttpExchange:
    started = time.perf_counter()
    target = route.target
    try:
        (reader, writer), _answer = await open_stream(route, timeout)
    except RouteError as exc:
        return HttpExchange(protocol, None, None, None, None, str(exc), elapsed_ms(started))
    exchange: HttpExchange | None = None
    try:
        try:
            # TLS stacked on whatever the route gave (a socket, or an HTTPS proxy's TLS tunnel).
            reader = writer = await aio.within(
                TlsLayer.open(reader, writer, target.server_name, timeout, alpn=(protocol,)), timeout)
        except asyncio.TimeoutError:
            writer.transport.abort()
            return HttpExchange(protocol, None, None, None, None, f"no whole TLS handshake within {timeout:g} s",
                                elapsed_ms(started), timed_out=True)
        except (ssl.SSLError, OSError) as exc:
            writer.transport.abort()
            return HttpExchange(protocol, None, None, None, None, f"TLS: {_describe(exc)}", elapsed_ms(started))
        alpn = writer.alpn
        if protocol == "h2" and alpn != "h2":
            return HttpExchange(protocol, alpn, None, None, None, "the server did not select h2", elapsed_ms(started))
        # The answer gets its own `timeout`, as a whole: however the server paces its
        # bytes, connect + TLS + answer stay within 3 × timeout.
        exchange = await head_over(reader, writer, route, timeout, alpn)
        return replace(exchange, elapsed_ms=elapsed_ms(started))
    finally:
        await _finish(writer, exchange is not None and exchange.ok)


async def _finish(writer: asyncio.StreamWriter, clean: bool) -> None:
    """Close politely (bounded) after a whole answer; abort otherwise: a stalled peer gets no more time."""
    if not clean:
        writer.transport.abort()
        return
    writer.close()
    try:
        await aio.within(writer.wait_closed(), _CLOSE_TIMEOUT)
    except (OSError, asyncio.TimeoutError, ssl.SSLError):
        writer.transport.abort()


# The only request target this probe ever sends: the URL's path may carry a secret, and
# the server's certificate has not been verified (issue 12: ``HEAD /reset/TOKEN`` leaked).
REQUEST_TARGET = "/"


def _request_headers(route: Route) -> list[tuple[str, str]]:
    # Nothing that identifies the user: no cookies, no credentials, no path, no query string.
    return [("host", route.target.authority if route.target.port != 443 else route.target.host),
            ("user-agent", "tlsdoctor"), ("accept", "*/*")]


class _Head(NamedTuple):
    """What a HEAD got: an answer's status and headers, or an error and a fault; over h2, the
    error code a refusal (RST_STREAM, GOAWAY) carried."""

    status: int | None
    headers: dict[str, str]
    error: str | None
    fault: Fault | None
    h2_error_code: int | None = None
_CLOSED = "the server closed the connection without answering"


async def _head_http1(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, route: Route) -> _Head:
    """HEAD / over HTTP/1.1; the caller's deadline bounds the time, h11's limit the header's size."""
    import h11  # ~18 ms: only once HTTP/1.1 is asked (most diagnoses take libcurl's answer, or h2's)

    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
    writer.write(conn.send(h11.Request(method="HEAD", target=REQUEST_TARGET,
                                       headers=[*_request_headers(route), ("connection", "close")])))
    writer.write(conn.send(h11.EndOfMessage()))
    received = 0
    try:
        await writer.drain()
        for _ in range(_MAX_HEAD):  # each read brings at least one byte, or the end
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(16384)
                if not data and not received:
                    # h11 calls an end before any byte a protocol error; it is curl's "Empty reply".
                    return _Head(None, {}, _CLOSED, "closed")
                received += len(data)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.Response):
                return _Head(event.status_code, _decode(event.headers), None, None)
            if isinstance(event, h11.ConnectionClosed):
                return _Head(None, {}, _CLOSED, "closed")
    except h11.RemoteProtocolError as exc:
        began = f" (it began {bytes(conn.trailing_data[0][:40])!r})" if conn.trailing_data[0] else ""
        return _Head(None, {}, f"not an HTTP/1.1 answer{began}: {exc}", "invalid")
    except (OSError, ssl.SSLError) as exc:
        return _Head(None, {}, f"no HTTP answer: {_describe(exc)}", _ending(exc, received))
    return _Head(None, {}, "no HTTP answer", None)


async def _head_h2(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, route: Route) -> _Head:
    """HEAD / over h2; the caller's deadline bounds the time, :data:`_MAX_H2_BYTES` what is read."""
    import h2.config  # only once a server selected h2: many diagnoses never get this far
    import h2.connection
    import h2.events
    import h2.exceptions

    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    authority = _request_headers(route)[0][1]
    stream_id = conn.get_next_available_stream_id()
    conn.send_headers(
        stream_id,
        [(":method", "HEAD"), (":scheme", "https"), (":authority", authority), (":path", REQUEST_TARGET),
         *(_request_headers(route)[1:])],
        end_stream=True,
    )
    writer.write(conn.data_to_send())
    received = 0
    try:
        await writer.drain()
        for _ in range(_MAX_READS):
            data = await reader.read(65536)
            received += len(data)
            if received > _MAX_H2_BYTES:
                return _Head(None, {}, f"no HTTP/2 answer in the first {_MAX_H2_BYTES} bytes (a frame flood?)", None)
            if not data:
                # Its SETTINGS may have come, but nothing for the request: curl's "Empty reply" too.
                return _Head(None, {}, "the server closed the HTTP/2 connection without answering", "closed")
            if data.startswith(b"HTTP/"):
                # A server (or proxy) that let ALPN pick h2 and then spoke HTTP/1.1 anyway.
                line = data.split(b"\r\n", 1)[0].decode("latin-1")[:80]
                return _Head(None, {}, f"the server selected h2 but answered in HTTP/1.1 ({line!r})", "invalid")
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream_id:
                    headers = dict(event.headers)
                    status = int(headers.pop(":status", "0")) or None
                    return _Head(status, headers, None, None)
                # A reset stream or a GOAWAY is the server's HTTP/2 answer, if not a useful one: no fault.
                if isinstance(event, h2.events.StreamReset) and event.stream_id == stream_id:
                    return _Head(None, {}, f"the server reset the HTTP/2 stream with {_h2_error(event.error_code)}",
                                 None, int(event.error_code))
                if isinstance(event, h2.events.ConnectionTerminated):
                    return _Head(None, {}, f"the server sent GOAWAY with {_h2_error(event.error_code)}", None,
                                 int(event.error_code))
            pending = conn.data_to_send()
            if pending:
                writer.write(pending)
    except h2.exceptions.ProtocolError as exc:
        return _Head(None, {}, f"HTTP/2 protocol error: {exc}", "invalid")
    except (OSError, ssl.SSLError) as exc:
        return _Head(None, {}, f"no HTTP/2 answer: {_describe(exc)}", _ending(exc, 0))
    return _Head(None, {}, "no HTTP/2 answer", None)


def _ending(exc: BaseException, received: int) -> Fault | None:
    """How a failed read ended the exchange, as a fault, where it is one.

    A reset, or TLS ending without close_notify (Python's ``ssl``: EOF in violation of the
    protocol), before any byte of the answer. A TLS alert (TLS 1.3's certificate_required
    arrives after the client's handshake is done) is the TLS layer's to judge: no fault.
    """
    if received:
        return "invalid" if isinstance(exc, (ConnectionResetError, ssl.SSLEOFError)) else None
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
        return "reset"
    if isinstance(exc, ssl.SSLEOFError) or (isinstance(exc, ssl.SSLError) and "EOF" in str(exc).upper()
                                             and "ALERT" not in str(exc).upper()):
        return "closed"
    return None


def _describe(exc: BaseException) -> str:
    return str(exc) or ("timed out" if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__)


def _decode(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in headers}


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP Date header as an aware datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else None


def _h2_error(code: object) -> str:
    """An HTTP/2 error code as RFC 9113 §7 and curl name it: "PROTOCOL_ERROR (0x1)"."""
    name = getattr(code, "name", None)
    value = int(code) if isinstance(code, int) else None
    if name and value is not None:
        return f"{name} (0x{value:x})"
    return f"error {code}"

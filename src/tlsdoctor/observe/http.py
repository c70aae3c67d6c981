"""HTTP over the route: one HEAD with HTTP/1.1 and one with HTTP/2, to observe, not to trust.

Two facts only an HTTP exchange gives: whether HTTP/2 works once ALPN chose it (a broken
h2 stack in a proxy or load balancer is a classic "works in curl --http1.1" report), and
the server's ``Date`` header, the one trustworthy clock a client can read when its own is
wrong (Chrome's bad-clock interstitial relies on the same idea).

Certificate verification is OFF here, on purpose and only here: the chain is judged by
the trust probes; this probe must still reach HTTP when the chain is broken, so that
the date is readable exactly when an expired-looking certificate makes it matter. It only
ever sends a credential-free ``HEAD`` (no cookies, no query string) and reads headers.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h11

from tlsdoctor.observe.route import Route, RouteError, open_stream
from tlsdoctor.observe.timing import elapsed_ms

_MAX_HEAD = 64 * 1024


@dataclass(frozen=True)
class HttpExchange:
    """One HEAD request's outcome over one protocol."""

    protocol: str  # "http/1.1" or "h2"
    alpn: str | None  # what the server selected
    status: int | None
    date: datetime | None  # the server's Date header, parsed
    server: str | None
    error: str | None
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        return self.status is not None


@dataclass(frozen=True)
class HttpObservation:
    http1: HttpExchange
    h2: HttpExchange | None  # None: the server did not select h2, so nothing to test
    local_time_at_response: datetime | None  # our clock when the Date was read
    connections: int


def _observing_context(alpn: list[str]) -> ssl.SSLContext:
    # Observation only (see the module docstring): never used to send anything but HEAD.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(alpn)
    return ctx


async def probe_http(route: Route, timeout: float, clock_now: "callable[[], datetime]") -> HttpObservation:  # type: ignore[valid-type]
    """HEAD over HTTP/1.1, then over h2 if the server selects it. Never raises."""
    http1 = await _exchange(route, timeout, "http/1.1")
    local = clock_now() if http1.date else None
    connections = 1
    h2_result = None
    if http1.alpn is not None or http1.ok:
        h2_result = await _exchange(route, timeout, "h2")
        connections += 1
        if h2_result.alpn != "h2":
            h2_result = None
    return HttpObservation(http1, h2_result, local, connections)


async def _exchange(route: Route, timeout: float, protocol: str) -> HttpExchange:
    started = time.perf_counter()
    target = route.target
    try:
        (reader, writer), _answer = await open_stream(route, timeout)
    except RouteError as exc:
        return HttpExchange(protocol, None, None, None, None, str(exc), elapsed_ms(started))
    try:
        try:
            await asyncio.wait_for(
                writer.start_tls(_observing_context([protocol]), server_hostname=target.server_name), timeout
            )
        except (ssl.SSLError, OSError, asyncio.TimeoutError) as exc:
            return HttpExchange(protocol, None, None, None, None, f"TLS: {_describe(exc)}", elapsed_ms(started))
        ssl_object = writer.get_extra_info("ssl_object")
        alpn = ssl_object.selected_alpn_protocol() if ssl_object else None
        if protocol == "h2":
            if alpn != "h2":
                return HttpExchange(protocol, alpn, None, None, None, "the server did not select h2", elapsed_ms(started))
            status, headers, error = await _head_h2(reader, writer, route, timeout)
        else:
            status, headers, error = await _head_http1(reader, writer, route, timeout)
        return HttpExchange(
            protocol, alpn, status, _parse_date(headers.get("date")), headers.get("server"), error, elapsed_ms(started)
        )
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1.0)
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            pass


def _request_headers(route: Route) -> list[tuple[str, str]]:
    # Nothing that identifies the user: no cookies, no credentials, no query string.
    return [("host", route.target.authority if route.target.port != 443 else route.target.host),
            ("user-agent", "tlsdoctor"), ("accept", "*/*")]


async def _head_http1(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, route: Route, timeout: float
) -> tuple[int | None, dict[str, str], str | None]:
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
    writer.write(conn.send(h11.Request(method="HEAD", target=route.target.path,
                                       headers=[*_request_headers(route), ("connection", "close")])))
    writer.write(conn.send(h11.EndOfMessage()))
    try:
        await asyncio.wait_for(writer.drain(), timeout)
        for _ in range(256):
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await asyncio.wait_for(reader.read(16384), timeout)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.Response):
                return event.status_code, _decode(event.headers), None
            if isinstance(event, h11.ConnectionClosed):
                return None, {}, "the server closed the connection without answering"
    except h11.RemoteProtocolError as exc:
        return None, {}, f"not an HTTP/1.1 answer: {exc}"
    except (OSError, ssl.SSLError, asyncio.TimeoutError) as exc:
        return None, {}, f"no HTTP answer: {_describe(exc)}"
    return None, {}, "no HTTP answer"


async def _head_h2(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, route: Route, timeout: float
) -> tuple[int | None, dict[str, str], str | None]:
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    authority = _request_headers(route)[0][1]
    stream_id = conn.get_next_available_stream_id()
    conn.send_headers(
        stream_id,
        [(":method", "HEAD"), (":scheme", "https"), (":authority", authority), (":path", route.target.path),
         *(_request_headers(route)[1:])],
        end_stream=True,
    )
    writer.write(conn.data_to_send())
    try:
        await asyncio.wait_for(writer.drain(), timeout)
        for _ in range(256):
            data = await asyncio.wait_for(reader.read(65536), timeout)
            if not data:
                return None, {}, "the server closed the HTTP/2 connection without answering"
            if data.startswith(b"HTTP/"):
                # A server (or proxy) that let ALPN pick h2 and then spoke HTTP/1.1 anyway.
                line = data.split(b"\r\n", 1)[0].decode("latin-1")[:80]
                return None, {}, f"the server selected h2 but answered in HTTP/1.1 ({line!r})"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream_id:
                    headers = dict(event.headers)
                    status = int(headers.pop(":status", "0")) or None
                    return status, headers, None
                if isinstance(event, h2.events.StreamReset) and event.stream_id == stream_id:
                    return None, {}, f"the server reset the HTTP/2 stream ({event.error_code!r})"
                if isinstance(event, h2.events.ConnectionTerminated):
                    return None, {}, f"the server sent GOAWAY ({event.error_code!r})"
            pending = conn.data_to_send()
            if pending:
                writer.write(pending)
    except h2.exceptions.ProtocolError as exc:
        return None, {}, f"HTTP/2 protocol error: {exc}"
    except (OSError, ssl.SSLError, asyncio.TimeoutError) as exc:
        return None, {}, f"no HTTP/2 answer: {_describe(exc)}"
    return None, {}, "no HTTP/2 answer"


def _describe(exc: BaseException) -> str:
    return str(exc) or ("timed out" if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__)


def _decode(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in headers}


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else None


"""One bounded HTTP fetch for the PKI's own URLs: CRLs, OCSP responders, caIssuers.

The URLs come from the server's certificate, so the peer at the other end is as hostile
as the server: it may trickle a byte a second, send a gigabyte, or never answer. A
general HTTP client's timeouts are per operation (a byte every few seconds resets them),
so this fetch has **one** deadline for the whole exchange — connect, request, headers and
body — and a byte cap, and the connection is aborted, never awaited, when either runs out.

h11 does the HTTP (sans-IO: it parses, we move the bytes). This also keeps httpx and
httpcore out of a diagnosis: httpcore asks ``import sniffio`` on every request, and with
sniffio not installed (anyio 4 no longer needs it) that failing import re-scans
``sys.path`` each time, about a dozen times per diagnosis.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import urllib.parse

from tlsdoctor.records import record


MAX_DOCUMENT = 2 * 1024 * 1024  # a CRL of a big public CA is a few hundred KB
_MAX_HEAD = 16 * 1024
_CHUNK = 64 * 1024
_MAX_READS = 4096  # with the byte cap and the deadline: a trickling peer still ends the loop


class FetchError(Exception):
    """The fetch gave no usable document; the message says why in one line."""


@record
class Fetched:
    url: str
    status: int
    body: bytes


async def fetch(url: str, timeout: float, *, body: bytes | None = None, content_type: str | None = None,
                max_bytes: int = MAX_DOCUMENT) -> Fetched:
    """GET ``url`` (POST ``body`` when given) within ``timeout`` seconds in all.

    Raises :class:`FetchError` for anything but a whole 200 answer of at most
    ``max_bytes``: a bad URL, a refused or slow peer, another status, a body too large.
    """
    import h11  # ~18 ms: only once a chain names a URL to fetch

    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http URL: {url[:80]}")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise FetchError(f"bad port in {url[:80]}") from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = parts.netloc.rsplit("@", 1)[-1]  # never forward userinfo
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                parts.hostname, port, ssl=_verifying_context() if scheme == "https" else None,
                server_hostname=parts.hostname if scheme == "https" else None,
            )
            return await _exchange(reader, writer, url, target, host_header, body, content_type, max_bytes)
    except TimeoutError:
        raise FetchError(f"no whole answer within {timeout:g} s") from None
    except (OSError, ssl.SSLError) as exc:
        raise FetchError(str(exc) or type(exc).__name__) from None
    except h11.ProtocolError as exc:
        raise FetchError(f"not an HTTP answer: {exc}") from None
    finally:
        if writer is not None:
            writer.transport.abort()  # done or given up: either way, no waiting for the peer


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, url: str, target: str,
                    host: str, body: bytes | None, content_type: str | None, max_bytes: int) -> Fetched:
    import h11  # fetch() has imported it

    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
    headers = [("host", host), ("user-agent", "tlsdoctor"), ("connection", "close")]
    if body is not None:
        headers += [("content-type", content_type or "application/octet-stream"), ("content-length", str(len(body)))]
    writer.write(conn.send(h11.Request(method="POST" if body is not None else "GET", target=target, headers=headers)))
    if body is not None:
        writer.write(conn.send(h11.Data(data=body)))
    writer.write(conn.send(h11.EndOfMessage()))
    await writer.drain()
    status: int | None = None
    document = bytearray()
    for _ in range(_MAX_READS):
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(_CHUNK)
            conn.receive_data(data)
            continue
        if isinstance(event, h11.Response):
            status = event.status_code
            if status != 200:
                raise FetchError(f"HTTP {status}")
            length = dict(event.headers).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > max_bytes:
                raise FetchError(f"response too large: {int(length)} bytes announced (limit {max_bytes})")
        elif isinstance(event, h11.Data):
            document += event.data
            if len(document) > max_bytes:
                raise FetchError(f"response too large: more than {max_bytes} bytes")
        elif isinstance(event, h11.EndOfMessage):
            return Fetched(url, status or 0, bytes(document))
        elif isinstance(event, h11.ConnectionClosed):
            raise FetchError("the server closed the connection before a whole answer")
    raise FetchError("no whole answer")


@functools.lru_cache(maxsize=1)
def _verifying_context() -> ssl.SSLContext:
    """One verifying context per process: loading the CA store costs ~25 ms, and PKI
    URLs are almost always plain http anyway."""
    return ssl.create_default_context()

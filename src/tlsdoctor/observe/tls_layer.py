"""A TLS client layer over any stream, for observing: Python's ``ssl`` on memory BIOs.

Two probes need TLS on a connection they already hold. With an ``https://`` proxy (curl since
7.52, urllib3 since 1.26) the client speaks TLS to the proxy itself, sends CONNECT inside it,
and runs the origin's TLS inside the tunnel: TLS in TLS. And the HTTP/1.1 HEAD that follows a
failed h2 one opens its own connection (through whatever proxy) and speaks TLS on it.
:class:`TlsLayer` is that layer, with the reading and writing verbs of a
:class:`~tlsdoctor.socket_stream.SocketStream`, so every probe runs over it unchanged; it
stacks on a SocketStream, on asyncio's pair, or on another TlsLayer.

Nothing is verified here: the diagnosis observes, and judges certificates from its own
handshakes (the server's; an HTTPS proxy's, against the client's CA file as libcurl's
CURLOPT_PROXY_CAINFO does).
"""

from __future__ import annotations

import ssl
from typing import Any

from tlsdoctor import aio
from tlsdoctor.socket_stream import BufferedReads, read_within

_CHUNK = 64 * 1024
_MAX_STEPS = 10_000  # handshake and read loops: each step moves bytes or ends


def _observing_context(alpn: tuple[str, ...]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # observing only: certificates are judged from other handshakes
    context.set_alpn_protocols(list(alpn))
    return context


class TlsLayer(BufferedReads):
    """A TLS client connection on an open (reader, writer) pair, as one stream object."""

    def __init__(self, reader: Any, writer: Any, tls: ssl.SSLObject, incoming: ssl.MemoryBIO,
                 outgoing: ssl.MemoryBIO) -> None:
        self._reader, self._writer = reader, writer
        self._tls, self._incoming, self._outgoing = tls, incoming, outgoing
        self._buffer = bytearray()
        self._eof = False

    @classmethod
    async def open(cls, reader: Any, writer: Any, server_name: str | None, timeout: float,
                   alpn: tuple[str, ...] = ("http/1.1",)) -> "TlsLayer":
        """The TLS handshake, each wait bounded by ``timeout``; raises OSError (``ssl.SSLError``
        included) or TimeoutError. ALPN offers ``alpn`` (HTTP/1.1: CONNECT to a proxy is)."""
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = _observing_context(alpn).wrap_bio(incoming, outgoing, server_hostname=server_name)
        layer = cls(reader, writer, tls, incoming, outgoing)
        for _ in range(_MAX_STEPS):
            try:
                tls.do_handshake()
                await layer._flush(timeout)
                return layer
            except ssl.SSLWantReadError:
                await layer._flush(timeout)
                if not await layer._fill(timeout):
                    raise ConnectionError("the peer closed the connection during the TLS handshake") from None
        raise ConnectionError("the TLS handshake did not end")  # pragma: no cover - bounded

    async def _flush(self, timeout: float | None = None) -> None:
        data = self._outgoing.read()
        if data:
            self._writer.write(data)
            if timeout is not None:
                await aio.drained(self._writer, timeout)

    async def _fill(self, timeout: float | None) -> bool:
        """One chunk from the peer into the TLS layer; False at its end."""
        chunk = await (read_within(self._reader, _CHUNK, timeout) if timeout is not None else self._reader.read(_CHUNK))
        if not chunk:
            self._incoming.write_eof()
            return False
        self._incoming.write(chunk)
        return True

    @property
    def alpn(self) -> str | None:
        """The protocol the peer selected by ALPN, if any."""
        return self._tls.selected_alpn_protocol()

    # -- the reading half -------------------------------------------------------------------

    async def read(self, n: int = -1, timeout: float | None = None) -> bytes:
        """Up to ``n`` bytes of plaintext (a chunk when ``n`` < 0); ``b""`` at the end."""
        size = _CHUNK if n < 0 else n
        if self._buffer:
            data = bytes(self._buffer[:size])
            del self._buffer[:size]
            return data
        for _ in range(_MAX_STEPS):
            if self._eof:
                return b""
            try:
                return self._tls.read(size)
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                self._eof = True  # close_notify from the peer, or its connection ended
                return b""
            await self._flush()
            if not await self._fill(timeout):
                continue  # the TLS layer now reports the end (or what was still buffered)
        raise ConnectionError("the TLS layer never became readable")  # pragma: no cover - bounded

    # -- the writing half (StreamWriter and transport verbs) ----------------------------------

    def write(self, data: bytes) -> None:
        self._tls.write(data)
        self._writer.write(self._outgoing.read())

    async def drain(self) -> None:
        await self._writer.drain()

    @property
    def transport(self) -> "TlsLayer":
        return self

    def get_write_buffer_size(self) -> int:
        return int(self._writer.transport.get_write_buffer_size())

    def is_closing(self) -> bool:
        return bool(self._writer.transport.is_closing())

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._writer.get_extra_info(name, default)

    def abort(self) -> None:
        self._writer.transport.abort()

    def close(self) -> None:
        """A close_notify first (servers that stop answering after connections dropped without
        one exist: tlsdoctor torture's fragile-eof), then the connection beneath."""
        try:
            self._tls.unwrap()
        except (ssl.SSLError, ValueError):  # SSLWantReadError: the peer's own close_notify is not awaited
            pass
        data = self._outgoing.read()
        if data and not self._writer.transport.is_closing():
            self._writer.write(data)
        self._writer.close()

    async def wait_closed(self) -> None:
        await self._writer.wait_closed()

"""A TCP connection for probes: a non-blocking socket read and written on the running loop.

A probe's connection carries a few records each way (a ClientHello out, a ServerHello
flight back; a handshake and one HEAD) and is then dropped. ``asyncio.open_connection``
builds a transport, a protocol, a StreamReader and a StreamWriter for it, and every
step goes through call_soon callbacks: measured in bench/diagnose_bench.py's setting, one
such hello exchange costs the diagnosing process ~0.48 ms of CPU, against ~0.11 ms for
the same bytes over a blocking socket and ~0.2 ms over this class. A diagnosis of a
failing server opens four such connections on a two-core machine where the server needs
the other core, so this is most of its CPU.

:class:`SocketStream` calls the socket first and waits on the loop only when the kernel
says it would block (``add_reader``/``add_writer`` for that one wait), so a loopback
exchange usually takes no loop turn at all between its reads. It offers the part of the
StreamReader/StreamWriter API the probes use (``read``, ``readuntil``, ``write``,
``drain``, ``close``, ``transport.abort()``), so one object is both halves of a stream
pair. Errors are what asyncio's streams raise (OSError and its ConnectionError
subclasses, ``IncompleteReadError``, ``LimitOverrunError``); every wait is bounded by the
caller's timeout, and a cancelled wait leaves nothing registered on the loop.
"""

from __future__ import annotations

import asyncio
import errno
import select
import socket
from typing import Any, Callable

_CHUNK = 64 * 1024
_DEFAULT_LIMIT = 64 * 1024  # asyncio.StreamReader's default line limit
_MAX_WAITS = 100_000  # a wait ends on a readiness event; a peer cannot spin us past this


class SocketStream:
    """One connected, non-blocking TCP socket, read and written on the running event loop."""

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self._sock: socket.socket | None = sock
        self._loop = loop
        self._pending = bytearray()  # bytes written but not yet taken by the kernel
        self._buffer = bytearray()  # bytes read past a readuntil() separator

    @classmethod
    async def connect(cls, host: str, port: int) -> "SocketStream":
        """A connection to ``host`` (an address or a name, resolved as asyncio does) and ``port``.

        Unbounded here, as ``asyncio.open_connection``: the caller's timeout bounds it, and a
        cancelled connect closes its socket. A name's addresses are tried in order; the
        error is the last one's, or all of them, as asyncio words it.
        """
        loop = asyncio.get_running_loop()
        errors: list[OSError] = []
        for family, address in await _addresses(loop, host, port):
            try:
                return cls(await _connected(loop, family, address), loop)
            except OSError as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        if not errors:
            raise OSError(f"getaddrinfo returned no address for {host}")
        raise OSError(f"Multiple exceptions: {', '.join(str(e) for e in errors)}")

    # -- reading --------------------------------------------------------------------------------

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (a chunk when ``n`` < 0), as soon as any are there; ``b""`` at EOF."""
        size = _CHUNK if n < 0 else n
        if self._buffer:
            data = bytes(self._buffer[:size])
            del self._buffer[:size]
            return data
        sock = self._open()
        for _ in range(_MAX_WAITS):
            try:
                return sock.recv(size)
            except (BlockingIOError, InterruptedError):
                await _wait(self._loop, sock, self._loop.add_reader, self._loop.remove_reader)
        raise ConnectionError("the socket never became readable")  # pragma: no cover - bounded, not expected

    async def readuntil(self, separator: bytes = b"\n", limit: int = _DEFAULT_LIMIT) -> bytes:
        """The bytes up to and including ``separator``, as ``StreamReader.readuntil`` reads them.

        Raises ``LimitOverrunError`` past ``limit`` bytes without it and ``IncompleteReadError``
        (with what came) at EOF; bytes after the separator are kept for the next read.
        """
        for _ in range(_MAX_WAITS):
            found = self._buffer.find(separator)
            if found >= 0:
                end = found + len(separator)
                head = bytes(self._buffer[:end])
                del self._buffer[:end]
                return head
            if len(self._buffer) > limit:
                raise asyncio.LimitOverrunError("separator is not found, and chunk exceed the limit", len(self._buffer))
            buffered, self._buffer = self._buffer, bytearray()
            chunk = await self.read()
            self._buffer = buffered + chunk
            if not chunk:
                partial = bytes(self._buffer)
                self._buffer.clear()
                raise asyncio.IncompleteReadError(partial, None)
        raise ConnectionError("no separator in the bytes read")  # pragma: no cover - bounded by limit first

    # -- writing --------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Hand ``data`` to the kernel now, as much as it takes; :meth:`drain` sends the rest."""
        sock = self._open()
        if self._pending:
            self._pending += data
            return
        try:
            sent = sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        if sent < len(data):
            self._pending += data[sent:]

    async def drain(self) -> None:
        """Wait until every written byte is with the kernel (unbounded: the caller's timeout bounds it)."""
        sock = self._open()
        for _ in range(_MAX_WAITS):
            if not self._pending:
                return
            try:
                sent = sock.send(self._pending)
            except (BlockingIOError, InterruptedError):
                await _wait(self._loop, sock, self._loop.add_writer, self._loop.remove_writer)
                continue
            del self._pending[:sent]
        raise ConnectionError("the peer stopped reading")  # pragma: no cover - bounded, not expected

    # -- the StreamWriter / transport part ------------------------------------------------------

    @property
    def transport(self) -> "SocketStream":
        """The stream is its own transport: ``writer.transport.abort()`` works as with asyncio's."""
        return self

    def get_write_buffer_size(self) -> int:
        return len(self._pending)

    def is_closing(self) -> bool:
        return self._sock is None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if self._sock is None:
            return default
        if name == "socket":
            return self._sock
        if name == "peername":
            return self._sock.getpeername()
        if name == "sockname":
            return self._sock.getsockname()
        return default

    def abort(self) -> None:
        """Close now, dropping unsent bytes (nothing is waiting on the socket: waits unregister themselves)."""
        sock, self._sock = self._sock, None
        self._pending.clear()
        if sock is not None:
            sock.close()

    def close(self) -> None:
        """Close now, after one last non-blocking try at what is still unsent (callers drain first)."""
        if self._sock is not None and self._pending:
            try:
                self._sock.send(self._pending)
            except OSError:
                pass
        self.abort()

    async def wait_closed(self) -> None:
        """Closing is immediate (:meth:`close`); here for the StreamWriter API."""

    def _open(self) -> socket.socket:
        if self._sock is None:
            raise ConnectionResetError(errno.EBADF, "the connection is closed")
        return self._sock


def supported(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether this loop can wait on a socket's readiness (Windows' proactor loop cannot: use asyncio's streams)."""
    return isinstance(loop, asyncio.SelectorEventLoop) and hasattr(select, "poll")


async def _addresses(loop: asyncio.AbstractEventLoop, host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
    """Where to connect: an address literal as it is (no resolver round), a name through getaddrinfo."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host.partition("%")[0])
        except OSError:
            continue
        return [(family, (host, port))]
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [(family, address) for family, _type, _proto, _name, address in infos]


async def _connected(loop: asyncio.AbstractEventLoop, family: int, address: tuple[Any, ...]) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        # Small records, answered at once: never wait for a delayed ACK (asyncio sets this too).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = sock.connect_ex(address)
        if code in (errno.EINPROGRESS, errno.EWOULDBLOCK):
            # A loopback or LAN connect is often done before connect_ex returns: a zero-time
            # poll saves the loop turn that waiting for writability costs.
            if not _writable_now(sock):
                await _wait(loop, sock, loop.add_writer, loop.remove_writer)
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code != 0:
            raise OSError(code, f"Connect call failed {address}")  # asyncio's words; errno picks the subclass
    except BaseException:
        sock.close()
        raise
    return sock


def _writable_now(sock: socket.socket) -> bool:
    poller = select.poll()  # poll, not select: a batch may hold descriptors past FD_SETSIZE
    poller.register(sock, select.POLLOUT)
    return bool(poller.poll(0))


async def _wait(loop: asyncio.AbstractEventLoop, sock: socket.socket,
                add: Callable[..., None], remove: Callable[[int], bool]) -> None:
    """Until ``sock`` is ready (read or write, per ``add``); the registration lasts this one wait."""
    ready = loop.create_future()
    fd = sock.fileno()
    add(fd, _set_ready, ready)
    try:
        await ready
    finally:
        remove(fd)


def _set_ready(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)

"""A TCP connection for probes and the lab: a non-blocking socket read and written on the running loop.

A probe's connection carries a few records each way (a ClientHello out, a ServerHello
flight back; a handshake and one HEAD) and is then dropped. ``asyncio.open_connection``
builds a transport, a protocol, a StreamReader and a StreamWriter for it, and every
step goes through call_soon callbacks: measured in bench/diagnose_bench.py's setting, one
such hello exchange costs the diagnosing process ~0.48 ms of CPU, against ~0.11 ms for
the same bytes over a blocking socket and ~0.2-0.3 ms over this class. A diagnosis of a
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

:func:`serve` is the same for the accepting side (the lab's servers): every connection a
test or benchmark makes costs the lab's single thread its share of CPU, and on two cores
that thread is the other half of every measurement.
"""

from __future__ import annotations

import asyncio
import errno
import select
import socket
from typing import Any, Awaitable, Callable

_CHUNK = 64 * 1024
_DEFAULT_LIMIT = 64 * 1024  # asyncio.StreamReader's default line limit
_MAX_WAITS = 100_000  # a wait ends on a readiness event; a peer cannot spin us past this


class BufferedReads:
    """``readexactly`` and ``readuntil`` over a stream's own ``read`` and its ``_buffer`` of bytes
    read ahead: what StreamReader offers, for the streams here that are not one."""

    _buffer: bytearray

    async def read(self, n: int = -1, timeout: float | None = None) -> bytes:
        raise NotImplementedError

    async def readexactly(self, n: int) -> bytes:
        """Exactly ``n`` bytes; ``IncompleteReadError`` (with what came) at EOF."""
        data = bytearray()
        for _ in range(_MAX_WAITS):
            if len(data) >= n:
                return bytes(data)
            chunk = await self.read(n - len(data))
            if not chunk:
                raise asyncio.IncompleteReadError(bytes(data), n)
            data += chunk
        raise ConnectionError("too many reads for one readexactly")  # pragma: no cover - bounded, not expected

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


class SocketStream(BufferedReads):
    """One connected, non-blocking TCP socket, read and written on the running event loop."""

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self._sock: socket.socket | None = sock
        self._loop = loop
        self._pending = bytearray()  # bytes written but not yet taken by the kernel
        self._buffer = bytearray()  # bytes read past a readuntil() separator
        # The wait in progress for each direction (a relay reads in one task while another
        # drains), with what unregisters it: see abort().
        self._waiting: dict[str, tuple[int, Callable[[int], bool], asyncio.Future[None]]] = {}

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

    async def read(self, n: int = -1, timeout: float | None = None) -> bytes:
        """Up to ``n`` bytes (a chunk when ``n`` < 0), as soon as any are there; ``b""`` at EOF.

        ``timeout`` bounds the waiting (TimeoutError), and is only armed if there is
        waiting to do: most reads of a short exchange find their bytes already there.
        """
        size = _CHUNK if n < 0 else n
        if self._buffer:
            data = bytes(self._buffer[:size])
            del self._buffer[:size]
            return data
        deadline: float | None = None
        for _ in range(_MAX_WAITS):
            sock = self._sock
            if sock is None:
                return b""  # aborted while we waited: asyncio's reader sees EOF then too
            try:
                return sock.recv(size)
            except (BlockingIOError, InterruptedError):
                if timeout is None:
                    await self._wait("read", self._loop.add_reader, self._loop.remove_reader)
                else:
                    if deadline is None:
                        deadline = self._loop.time() + timeout
                    async with asyncio.timeout_at(deadline):
                        await self._wait("read", self._loop.add_reader, self._loop.remove_reader)
        raise ConnectionError("the socket never became readable")  # pragma: no cover - bounded, not expected

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
        for _ in range(_MAX_WAITS):
            sock = self._open()  # closed, or aborted while we waited: ConnectionResetError, as asyncio's drain says
            if not self._pending:
                return
            try:
                sent = sock.send(self._pending)
            except (BlockingIOError, InterruptedError):
                await self._wait("write", self._loop.add_writer, self._loop.remove_writer)
                continue
            del self._pending[:sent]
        raise ConnectionError("the peer stopped reading")  # pragma: no cover - bounded, not expected

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        """Half-close: the peer reads EOF, we may still read (a tunnel passing on one side's end)."""
        sock = self._open()
        if self._pending:
            try:
                sent = sock.send(self._pending)
                del self._pending[:sent]
            except (BlockingIOError, InterruptedError):
                pass
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the peer is gone already

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
        """Close now, dropping unsent bytes; a read waiting on the socket then sees EOF, a drain a reset.

        The wait is unregistered *before* the socket closes: the kernel reuses descriptor
        numbers at once, and a registration left behind would belong to the next
        connection's socket (asyncio's transports take the same care).
        """
        sock, self._sock = self._sock, None
        self._pending.clear()
        waiting, self._waiting = self._waiting, {}
        for fd, remove, ready in waiting.values():
            remove(fd)
            if not ready.done():
                ready.set_result(None)
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

    async def _wait(self, direction: str, add: Callable[..., None], remove: Callable[[int], bool]) -> None:
        """Until the socket is ready (per ``add``) or the stream is aborted; one registration per direction.

        A second task waiting the same way (two writers draining) shares the first one's
        wait, as asyncio's streams let several drain at once; the caller then tries again.
        """
        sock = self._open()
        shared = self._waiting.get(direction)
        if shared is not None:
            await asyncio.shield(shared[2])
            return
        fd = sock.fileno()
        ready = self._loop.create_future()
        waiting = (fd, remove, ready)
        add(fd, _set_ready, ready)
        self._waiting[direction] = waiting
        try:
            await ready
        finally:
            if self._waiting.get(direction) is waiting:  # else abort() unregistered it; the number may be reused
                del self._waiting[direction]
                remove(fd)
            _set_ready(ready)  # a task sharing this wait tries again (registering its own, if need be)

    def _open(self) -> socket.socket:
        if self._sock is None:
            raise ConnectionResetError(errno.EBADF, "the connection is closed")
        return self._sock


async def open_connection(host: str, port: int) -> tuple[Any, Any]:
    """``asyncio.open_connection`` for probes and the lab: one :class:`SocketStream` as both reader
    and writer, or asyncio's own pair where the loop cannot wait on sockets (Windows' proactor)."""
    if not supported(asyncio.get_running_loop()):
        return await asyncio.open_connection(host, port)
    stream = await SocketStream.connect(host, port)
    return stream, stream


async def read_within(reader: Any, n: int, timeout: float) -> bytes:
    """``reader.read(n)`` bounded by ``timeout``: a SocketStream arms its timer only if it must wait."""
    if isinstance(reader, SocketStream):
        return await reader.read(n, timeout)
    async with asyncio.timeout(timeout):
        return await reader.read(n)


Handler = Callable[["SocketStream", "SocketStream"], Awaitable[None]]
_ACCEPTS_PER_WAKE = 64  # connections taken per readiness event, as asyncio's own accept loop does


class SocketServer:
    """Accepts on a listening socket and runs ``handler(stream, stream)`` for each connection, as a task.

    What ``asyncio.start_server`` does for the lab, minus the transport and protocol per
    connection. The handler owns its stream (and closes it) and its exceptions: the lab's
    handlers catch and log everything themselves, so one that escapes anyway is retrieved
    and dropped here rather than printed as "never retrieved" when the task is collected.
    """

    def __init__(self, sock: socket.socket, handler: Handler) -> None:
        self._sock: socket.socket | None = sock
        self._handler = handler
        self._loop = asyncio.get_running_loop()
        sock.setblocking(False)
        self._loop.add_reader(sock.fileno(), self._accept)

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return (self._sock,) if self._sock is not None else ()

    def _accept(self) -> None:
        listening = self._sock
        for _ in range(_ACCEPTS_PER_WAKE):
            if listening is None:
                return
            try:
                conn, _address = listening.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    # Out of descriptors or memory: pause a second rather than spin on a
                    # socket that stays readable (asyncio does the same).
                    self._loop.remove_reader(listening.fileno())
                    self._loop.call_later(1.0, self._resume)
                return
            try:
                conn.setblocking(False)
                # Responses are small records written at once: never hold one for a delayed ACK.
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                conn.close()
                continue
            stream = SocketStream(conn, self._loop)
            task = self._loop.create_task(self._handler(stream, stream))
            task.add_done_callback(_retrieved)

    def _resume(self) -> None:
        if self._sock is not None:
            self._loop.add_reader(self._sock.fileno(), self._accept)

    def close(self) -> None:
        """Stop accepting (connections already accepted go on until their handlers end)."""
        sock, self._sock = self._sock, None
        if sock is not None:
            self._loop.remove_reader(sock.fileno())
            sock.close()

    async def wait_closed(self) -> None:
        """Closing is immediate (:meth:`close`); here for the ``asyncio.Server`` API."""


async def serve(handler: Handler, sock: socket.socket, backlog: int = 100) -> "SocketServer | asyncio.Server":
    """Serve ``handler`` on the bound socket ``sock``: a :class:`SocketServer`, or ``asyncio.start_server``
    where the loop cannot wait on sockets."""
    if not supported(asyncio.get_running_loop()):
        return await asyncio.start_server(handler, sock=sock, backlog=backlog)  # type: ignore[arg-type]
    sock.listen(backlog)
    return SocketServer(sock, handler)


def _retrieved(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()  # seen: a handler's escaped error is not "never retrieved" noise


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
                await _connected_or_failed(loop, sock)
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


async def _connected_or_failed(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    """Until a connecting socket is writable (connected, or failed: SO_ERROR says which)."""
    ready: asyncio.Future[None] = loop.create_future()
    fd = sock.fileno()
    loop.add_writer(fd, _set_ready, ready)
    try:
        await ready
    finally:
        loop.remove_writer(fd)  # before the caller may close the socket


def _set_ready(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)

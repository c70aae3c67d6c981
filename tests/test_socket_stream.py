"""SocketStream: the probes' TCP connection, against real loopback peers (asyncio's own streams on the other end)."""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Awaitable, Callable

import pytest

from tlsdoctor.observe.route import Route, parse_target, open_stream
from tlsdoctor.socket_stream import SocketStream

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _with_peer(handler: Handler, test: Callable[[int], Awaitable[None]]) -> None:
    async def main() -> None:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        try:
            async with asyncio.timeout(10):
                await test(server.sockets[0].getsockname()[1])
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    for _ in range(10_000):
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


def test_bytes_go_both_ways_and_readuntil_keeps_what_follows() -> None:
    async def test(port: int) -> None:
        stream = await SocketStream.connect("127.0.0.1", port)
        stream.write(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody")
        await stream.drain()
        assert await stream.readuntil(b"\r\n\r\n") == b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n"
        assert await stream.read(100) == b"body"
        stream.close()
        assert stream.is_closing()

    _with_peer(_echo, test)


def test_a_name_is_resolved_as_asyncio_would() -> None:
    async def test(port: int) -> None:
        stream = await SocketStream.connect("localhost", port)
        assert stream.get_extra_info("peername")[1] == port
        stream.abort()

    _with_peer(_echo, test)


def test_drain_waits_for_a_slow_reader_and_sends_everything() -> None:
    received = bytearray()
    done = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.2)  # let the client's socket buffer fill
        for _ in range(100_000):
            data = await reader.read(65536)
            if not data:
                break
            received.extend(data)
        done.set()
        writer.close()

    payload = bytes(range(256)) * 32 * 1024  # 8 MiB: more than the kernel buffers hold

    async def test(port: int) -> None:
        stream = await SocketStream.connect("127.0.0.1", port)
        stream.write(payload)
        assert stream.get_write_buffer_size() > 0  # the kernel took only part of it
        await stream.drain()
        assert stream.get_write_buffer_size() == 0
        stream.get_extra_info("socket").shutdown(socket.SHUT_WR)
        await done.wait()
        stream.close()

    _with_peer(slow, test)
    assert bytes(received) == payload


def test_eof_reads_empty_and_readuntil_says_what_came() -> None:
    async def say_and_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200")
        await writer.drain()
        writer.close()

    async def test(port: int) -> None:
        stream = await SocketStream.connect("127.0.0.1", port)
        with pytest.raises(asyncio.IncompleteReadError) as caught:
            await stream.readuntil(b"\r\n\r\n")
        assert caught.value.partial == b"HTTP/1.1 200"
        assert await stream.read() == b""
        stream.close()

    _with_peer(say_and_close, test)


def test_readuntil_gives_up_past_its_limit() -> None:
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"x" * 5000)
        await writer.drain()
        await reader.read(1)
        writer.close()

    async def test(port: int) -> None:
        stream = await SocketStream.connect("127.0.0.1", port)
        with pytest.raises(asyncio.LimitOverrunError):
            for _ in range(10):
                await stream.readuntil(b"\r\n\r\n", limit=1000)
        stream.close()

    _with_peer(endless, test)


def test_a_reset_is_a_connection_reset_error() -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(10)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def test(port: int) -> None:
        stream = await SocketStream.connect("127.0.0.1", port)
        stream.write(b"hello")
        with pytest.raises(ConnectionResetError):
            for _ in range(10):
                if not await stream.read():
                    break
        stream.close()

    _with_peer(reset, test)


def test_a_refused_connect_is_connection_refused_in_asyncios_words() -> None:
    async def main() -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]  # bound, never listening: refused
            with pytest.raises(ConnectionRefusedError, match="Connect call failed"):
                await SocketStream.connect("127.0.0.1", port)

    asyncio.run(main())


def _answers(*steps: tuple[float, bytes]) -> Handler:
    """A peer that, for each (delay, bytes), waits and sends; then reads one byte and closes."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for delay, data in steps:
            await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
        await reader.read(1)
        writer.close()

    return handle


def test_a_cancelled_read_leaves_nothing_registered_and_the_stream_usable() -> None:
    late = _answers((0.3, b"late"))

    async def test(port: int) -> None:
        stream = await SocketStream.connect("127.0.0.1", port)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await stream.read()
        loop = asyncio.get_running_loop()
        assert not loop.remove_reader(stream.get_extra_info("socket").fileno())  # nothing was left behind
        assert await stream.read() == b"late"
        stream.close()

    _with_peer(late, test)


def test_a_closed_stream_refuses_work_and_closes_twice_quietly() -> None:
    async def test(port: int) -> None:
        stream = await SocketStream.connect("127.0.0.1", port)
        stream.abort()
        stream.close()
        await stream.wait_closed()
        with pytest.raises(ConnectionError):
            stream.write(b"x")
        with pytest.raises(ConnectionError):
            await stream.drain()
        assert await stream.read() == b""  # as asyncio's reader after connection_lost

    _with_peer(_echo, test)


def test_open_stream_gives_probes_a_socket_stream() -> None:
    # TLS, where a probe needs it on this stream, is stacked on it (observe/tls_layer.py).
    async def test(port: int) -> None:
        route = Route(parse_target(f"https://127.0.0.1:{port}/"), None)
        (reader, writer), answer = await open_stream(route, 2.0)
        assert isinstance(reader, SocketStream) and reader is writer and answer is None
        writer.close()

    _with_peer(_echo, test)


def test_an_abort_wakes_a_waiting_read_with_eof_and_leaves_no_registration_for_a_reused_descriptor() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.close()

    async def test(port: int) -> None:
        loop = asyncio.get_running_loop()
        stream = await SocketStream.connect("127.0.0.1", port)
        fd = stream.get_extra_info("socket").fileno()
        waiting = asyncio.ensure_future(stream.read())
        await asyncio.sleep(0.05)
        stream.abort()  # as the lab's watchdog evicts a stale connection
        assert await asyncio.wait_for(waiting, 1.0) == b""
        # The next connection gets the same descriptor number; it must wait and wake on its own.
        again = await SocketStream.connect("127.0.0.1", port)
        assert again.get_extra_info("socket").fileno() == fd
        assert not loop.remove_reader(fd)
        again.write(b"x")
        assert await asyncio.wait_for(again.read(), 2.0) == b""  # the peer read one byte and closed
        again.close()

    _with_peer(silent, test)


def test_two_drains_share_one_wait_and_both_end_when_the_peer_reads() -> None:
    received = bytearray()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.2)
        for _ in range(100_000):
            data = await reader.read(65536)
            if not data:
                break
            received.extend(data)
        writer.close()

    async def test(port: int) -> None:
        stream = await SocketStream.connect("127.0.0.1", port)
        stream.write(b"a" * (8 * 1024 * 1024))
        first = asyncio.ensure_future(stream.drain())
        stream.write(b"b" * 1024)
        second = asyncio.ensure_future(stream.drain())
        await asyncio.wait_for(asyncio.gather(first, second), 5.0)
        stream.get_extra_info("socket").shutdown(socket.SHUT_WR)
        for _ in range(500):
            if len(received) >= 8 * 1024 * 1024 + 1024:
                break
            await asyncio.sleep(0.01)
        stream.close()

    _with_peer(slow, test)
    assert bytes(received) == b"a" * (8 * 1024 * 1024) + b"b" * 1024


def test_a_read_and_a_drain_may_wait_at_once_and_an_abort_ends_both() -> None:
    async def never_reads(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(1.0)
        writer.close()

    async def test(port: int) -> None:
        stream = await SocketStream.connect("127.0.0.1", port)
        stream.write(b"x" * (16 * 1024 * 1024))
        reading = asyncio.ensure_future(stream.read())
        draining = asyncio.ensure_future(stream.drain())
        await asyncio.sleep(0.05)
        assert not reading.done() and not draining.done()
        stream.abort()
        assert await asyncio.wait_for(reading, 1.0) == b""
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(draining, 1.0)

    _with_peer(never_reads, test)


def test_read_within_times_out_on_silence_and_reads_what_is_there_without_waiting() -> None:
    from tlsdoctor.socket_stream import read_within

    later = _answers((0.0, b"now"), (0.5, b"later"))

    async def test(port: int) -> None:
        stream = await SocketStream.connect("127.0.0.1", port)
        assert await read_within(stream, 100, 1.0) == b"now"
        with pytest.raises(TimeoutError):
            await read_within(stream, 100, 0.05)
        assert await read_within(stream, 100, 2.0) == b"later"
        stream.close()
        (reader, writer) = await asyncio.open_connection("127.0.0.1", port)  # asyncio's own reader too
        assert await read_within(reader, 100, 1.0) == b"now"
        with pytest.raises(TimeoutError):
            await read_within(reader, 100, 0.05)
        writer.close()

    _with_peer(later, test)


def test_write_eof_half_closes() -> None:
    async def test(port: int) -> None:
        stream = await SocketStream.connect("127.0.0.1", port)
        assert stream.can_write_eof()
        stream.write(b"ping")
        stream.write_eof()  # the echo peer reads EOF, answers what it had, and closes
        got = b""
        for _ in range(10):
            chunk = await asyncio.wait_for(stream.read(), 2.0)
            if not chunk:
                break
            got += chunk
        assert got == b"ping"
        stream.close()

    _with_peer(_echo, test)

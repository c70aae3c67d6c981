"""``tlsdoctor.aio.run``: asyncio.run's contract without touching the SIGINT handler."""

from __future__ import annotations

import asyncio
import signal

import pytest

from tlsdoctor import aio


def test_it_returns_the_result_and_leaves_the_sigint_handler_alone() -> None:
    before = signal.getsignal(signal.SIGINT)

    async def main() -> int:
        assert signal.getsignal(signal.SIGINT) is before  # asyncio.run would have swapped it here
        await asyncio.sleep(0)
        return 42

    assert aio.run(main()) == 42
    assert signal.getsignal(signal.SIGINT) is before


def test_leftover_tasks_are_cancelled_and_the_loop_closed() -> None:
    seen: dict[str, object] = {}

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen["cancelled"] = True
            raise

    async def main() -> None:
        seen["task"] = asyncio.ensure_future(forever())
        seen["loop"] = asyncio.get_running_loop()
        await asyncio.sleep(0)

    aio.run(main())
    assert seen["cancelled"] is True
    assert seen["loop"].is_closed()  # type: ignore[attr-defined]


def test_an_exception_propagates_after_cleanup() -> None:
    async def main() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        aio.run(main())


def test_within_returns_in_time_and_raises_timeout_error_after_it() -> None:
    async def main() -> tuple[int, bool, bool]:
        async def late() -> int:
            await asyncio.sleep(5)
            return 1

        quick = await aio.within(asyncio.sleep(0, result=7), 1.0)
        task_count = len(asyncio.all_tasks())
        try:
            await aio.within(late(), 0.05)
        except TimeoutError:
            timed_out = True
        else:
            timed_out = False
        # no task of its own left behind (wait_for would have made one per call)
        return quick, timed_out, len(asyncio.all_tasks()) == task_count

    assert aio.run(main()) == (7, True, True)


def test_drained_waits_only_for_bytes_the_kernel_has_not_taken() -> None:
    async def main() -> tuple[bool, bool]:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
            writer.write(b"x")
            await aio.drained(writer, 1.0)  # a byte on loopback: taken at once, nothing to wait for
            empty = writer.transport.get_write_buffer_size() == 0
            writer.transport.abort()
            await asyncio.sleep(0)
            try:
                writer.write(b"y")
                await aio.drained(writer, 1.0)  # a dead connection still says so
            except (ConnectionError, OSError):
                failed = True
            else:
                failed = False
            return empty, failed
        finally:
            server.close()
            await server.wait_closed()

    assert aio.run(main()) == (True, True)

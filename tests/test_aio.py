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

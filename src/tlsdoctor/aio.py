"""Running asyncio work: a coroutine from synchronous code (:func:`run`), a blocking call from a coroutine (:func:`in_thread`).

:func:`run` is ``asyncio.run`` minus its signal dance.

``asyncio.run`` (through ``asyncio.Runner``) installs a SIGINT handler for the length of
the run and removes it after. Each ``signal.signal`` call turns the old handler into an
enum, and for a ``functools.partial`` that fails and builds an error message holding the
repr of the running task and its coroutine: ~1 ms each time, twice per run, measured in
``bench/diagnose_bench.py`` — a noticeable share of a 20 ms diagnosis. A diagnosis needs
no special Ctrl-C handling: KeyboardInterrupt ends it wherever it is, and the ``finally``
below still cancels what is left and closes the loop, as ``asyncio.run`` would.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import threading
from typing import Any, Awaitable, Callable, Coroutine, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on a new event loop and close the loop; leftover tasks are cancelled first."""
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            _cancel_leftovers(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


# The threads for blocking calls (libcurl's attempt, reading the OS store), kept for the
# process: asyncio's own executor belongs to one event loop, and each diagnose() runs a new
# loop, so every diagnosis paid for starting two threads and joining them again (~1-2 ms of
# a 10 ms diagnosis, in bench/diagnose_bench.py).
_POOL: concurrent.futures.ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _forget_pool() -> None:
    # A forked child (batch workers come from a fork server) inherits the pool's bookkeeping
    # but not its threads. The child starts its own.
    global _POOL
    _POOL = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on the process-wide thread pool, awaited (``asyncio.to_thread`` without a pool per loop)."""
    global _POOL
    if _POOL is None:
        with _POOL_LOCK:
            if _POOL is None:
                _POOL = concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="tlsdoctor-probe")
    return await asyncio.get_running_loop().run_in_executor(_POOL, functools.partial(fn, *args))


async def within(awaitable: Awaitable[T], timeout: float) -> T:
    """``await awaitable``, or TimeoutError after ``timeout`` seconds: ``asyncio.wait_for`` without its task.

    Python 3.11's ``wait_for`` wraps a coroutine in a new task, which costs a task object and
    a loop turn each time; a diagnosis awaits dozens of small reads and writes, so the probes
    use ``asyncio.timeout`` around the await instead (the same cancellation at the deadline,
    and the same TimeoutError, which is ``asyncio.TimeoutError`` since 3.11).
    """
    async with asyncio.timeout(timeout):
        return await awaitable


async def drained(writer: asyncio.StreamWriter, timeout: float) -> None:
    """``writer.drain()`` bounded by ``timeout``; nothing to await when the kernel took every byte.

    A connection error the transport already saw is raised as ``drain()`` would raise it.
    """
    transport = writer.transport
    if transport.get_write_buffer_size() == 0 and not transport.is_closing():
        return
    await within(writer.drain(), timeout)

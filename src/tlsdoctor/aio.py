"""Run a coroutine to completion from synchronous code, the way ``asyncio.run`` does, minus its signal dance.

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
from typing import Any, Coroutine, TypeVar

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

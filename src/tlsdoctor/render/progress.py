"""Progress for anything that can take more than a second: on standard error, only on a terminal.

    from tlsdoctor.render.progress import progress

    with progress("diagnosing", total=len(urls)) as bar:
        for url in urls:
            bar.note(f"{url}: waiting on the handshake (1.2 s)")   # what it waits on now
            ...
            bar.advance()

Standard output stays the result (a table, JSON, a body): progress never goes there, and
when standard error is not a terminal (CI logs, ``2>file``) nothing is shown at all. While a
bar is live, lines printed to standard output appear above it (rich redirects them) when
standard output is the same terminal; when it is piped, it is left alone.

The API is small on purpose — ``advance``, ``note``, and the context manager — so that
every command (batch, demo, check, torture, fleet) shows progress the same way.
"""

from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    """A live bar (with a count when ``total`` is known) and a one-line note, or nothing."""

    def __init__(self, description: str, total: int | None = None, *, enabled: bool | None = None,
                 stream: Any = None) -> None:
        self.description = description
        self.total = total
        self.stream = sys.stderr if stream is None else stream
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self.completed = 0
        self.started = time.monotonic()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> "Progress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            console = Console(file=self.stream)
            columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=24),
                                  MofNCompleteColumn(), TimeElapsedColumn(),
                                  TextColumn("[dim]{task.fields[note]}", markup=True)]
            self._bar = RichProgress(*columns, console=console, transient=True,
                                     redirect_stdout=_is_terminal(sys.stdout), redirect_stderr=False)
            self._task = self._bar.add_task(self.description, total=self.total, note="")
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def update(self, description: str | None = None, *, total: int | None = None) -> None:
        """A new phase (``starting the lab`` → ``diagnosing``), or the count once it is known."""
        if description is not None:
            self.description = description
        if total is not None:
            self.total = total
        if self._bar is not None:
            self._bar.update(self._task, description=self.description, total=self.total)

    def advance(self, n: int = 1) -> None:
        self.completed += n
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def note(self, text: str) -> None:
        """What is being waited on now (one line; cut to fit, never wrapped)."""
        if self._bar is not None:
            from rich.markup import escape

            width = max(10, self._bar.console.width - 60)
            text = " ".join(text.split())
            self._bar.update(self._task, note=escape(text if len(text) <= width else text[: width - 1] + "…"))


def progress(description: str, total: int | None = None, **options: Any) -> Progress:
    """A :class:`Progress` (a context manager); shown only when standard error is a terminal."""
    return Progress(description, total, **options)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False

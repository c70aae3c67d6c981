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
standard output is the same terminal; when it is piped, it is left alone. Lines written to ``sys.stderr`` meanwhile (a trail, a
warning) appear above the bar too.

The API is small on purpose — ``advance``, ``note``, and the context manager — so that
every command (batch, demo, check, torture, fleet) shows progress the same way.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable


class Progress:
    """A live bar (with a count when ``total`` is known) and a one-line note, or nothing."""

    def __init__(self, description: str, total: int | None = None, *, enabled: bool | None = None,
                 stream: Any = None, spinner_only: bool = False) -> None:
        self.description = description
        self.spinner_only = spinner_only  # one task of unknown length: no bar, no count
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
            columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
            if self.total is not None or not self.spinner_only:
                columns += [BarColumn(bar_width=24), MofNCompleteColumn()]
            columns += [TimeElapsedColumn(), _note_column()]
            self._bar = RichProgress(*columns, console=console, transient=True, expand=True,
                                     redirect_stdout=_is_terminal(sys.stdout), redirect_stderr=True)
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

    def note(self, text: str | Callable[[], str]) -> None:
        """What is being waited on now: a line, or a function asked at each refresh (for a live
        "waiting on the handshake, 2.1 s"). Cut to fit, never wrapped."""
        if self._bar is not None:
            self._bar.update(self._task, note=text)


def _note_column() -> Any:
    """The note, evaluated at each refresh when it is a function; cut to what is left of the line."""
    from rich.progress import ProgressColumn
    from rich.table import Column
    from rich.text import Text

    class NoteColumn(ProgressColumn):
        def __init__(self) -> None:
            super().__init__(table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1))

        def render(self, task: Any) -> Text:
            note = task.fields.get("note", "")
            return Text(" ".join(str(note() if callable(note) else note).split()), style="dim",
                        overflow="ellipsis", no_wrap=True)

    return NoteColumn()


def progress(description: str, total: int | None = None, **options: Any) -> Progress:
    """A :class:`Progress` (a context manager); shown only when standard error is a terminal."""
    return Progress(description, total, **options)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False

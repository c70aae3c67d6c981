"""The consoles tlsdoctor prints through: standard output for results, standard error for progress.

Kept apart from the renderers so that a command imports rich and nothing else to print
(``render/lab.py`` used to be imported for this, and brought the whole lab with it).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console


def make_console(*, stderr: bool = False) -> "Console":
    """A console for results: the terminal's width (or ``COLUMNS``), colour unless ``NO_COLOR``.

    When the output is piped, nothing is padded or hard-wrapped (``soft_wrap``): a line is
    as long as its text, so that ``grep`` and ``cut`` see whole records; tables switch to
    tab-separated values (:mod:`tlsdoctor.render.table`).
    """
    from rich.console import Console

    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, soft_wrap=True, width=100_000 if "COLUMNS" not in _environ() else None)
    return console


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


class PlainConsole:
    """Standard output for a pipe, without rich: the text of each line, nothing else.

    What a rich console prints when piped (no colour, no wrapping: see :func:`make_console`),
    for renderers that print (text, style) segments (:func:`tlsdoctor.render.diagnosis.print_diagnosis`):
    importing rich costs ~40 ms, a fifth of a whole ``tlsdoctor diagnose`` that prints
    a few lines into a script.
    """

    is_terminal = False

    def __init__(self, file: TextIO | None = None) -> None:
        self.file = file if file is not None else sys.stdout

    def print_text(self, text: str) -> None:
        self.file.write(text + "\n")


def output_is_terminal() -> bool:
    """Would rich treat standard output as a terminal? Its rules, without importing it."""
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    force = os.environ.get("FORCE_COLOR")
    if force is not None:
        return force != ""
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def console_for_segments() -> "Console | PlainConsole":
    """The console for a renderer that prints segments: rich on a terminal, plain text in a pipe."""
    return make_console() if output_is_terminal() else PlainConsole()

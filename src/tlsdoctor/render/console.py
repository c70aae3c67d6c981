"""The consoles tlsdoctor prints through: standard output for results, standard error for progress.

Kept apart from the renderers so that a command imports rich and nothing else to print
(``render/lab.py`` used to be imported for this, and brought the whole lab with it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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

"""Tables that fit: every tlsdoctor table goes through here.

Rich shrinks a table that is too wide by squeezing every column, which truncates short
codes to ``rig…`` and collapses narrow columns to nothing (issue 10, measured at 80 and
120 columns). Here each column says how it may give way instead:

- a *code* column (``wrap=False``: scenario ids, finding codes, curl codes) is never cut;
- a *text* column (``wrap=True``: summaries, URLs) wraps, down to a readable minimum;
- a column with ``priority > 0`` may be dropped, highest number first, when the kept
  ones do not fit; ``priority == 0`` columns (the verdict and its summary) always stay;
- when even those do not fit, each row is *stacked*: its key cells on one line, the rest
  as ``header: value`` lines below.

When the output is not a terminal, a table is tab-separated values: a header line, then one
line per row, no padding, no wrapping, no colour — what ``cut``, ``grep`` and spreadsheets
read. (``--json`` is there for programs that want types.)

Rows can be printed as they arrive (:meth:`FitTable.stream`), with the layout fixed from
the columns' width hints, for batches that must not keep every row in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence, Union

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

Cell = Union[str, "Text", None]

_GAP = 3  # box.SIMPLE_HEAD without edges: one padding space, a blank divider, one padding space
_READABLE = 24  # a wrapped text column keeps at least this many columns (or its whole text)...
_COMFORTABLE = 36  # ...and optional columns are dropped before text gets narrower than this


@dataclass(frozen=True)
class Column:
    header: str
    wrap: bool = False  # free text that may wrap; a code column (False) is never cut
    priority: int = 0  # 0: always shown; higher numbers are dropped first when space runs out
    justify: str = "left"
    hint: int = 0  # expected width, for streamed tables whose rows are not known in advance


def clean(text: str) -> str:
    """One line of printable text: escape sequences and control characters removed (tlsdoctor.redact)."""
    if text.isprintable():
        return text
    from tlsdoctor.redact import printable

    return printable(text, keep_newlines=False)


def _text(cell: Cell) -> "Text":
    from rich.text import Text

    if cell is None:
        return Text("")
    if isinstance(cell, str):
        return Text(clean(cell))
    if cell.plain.isprintable():
        return cell
    return Text(clean(cell.plain), style=cell.style)  # escapes removed: the spans would no longer line up


def styled(text: str, style: str) -> "Text":
    """A cell in a colour (green for right, red for wrong...); dropped when output is piped or NO_COLOR."""
    from rich.text import Text

    return Text(clean(text), style=style)


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


@dataclass(frozen=True)
class Layout:
    """Which columns are shown, how wide; or ``stacked`` when even the essential ones do not fit."""

    shown: tuple[int, ...]
    widths: tuple[int, ...]
    stacked: bool = False


def fit(columns: Sequence[Column], natural: Sequence[int], longest_word: Sequence[int], width: int) -> Layout:
    """Choose columns and widths for ``width`` terminal columns (the pure part, tested on its own).

    Optional columns are dropped (highest priority number first) until every text column
    can keep a comfortable width; if the essential ones still do not fit, text columns may
    go down to a readable minimum; below that, rows are stacked.
    """
    minimum = [
        max(1, min(n, max(min(w, _READABLE), 8))) if c.wrap else max(1, n)
        for c, n, w in zip(columns, natural, longest_word)
    ]
    comfortable = [min(n, max(m, _COMFORTABLE)) if c.wrap else n for c, n, m in zip(columns, natural, minimum)]
    shown = list(range(len(columns)))

    def needed(indices: list[int], widths: Sequence[int]) -> int:
        return sum(widths[i] for i in indices) + _GAP * (len(indices) - 1)

    droppable = sorted((i for i, c in enumerate(columns) if c.priority > 0),
                       key=lambda i: (-columns[i].priority, -i))
    dropped = []
    while needed(shown, comfortable) > width and droppable:
        dropped.append(droppable.pop(0))
        shown.remove(dropped[-1])
    for i in reversed(dropped[:-1]):  # a small column dropped early may fit beside what is left
        if needed(sorted([*shown, i]), comfortable) <= width:
            shown = sorted([*shown, i])
    floor = comfortable if needed(shown, comfortable) <= width else minimum
    if needed(shown, floor) > width:
        essential = [i for i in shown if columns[i].priority == 0]
        return Layout(tuple(essential), tuple(natural[i] for i in essential), stacked=True)
    widths = {i: natural[i] for i in shown}
    excess = needed(shown, natural) - width
    while excess > 0:  # take from the widest text column still above its floor, down to the next widest
        i = max((i for i in shown if columns[i].wrap and widths[i] > floor[i]), key=lambda i: widths[i])
        next_widest = max((widths[j] for j in shown if j != i and columns[j].wrap and widths[j] > floor[j]),
                          default=floor[i])
        take = min(excess, widths[i] - floor[i], max(1, widths[i] - next_widest))
        widths[i] -= take
        excess -= take
    return Layout(tuple(shown), tuple(widths[i] for i in shown))


class FitTable:
    """A table that fits its console: see the module's docstring."""

    def __init__(self, columns: Sequence[Column], *, title: str | None = None) -> None:
        self.columns = tuple(columns)
        self.title = title
        self.rows: list[tuple["Text", ...]] = []

    def add_row(self, *cells: Cell) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(tuple(_text(c) for c in cells))

    def print(self, console: "Console") -> None:
        if not console.is_terminal:
            self._print_tsv(console, [c.header for c in self.columns])
            for row in self.rows:
                self._print_tsv(console, [t.plain for t in row])
            return
        natural = [max([len(c.header)] + [t.cell_len for t in (row[i] for row in self.rows)])
                   for i, c in enumerate(self.columns)]
        words = [max([0] + [_longest_word(row[i].plain) for row in self.rows]) for i in range(len(self.columns))]
        layout = fit(self.columns, natural, words, console.width)
        if self.title:
            console.print(self.title, style="bold", markup=False, highlight=False)
        if layout.stacked:
            for row in self.rows:
                self._print_stacked(console, layout, row)
            return
        table = self._rich_table(layout, show_header=True)
        for row in self.rows:
            table.add_row(*(row[i] for i in layout.shown))
        console.print(table)

    def stream(self, console: "Console", total_hint: int | None = None) -> "TableStream":
        """Print rows as they come (each row at once), with widths fixed from the columns' hints."""
        return TableStream(self, console)

    # -- pieces ---------------------------------------------------------------------------------

    def _rich_table(self, layout: Layout, *, show_header: bool) -> object:
        from rich import box
        from rich.table import Table

        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, show_header=show_header,
                      header_style="bold")
        for i, width in zip(layout.shown, layout.widths):
            c = self.columns[i]
            table.add_column(c.header, width=width, no_wrap=not c.wrap, overflow="fold",
                             justify=c.justify)  # type: ignore[arg-type]
        return table

    def _print_stacked(self, console: "Console", layout: Layout, row: tuple["Text", ...]) -> None:
        """One row as a block: key cells on a line, the small ones after, then each text indented."""
        from rich.padding import Padding
        from rich.text import Text

        codes = [i for i, c in enumerate(self.columns) if not c.wrap and row[i].plain]
        key = [i for i in codes if i in layout.shown]
        rest = [Text.assemble((f"{self.columns[i].header} ", "dim"), row[i]) if self.columns[i].header else row[i]
                for i in codes if i not in key]
        lines = [Text("  ").join(row[i] for i in key)]
        if rest:
            lines.append(Text(" · ").join(rest))
        for i, column in enumerate(self.columns):
            if column.wrap and row[i].plain:
                label = column.priority > 0 and column.header
                lines.append(Text.assemble((f"{column.header}: ", "dim"), row[i]) if label else row[i])
        for n, line in enumerate(lines):
            if line.plain:
                console.print(Padding(line, (0, 0, 0, 2 if n else 0)), overflow="fold")

    @staticmethod
    def _print_tsv(console: "Console", cells: Iterable[str]) -> None:
        # Written as is: rich would expand the tabs into spaces.
        console.file.write("\t".join(clean(c) for c in cells) + "\n")


class TableStream:
    """Rows printed one at a time in a fixed layout (terminal) or as TSV lines (piped)."""

    def __init__(self, table: FitTable, console: "Console") -> None:
        self.table, self.console = table, console
        self.count = 0
        columns = table.columns
        if console.is_terminal:
            natural = [max(len(c.header), c.hint) for c in columns]
            self.layout = fit(columns, natural, [min(n, _READABLE) for n in natural], console.width)
            if table.title:
                console.print(table.title, style="bold", markup=False, highlight=False)
            if not self.layout.stacked:
                header = table._rich_table(self.layout, show_header=True)
                console.print(header)  # a header and its rule, no rows yet
        else:
            table._print_tsv(console, [c.header for c in columns])

    def add_row(self, *cells: Cell) -> None:
        row = tuple(_text(c) for c in cells)
        self.count += 1
        if not self.console.is_terminal:
            self.table._print_tsv(self.console, [t.plain for t in row])
        elif self.layout.stacked:
            self.table._print_stacked(self.console, self.layout, row)
        else:
            one = self.table._rich_table(self.layout, show_header=False)
            one.add_row(*(row[i] for i in self.layout.shown))  # type: ignore[attr-defined]
            self.console.print(one)

"""What every ``tlsdoctor`` command shares: one voice for errors, help and exit codes.

A command module (``tlsdoctor/cli/<name>.py``) declares a :class:`Command` named
``COMMAND`` and a ``run(args) -> int``; :mod:`tlsdoctor.cli` registers it with one line.
Every error a user can cause becomes :class:`UsageError`, printed as one line
``tlsdoctor <command>: ...`` with exit status 2; help screens show every option's
default and list the command's exit codes (git's and curl's man pages do the same: a
script author reads them there, not in the source).

This module imports nothing heavy: ``tlsdoctor --version`` builds the whole parser.
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # typing and dataclasses cost ~15 ms of a 40 ms `tlsdoctor --version`
if TYPE_CHECKING:
    from typing import Any, Callable, NoReturn, TypeVar

    Result = TypeVar("Result")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

#: The exit codes every command shares; a command adds its own meaning of 0 and 1.
COMMON_EXIT_CODES = {
    EXIT_USAGE: "bad usage or input (one line on standard error)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}


class QuickExit:
    """Whether the program may end with ``os._exit`` once its command returned.

    An interpreter's orderly shutdown after a diagnosis is ~15 ms on this kind of machine
    (tearing down ~300 modules, joining idle pool threads), a twentieth of a whole
    ``tlsdoctor diagnose`` (issue 9). A command whose process holds nothing that shutdown
    must tidy (no child processes, no atexit work, no temporary files, output written)
    says so with :meth:`allow`; :func:`tlsdoctor.cli.main` then flushes the standard
    streams and ends the process. Only as the program: a caller's process lives on.
    """

    allowed = False

    @classmethod
    def allow(cls) -> None:
        cls.allowed = True


class UsageError(Exception):
    """Bad input: reported as one line ``tlsdoctor <command>: ...`` and exit status 2."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's help, with every meaningful default shown and the epilog kept as written."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        # argparse makes a formatter for every add_argument (to check the metavar), and its
        # default width asks shutil.get_terminal_size: importing shutil (bz2, lzma, fnmatch)
        # was ~5 ms of every command, --help or not. The same answer, without shutil.
        if width is None:
            width = _terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        shown = default not in (None, False, True, argparse.SUPPRESS, [], ())
        optional = action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE)
        if shown and optional and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``: $COLUMNS, else standard output's terminal, else 80."""
    import os
    import sys

    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, prefixed with the command's own name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage dump
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


class Command:
    """A subcommand: its name, one-line help, how to add its options, what its exit codes mean."""

    __slots__ = ("name", "help", "configure", "exit_codes", "description")

    def __init__(self, name: str, help: str, configure: Callable[[argparse.ArgumentParser], None],
                 exit_codes: dict[int, str] | None = None, description: str = "") -> None:
        self.name, self.help, self.configure = name, help, configure
        self.exit_codes = dict(exit_codes or {})
        self.description = description


def exit_codes_epilog(codes: dict[int, str]) -> str:
    merged = {**codes, **{k: v for k, v in COMMON_EXIT_CODES.items() if k not in codes}}
    width = max(len(str(c)) for c in merged)
    return "exit status:\n" + "\n".join(f"  {str(c).rjust(width)}  {merged[c]}" for c in sorted(merged))


def add_command(subparsers: Any, command: Command) -> argparse.ArgumentParser:
    """Add ``command`` under ``subparsers`` with the shared formatter, error voice and epilog."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        command.name,
        help=command.help,
        description=command.description or command.help[:1].upper() + command.help[1:] + ".",
        epilog=exit_codes_epilog(command.exit_codes),
        formatter_class=HelpFormatter,
    )
    parser.set_defaults(command_prog=parser.prog)  # the deepest command names itself in errors
    command.configure(parser)
    return parser


def subcommands(parser: argparse.ArgumentParser, dest: str) -> Any:
    """A subparsers group whose parsers speak with the shared voice (for commands with verbs)."""
    return parser.add_subparsers(dest=dest, required=True, parser_class=Parser, metavar=dest.upper())


def positive_float(text: str) -> float:
    """An argparse type: a number of seconds greater than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number greater than zero."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


def scenario_ids(only: list[str] | None) -> list[str] | None:
    """Validate ``--only`` scenario ids against the catalogue (a typo is a usage error)."""
    if only is None:
        return None
    from tlsdoctor.lab.scenarios import SCENARIOS

    unknown = [i for i in only if i not in SCENARIOS]
    if unknown:
        raise UsageError(f"unknown lab scenario {unknown[0]!r} (see tlsdoctor catalogue)")
    return only


def add_only(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--only", nargs="+", metavar="ID",
                        help=f"{what} only these scenarios (ids from `tlsdoctor catalogue`; default: all)")


def print_result(result: Result, as_json: bool, to_json: Callable[[Result], str],
                 to_console: Callable[[Result, Any], None], *, segments: bool = False) -> None:
    """A command's result on standard output: its JSON document with ``--json`` (for scripts),
    otherwise the rendering for a person, on a console that fits the terminal. ``segments``:
    the renderer also prints on a :class:`~tlsdoctor.render.console.PlainConsole`, so a pipe
    needs no rich."""
    if as_json:
        print(to_json(result))
        return
    from tlsdoctor.render.console import console_for_segments, make_console

    to_console(result, console_for_segments() if segments else make_console())


def add_json(parser: argparse.ArgumentParser, schema: str) -> None:
    parser.add_argument("--json", action="store_true",
                        help=f"print JSON ({schema}, docs/spec/diagnosis-json.md) instead of a table")

"""The ``tlsdoctor`` command. Thin on purpose: parse, call the library, render, exit.

One module per command (``tlsdoctor/cli/<name>.py``: a ``COMMAND`` and a ``run``); adding
a command is that module plus one line in :data:`COMMANDS`. A command module imports
its heavy dependencies inside ``run``, so that parsing (and ``tlsdoctor --version``)
stays cheap.

Exit codes: 0 success, 1 a check or diagnosis found a failure, 2 usage or input error
(always one line ``tlsdoctor <command>: ...`` on standard error, never a traceback),
130 interrupted.
"""

from __future__ import annotations

import importlib
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Sequence

from tlsdoctor import __version__

if TYPE_CHECKING:
    from tlsdoctor.cli.common import Parser

#: The registered commands, in the order ``tlsdoctor --help`` lists them.
COMMANDS = (
    "diagnose",
    "explain",
    "get",
    "lab",
    "catalogue",
    "demo",
    "check",
    "rollout",
    "torture",
    "fleet",
)


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"tlsdoctor.cli.{name}")


def build_parser(only: str | None = None) -> Parser:
    """The whole command tree, or with ``only`` the tree with that one command in it.

    ``tlsdoctor diagnose URL`` needs the diagnose command's options and nothing else; importing
    and configuring the other nine command modules was ~10 ms of every run (issue 9). The help
    and errors of a command are the same either way: its parser is built the same.
    """
    from tlsdoctor.cli.common import Parser, add_command

    parser = Parser(prog="tlsdoctor", description="Diagnose, reproduce and survive HTTPS failures.",
                    epilog="`tlsdoctor COMMAND --help` describes each command, its options and exit codes.")
    parser.add_argument("--version", action="version", version=f"tlsdoctor {__version__}",
                        help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser, metavar="COMMAND")
    for name in (only,) if only in COMMANDS else COMMANDS:
        add_command(commands, _module(name).COMMAND)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    as_program = argv is None
    code = None
    try:
        code = _main(list(sys.argv[1:] if argv is None else argv))
        return code
    finally:
        if as_program:
            # The process ends next, and the interpreter's last garbage collection would walk
            # every object the run made: 100-300 ms after a diagnosis (bench/diagnose_bench.py),
            # for cycles nobody will use. Frozen objects are skipped; memory goes back to the
            # system at exit all the same. (Only as the program: a caller's process lives on.)
            import gc

            gc.freeze()
            if code is not None:
                _quick_exit(code)


def _quick_exit(code: int) -> None:
    """End the process now if the command allowed it (:class:`~tlsdoctor.cli.common.QuickExit`)."""
    common = sys.modules.get("tlsdoctor.cli.common")
    if common is None or not common.QuickExit.allowed:
        return
    import os

    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # the reader left, or a stream was closed: nothing more to say
        pass
    os._exit(code)


def _main(argv: list[str]) -> int:
    if argv == ["--version"]:  # the one answer that needs no parser (and no argparse import)
        print(f"tlsdoctor {__version__}")
        return 0
    from tlsdoctor.cli.common import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError
    command = next((f"tlsdoctor {a}" for a in argv if a in COMMANDS), "tlsdoctor")
    try:
        # The command comes first (the top level has only --help and --version), so a run
        # names it in argv[0]; anything else (`tlsdoctor --help`, a typo) gets the whole tree.
        args, extra = build_parser(only=argv[0] if argv else None).parse_known_args(argv)
        command = args.command_prog
        if extra:  # argparse would blame the top-level parser; the command is the one that refused them
            raise UsageError(f"{command}: unrecognized arguments: {' '.join(extra)} (see {command} --help)")
        return int(_module(args.command).run(args))
    except UsageError as exc:
        message = str(exc)
        if not message.startswith("tlsdoctor"):
            message = f"{command}: {message}"
        print(" ".join(message.split()), file=sys.stderr)  # one line, whatever the message held
        return EXIT_USAGE
    except SystemExit as exc:  # argparse's --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `tlsdoctor ... | head`: the reader left; not an error of ours
        _silence_stdout()
        return EXIT_OK


def _silence_stdout() -> None:
    # Python would report the broken pipe again when it flushes stdout at exit.
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


__all__ = ["COMMANDS", "build_parser", "main"]

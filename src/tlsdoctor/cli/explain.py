"""``tlsdoctor explain``: rank root causes from an error text you already have."""

from __future__ import annotations

import argparse
import sys

from tlsdoctor.cli.common import EXIT_FAILED, EXIT_OK, Command, UsageError, print_result

INPUT_LIMIT = 4 * 1024 * 1024  # bytes read; a pasted transcript is kilobytes


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", default="-",
                        help="a file with curl -v output, a traceback, an error line or a JSON event (- = stdin)")
    parser.add_argument("--json", action="store_true",
                        help="print tlsdoctor.explanation/1 JSON (docs/spec/diagnosis-json.md)")


COMMAND = Command(
    "explain", "rank root causes from an error text you already have", configure,
    {EXIT_OK: "the text was read and at least one cause found",
     EXIT_FAILED: "nothing in the text was recognised (the output says what to collect)"},
)


def run(args: argparse.Namespace) -> int:
    from tlsdoctor.explain import explain
    from tlsdoctor.render.explanation import explanation_json, print_explanation

    try:
        if args.file == "-":
            if sys.stdin.isatty():  # a person at a terminal: say what is expected, not silence
                print("Paste the error text, then press Ctrl-D (Ctrl-Z then Enter on Windows).", file=sys.stderr)
            data = sys.stdin.buffer.read(INPUT_LIMIT)
        else:
            with open(args.file, "rb") as handle:
                data = handle.read(INPUT_LIMIT)
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    explanation = explain(data.decode("utf-8", errors="replace"))
    print_result(explanation, args.json, explanation_json, print_explanation)
    return EXIT_OK if explanation.candidates else EXIT_FAILED

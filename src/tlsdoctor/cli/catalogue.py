"""``tlsdoctor catalogue``: the lab's scenarios, without starting anything."""

from __future__ import annotations

import argparse

from tlsdoctor.cli.common import EXIT_OK, Command


def configure(parser: argparse.ArgumentParser) -> None:
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true",
                     help="print JSON (tlsdoctor.catalogue/1, docs/spec/diagnosis-json.md)")
    fmt.add_argument("--markdown", action="store_true", help="print the Markdown table the README embeds (the default, for now)")


COMMAND = Command(
    "catalogue", "list the lab's scenarios without starting anything", configure,
    {EXIT_OK: "the catalogue was printed"},
)


def run(args: argparse.Namespace) -> int:
    from tlsdoctor.lab.scenarios import CATALOGUE
    from tlsdoctor.render.lab import catalogue_json, catalogue_markdown

    if args.json:
        print(catalogue_json(CATALOGUE))
    else:
        print(catalogue_markdown(CATALOGUE), end="")
    return EXIT_OK

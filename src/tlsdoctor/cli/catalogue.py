"""``tlsdoctor catalogue``: the lab's scenarios, without starting anything."""

from __future__ import annotations

import argparse

from tlsdoctor.cli.common import EXIT_OK, Command


def configure(parser: argparse.ArgumentParser) -> None:
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true",
                     help="print JSON (tlsdoctor.catalogue/1, docs/spec/diagnosis-json.md)")
    fmt.add_argument("--markdown", action="store_true", help="print the Markdown table the README embeds")


COMMAND = Command(
    "catalogue", "list the lab's scenarios without starting anything", configure,
    {EXIT_OK: "the catalogue was printed"},
)


def run(args: argparse.Namespace) -> int:
    from tlsdoctor.lab.scenarios import CATALOGUE
    from tlsdoctor.render.console import make_console
    from tlsdoctor.render.lab import catalogue_json, catalogue_markdown, catalogue_table

    if args.json:
        print(catalogue_json(CATALOGUE))
    elif args.markdown:
        print(catalogue_markdown(CATALOGUE), end="")
    else:
        catalogue_table(CATALOGUE, make_console())
    return EXIT_OK

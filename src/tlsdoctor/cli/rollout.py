"""``tlsdoctor rollout make|check``: write or check a GrowthBook rollout payload before publishing it."""

from __future__ import annotations

import argparse

from tlsdoctor.cli.common import EXIT_FAILED, EXIT_OK, Command, UsageError, add_command, positive_int, subcommands


def _coverage(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return value


def _configure_make(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("coverage", type=_coverage, help="share of installs on curl, 0..1")
    parser.add_argument("--kill-switch", action="store_true", help="force every install back to the native stack")
    parser.add_argument("--seed", help="the hash seed (default: a fresh random seed)")
    parser.add_argument("--feature", default="http-stack", help="the GrowthBook feature key")


def _configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the payload file to check")
    parser.add_argument("--feature", default="http-stack", help="the GrowthBook feature key")
    parser.add_argument("--sample", type=positive_int, default=100_000, help="random install ids to evaluate")


MAKE = Command("make", "print a rollout payload (JSON) for a share of installs", _configure_make,
               {EXIT_OK: "the payload was printed"})
CHECK = Command("check", "check a payload file as installs would, and the share it puts on curl", _configure_check,
                {EXIT_OK: "installs would accept the payload", EXIT_FAILED: "installs would refuse it (says why)"})


def configure(parser: argparse.ArgumentParser) -> None:
    verbs = subcommands(parser, "verb")
    add_command(verbs, MAKE)
    add_command(verbs, CHECK)


COMMAND = Command(
    "rollout", "make or check a GrowthBook rollout payload for the client", configure,
    {EXIT_OK: "see the verb's --help", EXIT_FAILED: "check: installs would refuse the payload"},
    description="Make or check the GrowthBook payload that tlsdoctor.client's rollout reads "
                "(docs/rollout.md).",
)


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from tlsdoctor.client import rollout

    if args.verb == "make":
        try:
            doc = rollout.rollout_payload(args.coverage, feature=args.feature, kill_switch=args.kill_switch,
                                          seed=args.seed)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    try:
        with open(args.file, "rb") as handle:
            raw = handle.read(rollout.MAX_PAYLOAD_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    try:
        if len(raw) > rollout.MAX_PAYLOAD_BYTES:
            raise rollout.PayloadError(f"payload larger than {rollout.MAX_PAYLOAD_BYTES} bytes")
        doc = json.loads(raw)
        rollout.check_payload(doc, args.feature)
    except ValueError as exc:  # PayloadError and JSONDecodeError are ValueErrors
        print(f"tlsdoctor rollout check: refused: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_FAILED
    on_curl = sum(rollout.evaluate(doc, args.feature, _install_id()).value == "curl" for _ in range(args.sample))
    print(f"ok: {on_curl / args.sample:.2%} of {args.sample} random installs on curl")
    return EXIT_OK


def _install_id() -> str:
    import secrets

    return secrets.token_hex(16)

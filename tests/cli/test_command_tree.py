"""Every command speaks one way: the whole command tree walked, each node checked.

For every parser reachable from ``tlsdoctor`` (commands and their verbs, recursively):
``--help`` exits 0 and lists the exit codes; every option and argument has help text;
and a bad option is refused with exactly one line ``tlsdoctor <command>: ...`` and exit 2.
The tree is read from the parser itself, so a command added tomorrow is checked too.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tlsdoctor.cli import COMMANDS, build_parser, main


def _children(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _tree(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for name, child in _children(parser):
        yield from _tree(child, (*path, name))


TREE = list(_tree(build_parser()))
PATHS = [path for path, _ in TREE]


def test_the_tree_holds_every_registered_command_and_the_rollout_verbs() -> None:
    assert {p[0] for p in PATHS if p} == set(COMMANDS)
    assert ("rollout", "make") in PATHS and ("rollout", "check") in PATHS


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "tlsdoctor")
def test_help_exits_0_and_lists_exit_codes(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: {' '.join(('tlsdoctor', *path))}")
    if path:  # every command; the top level points at them
        assert "exit status:" in out
        codes = re.findall(r"^\s+(\d+)\s+\S", out.split("exit status:", 1)[1], re.M)
        assert {"0", "2"} <= set(codes), out


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "tlsdoctor")
def test_every_option_and_argument_is_described(path: tuple[str, ...]) -> None:
    parser = dict(TREE)[path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help, f"{' '.join(path)} {choice.dest}: no help"
            continue
        assert action.help and action.help.strip(), f"{' '.join(path)} {action.option_strings or action.dest}: no help"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "tlsdoctor")
def test_a_bad_option_is_one_line_naming_the_command_and_exit_2(
        path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path, "--no-such-option"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"{' '.join(('tlsdoctor', *path[:1]))}"), lines[0]
    assert "Traceback" not in captured.err


def test_defaults_are_shown_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    main(["get", "--help"])
    assert re.search(r"--timeout S\s+.*\(default: 30(\.0)?\)", " ".join(capsys.readouterr().out.split()))
    main(["diagnose", "--help"])
    assert "(default: 5.0)" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["rollout"], "tlsdoctor rollout: "),
    (["rollout", "check", "/nonexistent/payload.json"], "tlsdoctor rollout check: cannot read"),
    (["rollout", "make", "2"], "tlsdoctor rollout make: "),
    (["diagnose"], "tlsdoctor diagnose: give one URL"),
    (["diagnose", "--timeout", "0", "https://x.test/"], "tlsdoctor diagnose: "),
    (["diagnose", "--batch", "/nonexistent/urls.txt"], "tlsdoctor diagnose: cannot read"),
    (["explain", "/nonexistent/error.txt"], "tlsdoctor explain: cannot read"),
    (["lab", "--only", "no-such-scenario"], "tlsdoctor lab: unknown lab scenario"),
    (["demo", "--only", "no-such-scenario"], "tlsdoctor demo: unknown lab scenario"),
    (["check", "--only", "no-such-scenario"], "tlsdoctor check: unknown lab scenario"),
    (["lab", "--duration", "-1"], "tlsdoctor lab: "),
    (["get", "ftp://x.test/"], "tlsdoctor get: malformed URL 'ftp://x.test/': not an http(s) URL"),
    (["get", "https://x.test/", "--ca-bundle", "/nonexistent/ca.pem"], "tlsdoctor get: cannot read CA file"),
    (["nonsense"], "tlsdoctor: "),
])
def test_input_errors_are_one_line_exit_2(argv: list[str], message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(message), err


def test_get_refuses_a_ca_file_openssl_cannot_read_and_says_what_it_is(
        tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ca.pem"
    path.write_bytes("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".encode("utf-16"))
    assert main(["get", "https://x.test/", "--ca-bundle", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"tlsdoctor get: CA file {path} is not usable: not PEM: UTF-16"), err


def test_the_console_script_speaks_the_same_way_as_a_process() -> None:
    done = subprocess.run([sys.executable, "-m", "tlsdoctor", "rollout", "check", "/nonexistent"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["tlsdoctor rollout check: cannot read /nonexistent: No such file or directory"]
    done = subprocess.run([sys.executable, "-m", "tlsdoctor", "rollout", "--help"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "make" in done.stdout and "check" in done.stdout


def test_parsing_imports_nothing_heavy() -> None:
    # `tlsdoctor --help` builds every command's parser: none may import its implementation.
    code = ("import sys; from tlsdoctor.cli import build_parser; build_parser(); "
            "heavy = [m for m in ('rich', 'cryptography', 'httpx', 'pycurl', 'asyncio', 'tlsdoctor.lab', "
            "'tlsdoctor.diagnosis', 'tlsdoctor.client.client') if m in sys.modules]; print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"

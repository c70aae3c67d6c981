"""The attack catalogue: stable ids, complete entries, and the README generated from it."""

from __future__ import annotations

import re
from pathlib import Path

from tlsdoctor.torture import ATTACKS, BUGS, BugClass
from tlsdoctor.torture.catalogue import markdown_table

README = Path(__file__).resolve().parents[2] / "README.md"

# The list: ids are a contract (scripts pass them to --only), never renamed.
REQUIRED = [
    "drop-without-close-notify", "drop-after-handshake", "alert-after-handshake", "rst-after-request",
    "fin-after-clienthello", "rst-after-clienthello", "partial-clienthello", "garbage", "plaintext-http",
    "truncated-request", "stalled-handshakes", "idle-connections", "slow-request", "renegotiation",
    "h2-rapid-reset", "h2-bad-frames",
]


def test_every_required_attack_is_there_once() -> None:
    ids = [a.id for a in ATTACKS]
    assert len(ids) == len(set(ids))
    assert set(REQUIRED) <= set(ids)


def test_entries_are_complete() -> None:
    for attack in ATTACKS:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", attack.id)
        assert attack.summary and attack.field_case and "\n" not in attack.summary
        assert (attack.round is None) != (attack.hold is None), attack.id
        assert attack.closes and set(attack.closes) <= {"fin", "rst"}
    for bug in BugClass:
        assert BUGS[bug].title and BUGS[bug].cause and BUGS[bug].fix


def test_drops_and_aborts_come_in_fin_and_rst() -> None:
    for attack_id in ("drop-without-close-notify", "drop-after-handshake", "partial-clienthello", "garbage",
                      "plaintext-http", "alert-after-handshake", "truncated-request", "stalled-handshakes"):
        assert {"fin", "rst"} <= set(next(a for a in ATTACKS if a.id == attack_id).closes), attack_id
    # The pair fin-/rst-after-clienthello are the two variants of one abort, by name.
    assert [a.closes for a in ATTACKS if a.id.endswith("-after-clienthello")] == [("fin",), ("rst",)]


def test_readme_table_is_current() -> None:
    text = README.read_text()
    block = re.search(r"<!-- torture-attacks:start -->\n(.*?)\n<!-- torture-attacks:end -->", text, re.S)
    assert block, "README has no generated attack table"
    assert block.group(1).strip() == markdown_table().strip(), "regenerate with python -m tlsdoctor.torture.catalogue"

"""``tlsdoctor.findings`` mirrors the contract in ``docs/spec/findings.md``: neither may drift."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import pytest

from tlsdoctor.findings import FINDING_CODES, finding_code

# The contract lives in the repository: a user's clone has everything the tests read.
SPEC = Path(__file__).resolve().parents[1] / "docs" / "spec" / "findings.md"


class SpecRow(NamedTuple):
    code: str
    summary: str
    curl: str
    nel_type: str


def _unquote(cell: str) -> str:
    """``\\`ok\\``` -> ``ok``: the spec writes codes and NEL types as inline code."""
    match = re.fullmatch(r"`([^`]*)`", cell)
    return match.group(1) if match else cell


def _spec_rows(text: str) -> list[SpecRow]:
    """The rows of the table whose header is ``| code | ... | curl | NEL |``, in order."""
    lines = iter(text.splitlines())
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and cells[0] == "code" and cells[-2:] == ["curl", "NEL"]:
            break
    else:
        raise AssertionError(f"{SPEC}: no table with a 'code | ... | curl | NEL' header")
    separator = next(lines, "")
    assert set(separator.replace("|", "").strip()) <= set("-: "), f"not a table separator: {separator!r}"
    rows = []
    for line in lines:
        if not line.lstrip().startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 4, f"a row of the findings table needs 4 cells, got {len(cells)}: {line!r}"
        code, summary, curl, nel = cells
        rows.append(SpecRow(_unquote(code), summary, curl, _unquote(nel)))
    return rows


@pytest.fixture(scope="module")
def spec_rows() -> list[SpecRow]:
    rows = _spec_rows(SPEC.read_text(encoding="utf-8"))
    assert rows, f"{SPEC}: the findings table is empty"
    return rows


def test_the_codes_are_the_specs_codes_in_the_specs_order(spec_rows: list[SpecRow]):
    assert list(FINDING_CODES) == [row.code for row in spec_rows]


def test_each_code_reports_the_curl_column_as_the_spec_writes_it(spec_rows: list[SpecRow]):
    assert [(c.code, c.curl) for c in FINDING_CODES.values()] == [(r.code, r.curl) for r in spec_rows]


def test_each_code_has_the_specs_nel_type(spec_rows: list[SpecRow]):
    assert [(c.code, c.nel_type) for c in FINDING_CODES.values()] == [(r.code, r.nel_type) for r in spec_rows]


def test_each_code_has_the_specs_summary(spec_rows: list[SpecRow]):
    assert [(c.code, c.summary) for c in FINDING_CODES.values()] == [(r.code, r.summary) for r in spec_rows]


def test_every_curl_column_starts_with_the_usual_libcurl_code():
    # "7 / 56", "60, or 0 when ...", "0 (HTTP 502)": the first number is the one clients see most.
    for entry in FINDING_CODES.values():
        assert entry.curl_code == int(re.match(r"\d+", entry.curl).group())  # type: ignore[union-attr]
    assert finding_code("trust.interception").curl_code == 60
    assert finding_code("tcp.reset").curl_code == 7


def test_an_unknown_code_is_a_programming_error_that_points_at_the_spec():
    with pytest.raises(KeyError, match="findings.md"):
        finding_code("cert.made_up")

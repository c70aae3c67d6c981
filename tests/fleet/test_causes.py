"""``fleet causes`` on a simulated fleet: the injected shares come back, whatever the file format.

Tolerance (docs/fleet.md): a cause's share of a stack's active installs is within three binomial
standard errors, ``3 * sqrt(e (1 - e) / n)``, of the share the simulator's model implies.
"""

from __future__ import annotations

import gzip
import math
import shutil
from pathlib import Path
from typing import Any

import pytest

from tlsdoctor.fleet.causes import fleet_causes
from tlsdoctor.fleet.convert import convert
from tlsdoctor.fleet.engine import Engine
from tlsdoctor.fleet.simulate import ACTIVE_DAY_P, ENVIRONMENTS, FIRST_REQUEST_FAILURES
from tlsdoctor.fleet.sources import SourceError, find

Fleet = Any  # the session fixtures of conftest.py: .path, .truth, .payload


def causes_of(*paths: Path | str) -> dict[str, Any]:
    with Engine("duckdb") as engine:
        tables, _ = engine.load(find(list(paths)))
        return fleet_causes(engine, tables)


@pytest.fixture(scope="module")
def causes(small_fleet: Fleet) -> dict[str, Any]:
    return causes_of(small_fleet.path)


def cause(doc: dict[str, Any], code: str, stack: str) -> dict[str, Any]:
    return next(c for c in doc["causes"] if (c["code"], c["stack"]) == (code, stack))


def expected_share(environment: str, days: int, extra: float = 0.0) -> float:
    """P(an install of the stack met the environment's first-request failure on some active day)."""
    _, _, p, _ = FIRST_REQUEST_FAILURES[environment]
    met = 1 - (1 - ACTIVE_DAY_P * p) ** days
    active = 1 - (1 - ACTIVE_DAY_P) ** days
    share = ENVIRONMENTS[environment][0]
    return (extra + (share - extra) * met) / active


def within(observed: float, expected: float, n: int) -> bool:
    return abs(observed - expected) <= 3 * math.sqrt(expected * (1 - expected) / n)


@pytest.mark.parametrize(("code", "stack", "environment"), [
    ("http2.negotiation_failed", "curl", "h2-breaking-proxy"),
    ("trust.bundle_corrupt", "curl", "corrupt-ca-file"),
    ("proxy.auth_required", "native", "ntlm-proxy"),
])
def test_injected_shares_come_back(causes: dict[str, Any], small_fleet: Fleet, code: str, stack: str,
                                   environment: str) -> None:
    found = cause(causes, code, stack)
    n = causes["stacks"][stack]["active_installs"]
    assert within(found["share_of_active_installs"], expected_share(environment, small_fleet.truth.days), n)


def test_the_regression_is_the_visible_part_of_trust_interception(causes: dict[str, Any], small_fleet: Fleet) -> None:
    found = cause(causes, "trust.interception", "curl")
    n = causes["stacks"]["curl"]["active_installs"]
    assert within(found["visible_installs"] / n, 0.02, n)
    assert within(found["share_of_active_installs"], expected_share("interceptor", small_fleet.truth.days, 0.02), n)
    assert not any(c["code"] == "trust.interception" and c["stack"] == "native" for c in causes["causes"])


def test_causes_are_ordered_facets_concentrate_and_one_stack_causes_are_named(causes: dict[str, Any]) -> None:
    installs = [c["installs"] for c in causes["causes"]]
    assert installs == sorted(installs, reverse=True)
    h2 = cause(causes, "http2.negotiation_failed", "curl")
    assert h2["visible_events"] == 0 and h2["rescued_events"] == h2["events"] == h2["counted_by_usage"]
    assert {"facet": "proxy_configured", "value": "true"}.items() <= h2["facets"][0].items()
    assert h2["facets"][0]["lift"] > 3
    one_stack = {(c["code"], c["stack"]) for c in causes["one_stack_only"]}
    assert {("http2.negotiation_failed", "curl"), ("proxy.auth_required", "native"),
            ("trust.bundle_corrupt", "curl")} <= one_stack
    assert not any(code in ("tcp.timed_out", "clock.skewed") for code, _ in one_stack)
    days = {d["day"] for d in h2["daily"]}
    assert len(days) == 4 and h2["first_seen"] < h2["last_seen"]


def test_gzip_and_parquet_read_the_same_fleet(causes: dict[str, Any], small_fleet: Fleet, tmp_path: Path) -> None:
    for path in small_fleet.path.rglob("*.jsonl"):
        target = tmp_path / "gz" / path.relative_to(small_fleet.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "rb") as src, gzip.open(target.with_suffix(".jsonl.gz"), "wb") as dst:
            shutil.copyfileobj(src, dst)
    assert causes_of(tmp_path / "gz") == causes
    convert(find([small_fleet.path]).jsonl, tmp_path / "parquet")
    assert causes_of(tmp_path / "parquet") == causes
    assert causes_of(str(tmp_path / "parquet" / "*")) == causes  # a glob


def test_torn_and_foreign_lines_are_skipped(small_fleet: Fleet, tmp_path: Path, causes: dict[str, Any]) -> None:
    shutil.copytree(small_fleet.path, tmp_path / "copy")
    some = sorted((tmp_path / "copy").rglob("reports.jsonl"))[0]
    with open(some, "ab") as f:
        f.write(b'not json at all\n{"schema": "other/1"}\n{"schema":"tlsdoctor.report/1","ts":"2026-1')
    with Engine("duckdb") as engine:
        tables, flattener = engine.load(find([tmp_path / "copy"]))
        assert flattener.skipped == 3  # the text line, the foreign object and the torn line
        assert fleet_causes(engine, tables) == causes


def test_paths_that_hold_no_fleet_are_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    for bad in ([tmp_path / "missing"], [str(tmp_path / "*.jsonl")], [tmp_path], [tmp_path / "notes.txt"]):
        with pytest.raises(SourceError):
            find(bad)


def test_a_parquet_file_of_another_layout_is_refused_in_one_line(small_fleet: Fleet, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    convert(find([small_fleet.path]).jsonl, tmp_path / "parquet")
    reports = next((tmp_path / "parquet" / "reports").glob("*.parquet"))
    table = pq.read_table(reports)
    pq.write_table(table.drop_columns(["interceptor"]).replace_schema_metadata(table.schema.metadata),
                   tmp_path / "old.parquet")
    with pytest.raises(SourceError, match="lacks the column interceptor"):
        find([tmp_path / "old.parquet"])


def test_interception_names_the_cas_that_sign_in_their_documented_shares(causes: dict[str, Any]) -> None:
    from tlsdoctor.client.report.issuer import presented_issuer
    from tlsdoctor.fleet.simulate import INTERCEPTION_PRODUCTS

    found = cause(causes, "trust.interception", "curl")
    names = {i["name"]: i["installs"] for i in found["interceptors"]}
    shares = {presented_issuer([{"Issuer": printed}]): share for printed, share in INTERCEPTION_PRODUCTS}
    assert set(names) == set(shares) == {"Avast Web/Mail Shield Root", "ESET SSL Filter CA",
                                         "Kaspersky Anti-Virus Personal Root Certificate"}
    assert [i["installs"] for i in found["interceptors"]] == sorted(names.values(), reverse=True)
    named = sum(names.values())  # every interception report of the fleet names its CA
    assert named == found["installs"]
    for name, share in shares.items():
        assert within(names[name] / named, share, named), (name, names)
    assert all("interceptors" not in c for c in causes["causes"] if c["code"] != "trust.interception")

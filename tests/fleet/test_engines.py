"""DuckDB and Spark (local mode) agree exactly: the same Ibis expressions, the same documents.

One Spark session for the module (its start-up is most of the cost) and a small fleet.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tlsdoctor.fleet.causes import fleet_causes
from tlsdoctor.fleet.convert import convert
from tlsdoctor.fleet.engine import Engine, spark_session
from tlsdoctor.fleet.gate import GateOptions, fleet_gate, load_payload
from tlsdoctor.fleet.queries import Window
from tlsdoctor.fleet.simulate import Regression, simulate
from tlsdoctor.fleet.sources import find

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = spark_session("local[2]")
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("engines")
    simulate(path, installs=400, days=3, seed=21, regression=Regression("trust.interception", 10.0))
    return path


def analyse(engine: Engine, paths: list[Path]) -> tuple[dict[str, Any], dict[str, Any]]:
    tables, _ = engine.load(find(paths))
    payload = load_payload(paths[0] / "payload.json", "http-stack") if (paths[0] / "payload.json").exists() else None
    options = GateOptions(min_installs=50)
    window = Window(since=None, until=None)
    return fleet_causes(engine, tables, window), fleet_gate(engine, tables, options, window, payload=payload)


def test_duckdb_and_spark_agree_exactly(fleet: Path, spark: Any, tmp_path: Path) -> None:
    with Engine("duckdb") as duck:
        expected = analyse(duck, [fleet])
    assert expected[0]["causes"] and expected[1]["cohorts"]["curl"]["installs"] >= 50
    with Engine("spark", spark=spark) as engine:
        assert analyse(engine, [fleet]) == expected  # JSON Lines (through a temporary Parquet file)
    # The Parquet layout under a URI, as a cluster reads object storage (file:// stands in for s3a://).
    convert(find([fleet]).jsonl, tmp_path / "parquet")
    with Engine("spark", spark=spark) as engine:
        tables, _ = engine.load(find([(tmp_path / "parquet").as_uri()], allow_remote=True))
        assert fleet_causes(engine, tables) == expected[0]

"""``tlsdoctor fleet causes`` over ~10 million Parquet rows, beside hand-written DuckDB and pandas.

One run measures, on the same files:

(a) ``fleet causes``: the whole ``tlsdoctor.fleet-causes/1`` document on DuckDB (the one Ibis
    query of :func:`tlsdoctor.fleet.queries.causes_document` and the window's day range, plus
    assembling the document);
(b) the core per-(code, stack) question of (a) alone, written in Ibis over fleet's own
    ``failure_reports`` and run by fleet's :class:`~tlsdoctor.fleet.engine.Engine`;
(c) one hand-written DuckDB ``GROUP BY`` computing the same as (b) over the same files;
(d) a pandas baseline computing the same as (b) (pyarrow reads the columns, pandas groups);
(e) the JSON Lines path: documents read, parsed and flattened per second.

Each of (a)-(d) runs in its own subprocess per round (so peak memory, ``ru_maxrss``, is its
own), rounds interleaved; min/median/max are printed with the ratios to (c). The fleet is made
by ``tlsdoctor fleet simulate`` (through the client's writers), flattened once, then replicated
with renamed installs to the row count asked for (distinct installs grow with it, so
``COUNT(DISTINCT install)`` does real work).

    python bench/fleet_bench.py [--rows 10000000] [--rounds 3] [--base-installs 3000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORE_SQL = """
SELECT code, stack,
       COUNT(DISTINCT install) AS installs,
       COUNT(*) AS events,
       SUM(CAST(visible AS BIGINT)) AS visible_events,
       COUNT(DISTINCT install) FILTER (WHERE visible) AS visible_installs,
       MIN(ts) AS first_seen, MAX(ts) AS last_seen
FROM read_parquet('{reports}')
WHERE kind IN ('failure', 'fallback') AND code IS NOT NULL AND code <> 'ok'
GROUP BY code, stack
"""


def build(directory: Path, rows: int, base_installs: int) -> dict[str, int]:
    """Simulate a base fleet, then write OUT/<table>/part-N.parquet replicas up to ``rows`` rows."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from tlsdoctor.fleet.layout import tagged
    from tlsdoctor.fleet.simulate import Regression, simulate
    from tlsdoctor.fleet.sources import find, read_jsonl

    base = directory / "jsonl"
    started = time.perf_counter()
    simulate(base, installs=base_installs, days=7, seed=1, regression=Regression("trust.interception", 2.0))
    print(f"simulated {base_installs} installs x 7 days in {time.perf_counter() - started:.1f} s", flush=True)
    tables = read_jsonl(find([base]).jsonl).tables()
    per_copy = sum(t.num_rows for t in tables.values())
    copies = max(1, round(rows / per_copy))
    writers = {}
    try:
        for copy in range(copies):
            for name, table in tables.items():
                renamed = table.set_column(table.schema.get_field_index("install"), "install",
                                           pc.binary_join_element_wise(table["install"], pa.scalar(f"-{copy}"), ""))
                if name not in writers:
                    (directory / "parquet" / name).mkdir(parents=True, exist_ok=True)
                    writers[name] = pq.ParquetWriter(directory / "parquet" / name / "part-0.parquet",
                                                     tagged(renamed, name).schema, compression="zstd")
                writers[name].write_table(tagged(renamed, name), row_group_size=1 << 20)
    finally:
        for writer in writers.values():
            writer.close()
    counts = {name: t.num_rows * copies for name, t in tables.items()}
    print(f"{copies} copies of {per_copy} rows: {sum(counts.values()):,} rows {counts}", flush=True)
    return counts


def core(tables: object) -> object:
    """(c)'s question in Ibis: what ``fleet causes`` asked before it folded every figure into one
    query, and what a user's own one-off Ibis question costs over hand-written SQL."""
    from tlsdoctor.fleet.queries import Window, failure_reports

    r = failure_reports(tables, Window())
    return r.group_by([r.code, r.stack]).aggregate(
        installs=r.install.nunique(), events=r.count(), visible_events=r.visible.cast("int64").sum(),
        visible_installs=r.install.nunique(where=r.visible), first_seen=r.ts.min(), last_seen=r.ts.max())


def one(kind: str, directory: Path) -> dict[str, float]:
    """Run one measurement in this process; print seconds and peak RSS."""
    parquet = directory / "parquet"
    # Imports are not timed (ibis takes ~1.5 s to import, once per process): queries are.
    import duckdb
    import pyarrow.parquet as pq

    from tlsdoctor.fleet.causes import fleet_causes
    from tlsdoctor.fleet.engine import Engine
    from tlsdoctor.fleet.sources import find

    import ibis.backends.duckdb  # noqa: F401 - Ibis imports its DuckDB backend on first connect (~0.6 s)
    import pandas  # noqa: F401 - imported by pyarrow's first table anyway
    import pyarrow as pa

    pa.table({"warm": [1]})  # pyarrow's one-time initialisation (~1 s here), in every process alike
    started = time.perf_counter()
    if kind == "fleet-causes":
        with Engine("duckdb") as engine:
            tables, _ = engine.load(find([parquet]))
            result = len(fleet_causes(engine, tables)["causes"])
    elif kind == "ibis-core":
        with Engine("duckdb") as engine:
            tables, _ = engine.load(find([parquet]))
            result = len(engine.rows(core(tables)))
    elif kind == "duckdb-sql":
        con = duckdb.connect()
        result = len(con.execute(CORE_SQL.format(reports=parquet / "reports" / "*.parquet")).fetchall())
    elif kind == "pandas":
        frame = pq.read_table(parquet / "reports", columns=["install", "code", "stack", "kind", "visible", "ts"]).to_pandas()
        frame = frame[frame["kind"].isin(["failure", "fallback"]) & frame["code"].notna() & (frame["code"] != "ok")]
        grouped = frame.groupby(["code", "stack"])
        visible = frame[frame["visible"]].groupby(["code", "stack"])["install"].nunique()
        out = grouped.agg(installs=("install", "nunique"), events=("install", "size"), visible_events=("visible", "sum"),
                          first_seen=("ts", "min"), last_seen=("ts", "max"))
        out["visible_installs"] = visible
        result = len(out)
    else:
        raise SystemExit(f"unknown measurement {kind}")
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "groups": result}))
    return {"seconds": seconds, "peak_mb": peak_mb}


def jsonl_rate(directory: Path) -> tuple[int, float]:
    from tlsdoctor.fleet.sources import find, read_jsonl

    sources = find([directory / "jsonl"])
    started = time.perf_counter()
    flattener = read_jsonl(sources.jsonl)
    tables = flattener.tables()
    seconds = time.perf_counter() - started
    return sum(t.num_rows for t in tables.values()), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base-installs", type=int, default=3000)
    parser.add_argument("--dir", type=Path, help="keep the generated files here (default: a temporary directory)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one, args.dir)
        return 0

    with tempfile.TemporaryDirectory(prefix="tlsdoctor-fleet-bench-") as tmp:
        directory = args.dir or Path(tmp)
        if not (directory / "parquet").exists():
            build(directory, args.rows, args.base_installs)
        rows, seconds = jsonl_rate(directory)
        print(f"(e) JSON Lines: {rows:,} rows flattened in {seconds:.2f} s = {rows / seconds:,.0f} rows/s", flush=True)
        print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        kinds = ["fleet-causes", "ibis-core", "duckdb-sql", "pandas"]
        results: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
        for round_number in range(args.rounds):
            order = kinds if round_number % 2 == 0 else list(reversed(kinds))
            for kind in order:
                started = time.perf_counter()
                out = subprocess.run([sys.executable, __file__, "--one", kind, "--dir", str(directory)],
                                     capture_output=True, text=True, timeout=1800, check=True,
                                     env={**os.environ, "PYTHONWARNINGS": "ignore"})
                process = time.perf_counter() - started
                results[kind].append({**json.loads(out.stdout.strip().splitlines()[-1]), "process": process})
        base = statistics.median(r["seconds"] for r in results["duckdb-sql"])
        base_process = statistics.median(r["process"] for r in results["duckdb-sql"])
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{'measurement':<14} {'min s':>8} {'median s':>9} {'max s':>8} {'÷ (c)':>7} {'peak MB':>8}"
              f" {'process s':>10} {'÷ (c)':>7}")
        labels = {"fleet-causes": "(a) causes", "ibis-core": "(b) ibis core", "duckdb-sql": "(c) SQL",
                  "pandas": "(d) pandas"}
        for kind in kinds:
            times = [r["seconds"] for r in results[kind]]
            processes = [r["process"] for r in results[kind]]
            print(f"{labels[kind]:<14} {min(times):8.2f} {statistics.median(times):9.2f} {max(times):8.2f} "
                  f"{statistics.median(times) / base:7.2f} {max(r['peak_mb'] for r in results[kind]):8.0f}"
                  f" {statistics.median(processes):10.2f} {statistics.median(processes) / base_process:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``tlsdoctor fleet convert``: JSON Lines into the Parquet layout, one file per table and day.

JSON Lines are what clients and collectors write; Parquet is what engines scan fast (columnar,
compressed, with per-column statistics that let ``--since`` skip whole files and row groups).
The layout (:mod:`tlsdoctor.fleet.layout`) is ``OUT/<table>/<day>.parquet``: a day's file is
written once, and a Spark cluster or DuckDB reads ``OUT/<table>/*.parquet`` directly. Memory is
bounded by one input file's rows at a time, plus one day's rows per table while they are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tlsdoctor.fleet.layout import TABLES, Flattener, tagged
from tlsdoctor.fleet.sources import iter_documents


def convert(paths: Sequence[Path], out: str | Path, *, row_group_size: int = 1 << 20) -> dict[str, int]:
    """Write every document in ``paths`` to ``out/<table>/<day>[-N].parquet``; rows per table."""
    out = Path(out)
    counts = {name: 0 for name in TABLES}
    parts: dict[tuple[str, str], int] = {}
    for path in paths:
        flattener = Flattener()
        for doc in iter_documents(path):
            flattener.add(doc)
        for name, table in flattener.tables().items():
            if not table.num_rows:
                continue
            counts[name] += table.num_rows
            for day in sorted(pc.unique(table["day"]).to_pylist()):
                piece = table.filter(pc.equal(table["day"], day))
                index = parts.get((name, day), 0)
                parts[(name, day)] = index + 1
                target = out / name / (f"{day}.parquet" if index == 0 else f"{day}-{index}.parquet")
                target.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(tagged(piece, name), target, row_group_size=row_group_size, compression="zstd")
    return counts


def write_tables(tables: dict[str, pa.Table], out: str | Path, stem: str = "part-0") -> None:
    """Write already-flattened tables as ``out/<table>/<stem>.parquet`` (the benchmark's generator)."""
    out = Path(out)
    for name, table in tables.items():
        (out / name).mkdir(parents=True, exist_ok=True)
        pq.write_table(tagged(table, name), out / name / f"{stem}.parquet", compression="zstd")

"""The engines a fleet's queries run on: DuckDB (embedded, the default) and Apache Spark.

Every query is written once, as an Ibis expression (:mod:`tlsdoctor.fleet.queries`); this module
only connects, registers the four layout tables, and executes. Ibis compiles the same expression
to DuckDB SQL or to Spark SQL, so both engines answer the same question by construction, and a
test holds them to identical results.

Why Ibis rather than SQL strings or two DataFrame APIs: one expression, type-checked when it is
built, composable in Python (facets are a loop, not string templating), and compiled by a
project that tests its DuckDB and PySpark backends against each other. Registering tables is the
one place engines differ (DuckDB reads a list of Parquet files or an Arrow table in process;
Spark reads Parquet paths, so JSON Lines input reaches it through a temporary Parquet file).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from tlsdoctor.fleet.layout import SCHEMAS, TABLES, Flattener, tagged
from tlsdoctor.fleet.sources import Sources, read_jsonl

ENGINES = ("duckdb", "spark")
DEFAULT_SPARK_MASTER = "local[2]"


class Tables:
    """The four layout tables as Ibis tables of one engine, each registered when first used
    (a question that reads only ``reports`` never opens the usage files)."""

    def __init__(self, register: Callable[[str], Any]) -> None:
        self._register = register
        self._tables: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name not in TABLES:
            raise AttributeError(name)
        if name not in self._tables:
            self._tables[name] = self._register(name)
        return self._tables[name]


def spark_session(master: str = DEFAULT_SPARK_MASTER) -> Any:
    """A Spark session for tlsdoctor: UTC, few shuffle partitions, no UI; local mode binds loopback."""
    from pyspark.sql import SparkSession

    if master.startswith("local"):
        # Local mode talks to itself only: keep the driver on loopback (no LAN interface).
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.master(master).appName("tlsdoctor-fleet")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "8" if master.startswith("local") else "200")
        .config("spark.sql.ansi.enabled", "false")
    )
    if master.startswith("local"):
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


class Engine:
    """One connection: ``Engine("duckdb")`` or ``Engine("spark", spark_master=...)``."""

    def __init__(self, name: str = "duckdb", *, spark_master: str = DEFAULT_SPARK_MASTER,
                 spark: Any = None, threads: int | None = None) -> None:
        if name not in ENGINES:
            raise ValueError(f"unknown engine {name!r}: use {' or '.join(ENGINES)}")
        import ibis

        self.name = name
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._counter = 0
        if name == "duckdb":
            config = {"threads": threads} if threads else {}
            self.con = ibis.duckdb.connect(**config)
            self.session = None
        else:
            self.session = spark or spark_session(spark_master)
            self.con = ibis.pyspark.connect(self.session)

    # -- registering tables ----------------------------------------------------------------------

    def _name(self, base: str) -> str:
        self._counter += 1
        return f"tlsdoctor_{base}_{self._counter}"

    def load(self, sources: Sources) -> tuple[Tables, Flattener]:
        """Register ``sources`` as the four layout tables (JSON Lines flattened on the way)."""
        flattener = read_jsonl(sources.jsonl)
        arrow = flattener.tables() if sources.jsonl else {}

        def register(name: str) -> Any:
            return self._table(name, arrow.get(name), sources.parquet[name],
                               [f"{uri}/{name}" for uri in sources.remote])

        return Tables(register), flattener

    def load_arrow(self, arrow: dict[str, pa.Table]) -> Tables:
        return Tables(lambda name: self._table(name, arrow[name], [], []))

    def _table(self, name: str, arrow: pa.Table | None, parquet: Sequence[str], remote: Sequence[str]) -> Any:
        if arrow is None:
            arrow = SCHEMAS[name].empty_table()
        if self.name == "duckdb":
            parts = []
            if parquet:
                parts.append(self._duckdb_parquet(name, parquet))
            if arrow.num_rows or not parts:
                parts.append(self.con.create_table(self._name(name), arrow.cast(SCHEMAS[name]), temp=True))
            return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:], distinct=False)
        paths = list(parquet) + list(remote)
        if arrow.num_rows or not paths:
            import pyarrow.parquet as pq

            if self._tmp is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="tlsdoctor-fleet-")
            path = os.path.join(self._tmp.name, f"{self._name(name)}.parquet")
            pq.write_table(tagged(arrow.cast(SCHEMAS[name]), name), path)
            paths.append(path)
        frame = self.session.read.schema(_spark_schema(name)).parquet(*paths)
        view = self._name(name)
        frame.createOrReplaceTempView(view)
        return self.con.table(view)

    def _duckdb_parquet(self, name: str, parquet: Sequence[str]) -> Any:
        """The files as one relation of the layout's columns, typed by the layout's schema.

        :func:`~tlsdoctor.fleet.sources.find` has checked each file's schema against the layout,
        so the relation needs no inspection: Ibis's ``read_parquet`` would create a view and ask
        DuckDB for its schema (~0.1 s of footers read twice), a fixed cost every question paid."""
        import ibis

        files = ", ".join("'" + path.replace("'", "''") + "'" for path in parquet)
        columns = ", ".join(f'"{field.name}"' for field in SCHEMAS[name])
        return self.con.sql(f"SELECT {columns} FROM read_parquet([{files}])", schema=ibis.schema(SCHEMAS[name]))

    # -- running ------------------------------------------------------------------------------

    def rows(self, expr: Any) -> list[dict[str, Any]]:
        """Execute ``expr``; plain Python values (no numpy scalars, no NaN) as dicts."""
        return self.con.to_pyarrow(expr).to_pylist()

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        if self.name == "duckdb":
            self.con.disconnect()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _spark_schema(name: str) -> Any:
    """The layout schema as Spark's (so that an empty input still has typed columns)."""
    from pyspark.sql import types as T

    mapping = {pa.string(): T.StringType(), pa.int64(): T.LongType(), pa.int32(): T.IntegerType(),
               pa.bool_(): T.BooleanType()}
    return T.StructType([T.StructField(f.name, mapping[f.type], True) for f in SCHEMAS[name]])

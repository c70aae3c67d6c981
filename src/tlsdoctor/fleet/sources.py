"""Where a fleet's documents are: files, directories or globs of JSON Lines (plain or gzip) and Parquet.

JSON Lines are what clients write (``reports.jsonl``, rotated ``reports.jsonl.1``, ``usage.jsonl``)
and what collectors land (often gzipped); each line is read as a document and dispatched by its
``schema`` field, whatever the file is called. Parquet files are the flat tables of
:mod:`tlsdoctor.fleet.layout` (as ``tlsdoctor fleet convert`` writes them); each names its table
in its metadata. A line that is not a document of ours (a torn last line after a crash, another
tool's log line) is skipped and counted, never fatal: fleets' data is never perfectly clean.
"""

from __future__ import annotations

import glob
import gzip
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from tlsdoctor.fleet.layout import SCHEMAS, TABLE_KEY, TABLES, Flattener

_JSONL = re.compile(r".*\.(jsonl|ndjson)(\.\d+)?(\.gz)?$")
_REMOTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"


class SourceError(ValueError):
    """Input that cannot be read as a fleet (the CLI prints it as one line, exit 2)."""


@dataclass
class Sources:
    jsonl: list[Path] = field(default_factory=list)
    parquet: dict[str, list[str]] = field(default_factory=lambda: {name: [] for name in TABLES})
    remote: list[str] = field(default_factory=list)  # URIs for Spark: dirs laid out as PATH/<table>/

    def __bool__(self) -> bool:
        return bool(self.jsonl or self.remote or any(self.parquet.values()))


def _kind(path: Path) -> str | None:
    if path.suffix == ".parquet":
        return "parquet"
    if _JSONL.match(path.name):
        return "jsonl"
    return None


def _sniff(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise SourceError(f"{path}: {exc.strerror or exc}") from None
    if head == PARQUET_MAGIC:
        return "parquet"
    if head[:2] == GZIP_MAGIC or head[:1] == b"{":
        return "jsonl"
    return None


def _parquet_table(path: Path) -> str:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        metadata = schema.metadata or {}
    except (OSError, pa.ArrowException) as exc:
        raise SourceError(f"{path}: not a readable Parquet file ({exc})") from None
    name = metadata.get(TABLE_KEY, b"").decode()
    if name not in TABLES:
        raise SourceError(f"{path}: a Parquet file without tlsdoctor's table tag (write it with tlsdoctor fleet convert)")
    # The engines read the layout's columns by name and type without asking the file again.
    for expected in SCHEMAS[name]:
        index = schema.get_field_index(expected.name)
        if index < 0 or schema.field(index).type != expected.type:
            raise SourceError(f"{path}: its {name} table lacks the column {expected.name} ({expected.type}) "
                              f"of this version's layout (convert the JSON Lines again)")
    return name


def find(paths: Sequence[str | os.PathLike[str]], *, allow_remote: bool = False) -> Sources:
    """Resolve ``paths`` (files, directories searched recursively, globs) into :class:`Sources`."""
    sources = Sources()
    seen: set[Path] = set()

    def add(path: Path, explicit: bool) -> None:
        path = path.resolve()
        if path in seen:
            return
        kind = _kind(path) or (_sniff(path) if explicit else None)
        if kind is None:
            if explicit:
                raise SourceError(f"{path}: neither JSON Lines nor Parquet")
            return
        seen.add(path)
        if kind == "parquet":
            sources.parquet[_parquet_table(path)].append(str(path))
        else:
            sources.jsonl.append(path)

    def add_any(path: Path, explicit: bool) -> None:
        if path.is_dir():  # recursively; only files named like ours
            for inner in sorted(path.rglob("*")):
                if inner.is_file():
                    add(inner, explicit=False)
        elif path.is_file():
            add(path, explicit)

    for raw in paths:
        text = os.fspath(raw)
        if _REMOTE.match(text):
            if not allow_remote:
                raise SourceError(f"{text}: remote paths are read by the Spark engine only (--engine spark)")
            sources.remote.append(text.rstrip("/"))
        elif glob.has_magic(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise SourceError(f"{text}: no file matches")
            for match in matches:
                add_any(Path(match), explicit=False)
        elif Path(text).exists():
            add_any(Path(text), explicit=True)
        else:
            raise SourceError(f"{text}: no such file or directory")
    if not sources:
        raise SourceError(f"no report or usage files in {', '.join(os.fspath(p) for p in paths)}")
    return sources


def iter_documents(path: Path) -> Iterator[object]:
    """Every JSON value on its own line of ``path`` (gzip or plain); unparsable lines are skipped."""
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
    try:
        stream = gzip.open(path, "rb") if gzipped else open(path, "rb")
        with stream:
            for line in stream:
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except ValueError:  # a torn line (a crash mid-write), or another tool's text
                    yield None
    except (OSError, EOFError) as exc:  # a truncated gzip member: keep what was read
        if not isinstance(exc, EOFError) and not isinstance(exc, gzip.BadGzipFile):
            raise SourceError(f"{path}: {exc}") from None


def read_jsonl(paths: Sequence[Path], flattener: Flattener | None = None) -> Flattener:
    """Flatten every document in ``paths`` into ``flattener`` (a new one by default)."""
    flattener = flattener or Flattener()
    for path in paths:
        for doc in iter_documents(path):
            flattener.add(doc)
    return flattener

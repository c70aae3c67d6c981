"""The fleet's columnar layout: four flat tables made from ``report/1`` and ``usage/1`` documents.

The documents are nested (``usage.stacks.curl.failures["tls.abrupt_close"]``) with keys that are
data (stack names, finding codes). Engines group by columns, not by map keys, so every document
is flattened once, here, into tables with fixed Arrow schemas that DuckDB and Spark read alike:

- ``usage``: one row per usage document (its totals over stacks; the unit for completeness
  and for the gate's per-install outcome);
- ``usage_stacks``: one row per (usage document, stack): requests on that stack, the
  denominator of a cause's share;
- ``usage_failures``: one row per (usage document, stack, finding code) with its count;
- ``reports``: one row per report.

Days are strings ``YYYY-MM-DD`` (UTC) plus ``day_n``, days since 1970-01-01, so that no engine's
session time zone or date arithmetic can make two engines disagree. The Parquet files that
``tlsdoctor fleet convert`` writes hold exactly these tables, each file tagged with its table's
name in the Parquet key-value metadata (``tlsdoctor.table``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import pyarrow as pa

REPORT_SCHEMA = "tlsdoctor.report/1"
USAGE_SCHEMA = "tlsdoctor.usage/1"
TABLE_KEY = b"tlsdoctor.table"
EPOCH = date(1970, 1, 1)

_DOC = [
    ("install", pa.string()), ("seq", pa.int64()), ("day", pa.string()), ("day_n", pa.int32()),
    ("app_version", pa.string()), ("cohort_value", pa.string()), ("cohort_rule", pa.string()),
    ("proxy_configured", pa.bool_()), ("os", pa.string()), ("tls_library", pa.string()), ("libcurl", pa.string()),
]

SCHEMAS: dict[str, pa.Schema] = {
    "usage": pa.schema([
        *_DOC, ("requests", pa.int64()), ("failures", pa.int64()), ("rescued", pa.int64()),
        ("visible", pa.int64()), ("fallbacks_taken", pa.int64()), ("fallbacks_succeeded", pa.int64()),
        ("reports_written", pa.int64()), ("reports_dropped", pa.int64()),
    ]),
    "usage_stacks": pa.schema([
        *_DOC, ("stack", pa.string()), ("requests", pa.int64()), ("ok", pa.int64()),
        ("failures", pa.int64()), ("rescued", pa.int64()),
    ]),
    "usage_failures": pa.schema([
        *_DOC, ("stack", pa.string()), ("code", pa.string()), ("n", pa.int64()),
    ]),
    "reports": pa.schema([
        ("install", pa.string()), ("ts", pa.string()), ("day", pa.string()), ("day_n", pa.int32()),
        ("app_version", pa.string()), ("stack", pa.string()), ("cohort_value", pa.string()),
        ("cohort_rule", pa.string()), ("kind", pa.string()), ("code", pa.string()), ("curl_code", pa.int64()),
        ("visible", pa.bool_()), ("fallback_ok", pa.bool_()), ("origin", pa.string()),
        ("proxy_configured", pa.bool_()), ("os", pa.string()), ("tls_library", pa.string()),
        ("libcurl", pa.string()), ("interceptor", pa.string()),
    ]),
}
TABLES = tuple(SCHEMAS)


def day_number(day: str) -> int:
    return (date.fromisoformat(day) - EPOCH).days


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


class Flattener:
    """Accumulates documents into column lists, one set per table; :meth:`tables` hands out Arrow."""

    def __init__(self) -> None:
        self.columns = {name: {field.name: [] for field in schema} for name, schema in SCHEMAS.items()}
        self.skipped = 0  # lines that are JSON objects but no document of ours, or malformed ones
        self._days: dict[str, tuple[str, int]] = {}

    def _day(self, ts: Any) -> tuple[str, int] | None:
        if not isinstance(ts, str) or len(ts) < 10:
            return None
        key = ts[:10]
        known = self._days.get(key)
        if known is None:
            try:
                known = self._days[key] = (key, day_number(key))
            except ValueError:
                return None
        return known

    def add(self, doc: Any) -> None:
        schema = doc.get("schema") if isinstance(doc, dict) else None
        try:
            if schema == USAGE_SCHEMA:
                self._usage(doc)
            elif schema == REPORT_SCHEMA:
                self._report(doc)
            else:
                self.skipped += 1
        except (TypeError, ValueError, AttributeError):
            self.skipped += 1

    def add_all(self, docs: Iterable[Any]) -> None:
        for doc in docs:
            self.add(doc)

    def _usage(self, doc: Mapping[str, Any]) -> None:
        day = self._day(_obj(doc.get("period")).get("start"))
        install = _str(doc.get("install"))
        if day is None or not install:
            self.skipped += 1
            return
        cohort, env = _obj(doc.get("cohort")), _obj(doc.get("environment"))
        common = {
            "install": install, "seq": _int(doc.get("seq")), "day": day[0], "day_n": day[1],
            "app_version": _str(doc.get("app_version")), "cohort_value": _str(cohort.get("value")),
            "cohort_rule": _str(cohort.get("rule")), "proxy_configured": _bool(env.get("proxy_configured")),
            "os": _str(env.get("os")), "tls_library": _str(env.get("tls_library")), "libcurl": _str(env.get("libcurl")),
        }
        stacks_cols, failure_cols = self.columns["usage_stacks"], self.columns["usage_failures"]
        requests = failures = rescued = 0
        for stack, entry in _obj(doc.get("stacks")).items():
            entry = _obj(entry)
            codes = {str(code): _int(n) for code, n in _obj(entry.get("failures")).items() if _int(n)}
            stack_failures = sum(codes.values())
            stack_rescued = min(_int(entry.get("rescued_by_fallback")), stack_failures)
            row = {**common, "stack": str(stack), "requests": _int(entry.get("requests")), "ok": _int(entry.get("ok")),
                   "failures": stack_failures, "rescued": stack_rescued}
            for key, value in row.items():
                stacks_cols[key].append(value)
            for code, n in codes.items():
                for key, value in {**common, "stack": str(stack), "code": code, "n": n}.items():
                    failure_cols[key].append(value)
            requests += row["requests"]
            failures += stack_failures
            rescued += stack_rescued
        fallbacks, reports = _obj(doc.get("fallbacks")), _obj(doc.get("reports"))
        row = {**common, "requests": requests, "failures": failures, "rescued": rescued,
               "visible": failures - rescued, "fallbacks_taken": _int(fallbacks.get("taken")),
               "fallbacks_succeeded": _int(fallbacks.get("succeeded")),
               "reports_written": _int(reports.get("written")), "reports_dropped": _int(reports.get("dropped"))}
        for key, value in row.items():
            self.columns["usage"][key].append(value)

    def _report(self, doc: Mapping[str, Any]) -> None:
        day = self._day(doc.get("ts"))
        install = _str(doc.get("install"))
        if day is None or not install:
            self.skipped += 1
            return
        cohort, env = _obj(doc.get("cohort")), _obj(doc.get("environment"))
        outcome, fallback, request = _obj(doc.get("outcome")), _obj(doc.get("fallback")), _obj(doc.get("request"))
        kind = _str(doc.get("kind"))
        fallback_ok = _bool(fallback.get("ok")) if fallback else None
        curl_code = outcome.get("curl_code")
        row = {
            "install": install, "ts": doc["ts"], "day": day[0], "day_n": day[1],
            "app_version": _str(doc.get("app_version")), "stack": _str(doc.get("stack")),
            "cohort_value": _str(cohort.get("value")), "cohort_rule": _str(cohort.get("rule")), "kind": kind,
            "code": _str(outcome.get("code")),
            "curl_code": curl_code if isinstance(curl_code, int) and not isinstance(curl_code, bool) else None,
            # What the user saw: a failure report is one no fallback rescued (docs/spec).
            "visible": kind == "failure",
            "fallback_ok": fallback_ok, "origin": _str(request.get("origin")),
            "proxy_configured": _bool(env.get("proxy_configured")), "os": _str(env.get("os")),
            "tls_library": _str(env.get("tls_library")), "libcurl": _str(env.get("libcurl")),
            # The CA that signed the chain the client was shown (report/1's outcome.presented_issuer,
            # written for failures about who signed it): for trust.interception, the interceptor.
            "interceptor": _str(outcome.get("presented_issuer")),
        }
        for key, value in row.items():
            self.columns["reports"][key].append(value)

    def rows(self) -> int:
        return sum(len(cols["install"]) for cols in self.columns.values())

    def tables(self) -> dict[str, pa.Table]:
        """The accumulated rows as Arrow tables (and a fresh, empty accumulator)."""
        out = {name: pa.Table.from_pydict(cols, schema=SCHEMAS[name]) for name, cols in self.columns.items()}
        self.columns = {name: {field.name: [] for field in schema} for name, schema in SCHEMAS.items()}
        return out


def tagged(table: pa.Table, name: str) -> pa.Table:
    """``table`` with its layout name in the schema metadata (what a Parquet reader looks up)."""
    return table.replace_schema_metadata({TABLE_KEY: name.encode()})

"""One request's outcome as a ``tlsdoctor.report/1`` event: the shape of the spec and the privacy
boundary.

:func:`build_report` produces exactly the ``tlsdoctor.report/1`` shape of
``docs/spec/diagnosis-json.md``: the request is reduced to its origin, every free-text string
goes through :func:`scrub`, and unknown keys are dropped, because the spec promises that nothing
in a report identifies the user beyond a salted install id (no credentials, query strings,
cookies or bodies). :class:`PendingReport` holds the raw facts so that the request thread only
records them and the reporter's thread does the building and scrubbing.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tlsdoctor.client.origin import origin_of
from tlsdoctor.client.report.issuer import ISSUER_CAP, is_trust_failure, presented_issuer
from tlsdoctor.redact import bounded, printable, redact_text

REPORT_SCHEMA = "tlsdoctor.report/1"
REPORT_KINDS = ("failure", "fallback", "validation", "sample")

MESSAGE_CAP = 500  # outcome.message: enough for libcurl's and OpenSSL's longest error strings
_FIELD_CAP = 200  # any other string (versions, OS name, cohort rule): descriptive, never prose
_SCRUB_INPUT_CAP = 64 * 1024  # bounds the regex work on a pathological message

# The spec's nested objects, key by key. build_report emits these keys and only these (absent
# ones as null): a caller cannot leak a field by passing it, and consumers can rely on every key.
COHORT_KEYS = ("feature", "value", "rule")
OUTCOME_KEYS = ("ok", "code", "curl_code", "nel_type", "message")
ENVIRONMENT_KEYS = ("proxy_configured", "proxy_source", "os", "tls_library", "libcurl", "clock_offset_s")
TIMING_KEYS = ("dns", "connect", "tls", "total")
# fallback: {"stack", "ok"} as in the spec; for a failed fallback, and for a ``validation`` report
# (where it holds the *other* stack's outcome, so agree/differ is outcome vs fallback), the code
# fields are added when known — the spec allows added fields.
FALLBACK_KEYS = ("stack", "ok")
FALLBACK_OPTIONAL_KEYS = ("code", "curl_code", "nel_type")

# A raw message kept on the request thread is cut to this many characters (a slice, no parsing):
# a hostile server's megabyte of error text costs the request path nothing more.
RAW_MESSAGE_CAP = 16 * 1024


# -- scrubbing -----------------------------------------------------------------------------------
# tlsdoctor.redact is the project's one redactor. A report leaves the machine unattended, so it
# uses the strictest path policy: every URL is cut to its origin (a path names accounts and
# carries reset tokens), besides the credentials, headers and pairs every caller removes.


def _scrub_once(text: str, max_chars: int) -> str:
    text = printable(redact_text(text, path_policy="origin"), keep_newlines=True)
    return text[:max_chars] if len(text) > max_chars else text


def scrub(text: str | None, *, max_chars: int = MESSAGE_CAP) -> str:
    """``text`` without credentials, cookies, auth headers, URL userinfo, paths and query strings
    or terminal control sequences, at most ``max_chars`` long.

    Idempotent (``scrub(scrub(x)) == scrub(x)``), so the Sentry sink can scrub again without
    changing a report that :func:`build_report` already scrubbed. Linear in ``len(text)``, and the
    input is bounded to 64 KiB before any pattern sees it.
    """
    if not text:
        return ""
    text = bounded(str(text), _SCRUB_INPUT_CAP)
    # Capping can cut a marker in half (``token=[reda``) which a second pass would re-expand;
    # a few passes reach the fixed point that makes scrub idempotent.
    for _ in range(4):
        scrubbed = _scrub_once(text, max_chars)
        if scrubbed == text:
            break
        text = scrubbed
    return text


# -- the event ---------------------------------------------------------------------------------


def _text(value: Any, cap: int = _FIELD_CAP) -> str | None:
    return None if value is None else scrub(str(value), max_chars=cap)


def _integer(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _number(value: Any) -> int | float | None:
    """JSON has no NaN or infinity (a strict consumer rejects the whole line), so they become null."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _timestamp(ts: datetime | None) -> str:
    ts = ts or datetime.now(UTC)
    if ts.tzinfo is None:  # a naive datetime from this library is UTC by convention
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _method(method: Any) -> str:
    method = str(method or "").upper()
    return method if re.fullmatch(r"[A-Z]{1,16}", method) else "OTHER"


def _outcome(outcome: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "ok": bool(outcome.get("ok")),
        "code": _text(outcome.get("code")),
        "curl_code": _integer(outcome.get("curl_code")),
        "nel_type": _text(outcome.get("nel_type")),
        "message": _text(outcome.get("message"), MESSAGE_CAP),
    }


def _fallback(fallback: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if fallback is None:
        return None
    shaped: dict[str, Any] = {"stack": _text(fallback.get("stack")), "ok": bool(fallback.get("ok"))}
    if fallback.get("code") is not None:
        shaped["code"] = _text(fallback["code"])
    if fallback.get("curl_code") is not None:
        shaped["curl_code"] = _integer(fallback["curl_code"])
    if fallback.get("nel_type") is not None:
        shaped["nel_type"] = _text(fallback["nel_type"])
    return shaped


def _environment(environment: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "proxy_configured": _flag(environment.get("proxy_configured")),
        "proxy_source": _text(environment.get("proxy_source")),
        "os": _text(environment.get("os")),
        "tls_library": _text(environment.get("tls_library")),
        "libcurl": _text(environment.get("libcurl")),
        "clock_offset_s": _number(environment.get("clock_offset_s")),
    }


def _timings(timings_ms: Mapping[str, Any]) -> dict[str, int | None]:
    shaped: dict[str, int | None] = {}
    for key in TIMING_KEYS:
        value = _number(timings_ms.get(key))
        shaped[key] = None if value is None else round(value)
    return shaped


def build_report(
    *,
    kind: str,
    stack: str,
    cohort: Mapping[str, Any] | None,
    method: str,
    url: str,
    http_version: str | None,
    outcome: Mapping[str, Any],
    fallback: Mapping[str, Any] | None,
    environment: Mapping[str, Any],
    timings_ms: Mapping[str, Any],
    install: str,
    app_version: str,
    ts: datetime | None = None,
) -> dict[str, Any]:
    """One ``tlsdoctor.report/1`` event, shaped and scrubbed.

    ``url`` is reduced to its origin; ``outcome["message"]`` and every other string are
    scrubbed; nested objects carry exactly the spec's keys (missing values as ``null``, extra
    keys dropped). Raises :class:`ValueError` only for a ``kind`` outside :data:`REPORT_KINDS`,
    a programming error the caller's tests should catch — never for field data.
    """
    if kind not in REPORT_KINDS:
        raise ValueError(f"report kind must be one of {', '.join(REPORT_KINDS)}, not {kind!r}")
    event = {
        "schema": REPORT_SCHEMA,
        "ts": _timestamp(ts),
        "install": _text(install, 64),
        "app_version": _text(app_version, 64),
        "stack": _text(stack, 32),
        "cohort": None if cohort is None else {key: _text(cohort.get(key)) for key in COHORT_KEYS},
        "request": {
            "method": _method(method),
            "origin": origin_of(url),
            "http_version": _text(http_version, 8),
        },
        "outcome": _outcome(outcome),
        "fallback": _fallback(fallback),
        "environment": _environment(environment),
        "timings_ms": _timings(timings_ms),
        "kind": kind,
    }
    issuer = _presented_issuer(outcome, outcome.get("code"))
    if issuer:
        event["outcome"]["presented_issuer"] = issuer
    return event


def _presented_issuer(outcome: Mapping[str, Any], code: Any) -> str | None:
    """``outcome.presented_issuer`` (an added field of the spec): for a failure about who signed
    the chain, the name of the CA at the top of the chain the stack was shown, scrubbed and cut
    to 64 characters. ``outcome["presented_chain"]`` is what the stack kept of it (see
    :mod:`tlsdoctor.client.report.issuer`); other failures, and successes, never carry it."""
    chain = outcome.get("presented_chain")
    if outcome.get("ok") or not chain or not is_trust_failure(code if isinstance(code, str) else None):
        return None
    try:
        name = presented_issuer(chain)
    except Exception:  # noqa: BLE001 - a hostile certificate's name costs the report one field, never the report
        return None
    return _text(name, ISSUER_CAP) or None


def scrub_strings(value: Any) -> Any:
    """Every string in a JSON-like value scrubbed: the last line of defence for events that did
    not come from :func:`build_report`. Idempotent on events that did."""
    if isinstance(value, str):
        return scrub(value, max_chars=MESSAGE_CAP)
    if isinstance(value, Mapping):
        return {str(key): scrub_strings(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_strings(item) for item in value]
    return value


def should_sample(rate: float, rng: random.Random | None = None) -> bool:
    """True for a fraction ``rate`` of calls: whether this success becomes a ``sample`` report.

    Rates outside [0, 1] are clamped, so 0 and 1 mean never and always without consulting the
    random source (a test can pass a seeded ``random.Random`` for the rates in between).
    """
    if not rate > 0:  # also catches NaN
        return False
    if rate >= 1:
        return True
    return (rng or random).random() < rate


@dataclass
class PendingReport:
    """The facts of one report as the request thread saw them, built into an event later.

    Building means scrubbing, and scrubbing a hostile server's error text is the one piece of
    report work whose cost the server controls; so the request thread only fills this record
    (cheap copies and slices) and :class:`~tlsdoctor.client.report.reporter.Reporter`'s thread
    calls :meth:`build`.
    """

    kind: str
    stack: str
    cohort: Mapping[str, Any] | None
    method: str
    url: str
    http_version: str | None
    outcome: dict[str, Any]
    fallback: Mapping[str, Any] | None
    environment: Mapping[str, Any]
    timings_ms: Mapping[str, Any]
    install: str
    app_version: str
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Set when a background diagnosis replaced the first reading of the error (added fields).
    diagnosis: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        message = self.outcome.get("message")
        if isinstance(message, str) and len(message) > RAW_MESSAGE_CAP:
            # Cut where no URL loses its end: redaction (at build) must still see its userinfo.
            self.outcome = {**self.outcome, "message": bounded(message, RAW_MESSAGE_CAP)}

    def build(self) -> dict[str, Any]:
        event = build_report(
            kind=self.kind, stack=self.stack, cohort=self.cohort, method=self.method, url=self.url,
            http_version=self.http_version, outcome=self.outcome, fallback=self.fallback,
            environment=self.environment, timings_ms=self.timings_ms, install=self.install,
            app_version=self.app_version, ts=self.ts,
        )
        if self.outcome.get("stack_unavailable"):
            event["outcome"]["stack_unavailable"] = True
        if self.diagnosis:
            outcome = event["outcome"]
            outcome["first_reading"] = outcome["code"]
            outcome["code"] = _text(self.diagnosis.get("code"))
            outcome["nel_type"] = _text(self.diagnosis.get("nel_type"))
            outcome["diagnosed"] = True
            # The issuer goes with the report's verdict: a diagnosis that names a trust failure
            # the first reading did not (or the reverse) adds (or removes) it.
            outcome.pop("presented_issuer", None)
            issuer = _presented_issuer(self.outcome, outcome["code"])
            if issuer:
                outcome["presented_issuer"] = issuer
        return event

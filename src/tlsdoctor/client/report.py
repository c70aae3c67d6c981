"""Failure reports: ``tlsdoctor.report/1`` events, on disk as JSON Lines and, optionally, in Sentry.

A migration to libcurl is only safe if the failures it causes in the field come back with the
facts that explain them (which stack, which curl code, was a proxy configured, which HTTP
version, how far off the clock was). This module turns one request's outcome into such an event
and gets it off the request path:

- :func:`build_report` produces exactly the ``tlsdoctor.report/1`` shape of
  ``docs/spec/diagnosis-json.md``. It is also the privacy boundary: the request is reduced to
  its origin, every free-text string goes through :func:`scrub`, and unknown keys are dropped,
  because the spec promises that nothing in a report identifies the user beyond a salted install
  id (no credentials, query strings, cookies or bodies).
- :class:`Reporter` owns a bounded in-memory queue and one daemon thread that hands events to
  the sinks. :meth:`Reporter.report` never blocks and never raises: when the queue is full the
  event is dropped and counted, when a sink fails the error is counted. A report must never slow
  down or fail the request it describes.
- :class:`JsonLinesSink` appends one event per line to ``reports.jsonl``, rotated by size and
  bounded in total, and stays readable after a crash (see its docstring for the design);
  :func:`read_reports` reads the files back.
- :class:`SentrySink` sends each event through a *dedicated* ``sentry_sdk`` client, so that a
  host application's own Sentry setup is neither replaced nor fed our events.

Sampling (which successes become ``sample`` reports) is the caller's decision;
:func:`should_sample` is the one helper for it, so every caller samples the same way.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import os
import queue
import random
import re
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self
from urllib.parse import urlsplit

from tlsdoctor.explain import REDACTED, redact

try:  # POSIX: an advisory lock makes rotation safe between processes sharing a directory
    import fcntl
except ImportError:  # pragma: no cover - Windows: threads are still serialised, processes are not
    fcntl = None  # type: ignore[assignment]

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


# -- scrubbing ---------------------------------------------------------------------------------
# explain.redact is the project's one redactor (people paste `curl -v` output with Authorization
# headers into tickets). A report leaves the machine unattended, so scrub() runs it and then a
# stricter pass of its own: URLs are cut to their origin, secret headers lose the rest of the
# line wherever they appear (not only at the start of a line), and any ``Bearer`` token goes,
# however short.

# The whole whitespace-free token after "://": its userinfo ends at the *last* "@", because people
# write passwords with unescaped "/" and "@" in them; a path with an "@" then loses its host too,
# which is the safe way to be wrong.
_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*)://(\S*)")
_HOST_PORT = re.compile(r"(?:\[[0-9A-Fa-f:.]*\]|[\w.-]*)(?::\d{1,5})?")
_TRAILING_PUNCTUATION = "'\")>,.;:!"  # not "]": it closes our own [redacted] marker
_HEADER_ANYWHERE = re.compile(
    r"\b((?:Proxy-)?Authorization|Set-Cookie|Cookie)([ \t]*:[ \t]*)[^\r\n]*", re.IGNORECASE
)
_BEARER = re.compile(r"\b(Bearer)[ \t]+\S+", re.IGNORECASE)
_PAIR = re.compile(
    r"\b([\w.-]*?(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|session[_-]?id|sessionid|"
    r"signature|sig|auth|credentials?))(['\"]?[ \t]*[=:][ \t]*)"
    r"(\"[^\"\r\n]*\"?|'[^'\r\n]*'?|[^\s\"'&,;}]+)",
    re.IGNORECASE,
)


def _origin_of_url(match: re.Match[str]) -> str:
    """``https://user:pw@host:8443/p?q#f`` → ``https://host:8443/[redacted]``: only the origin says
    something about TLS; userinfo, path, query and fragment may all carry secrets."""
    scheme = match[1]
    host_port = match[2].rpartition("@")[2]
    origin = _HOST_PORT.match(host_port)
    kept = origin[0] if origin else ""
    tail = host_port[len(kept):]
    if not tail:
        return f"{scheme}://{kept}"
    stripped = tail.rstrip(_TRAILING_PUNCTUATION)
    closing = tail[len(stripped):]
    return f"{scheme}://{kept}/{REDACTED}{closing}" if stripped else f"{scheme}://{kept}{closing}"


def _redact_pair(match: re.Match[str]) -> str:
    value = match[3]
    quote = value[0] if value[:1] in ("'", '"') else ""
    closing = quote if quote and len(value) > 1 and value.endswith(quote) else ""
    return f"{match[1]}{match[2]}{quote}{REDACTED}{closing}"


def _scrub_once(text: str, max_chars: int) -> str:
    text = redact(text)
    text = _HEADER_ANYWHERE.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    text = _URL.sub(_origin_of_url, text)
    text = _BEARER.sub(lambda m: f"{m[1]} {REDACTED}", text)
    text = _PAIR.sub(_redact_pair, text)
    if len(text) > max_chars:
        text = text[:max_chars]
    return text


def scrub(text: str | None, *, max_chars: int = MESSAGE_CAP) -> str:
    """``text`` without credentials, cookies, auth headers, URL userinfo, paths and query strings,
    at most ``max_chars`` long.

    Idempotent (``scrub(scrub(x)) == scrub(x)``), so the Sentry sink can scrub again without
    changing a report that :func:`build_report` already scrubbed.
    """
    if not text:
        return ""
    text = str(text)
    if len(text) > _SCRUB_INPUT_CAP:
        # Cut at whitespace: a token cut in half (``https://user:pa``) no longer looks like what
        # it is, and could slip past the patterns below.
        head = text[:_SCRUB_INPUT_CAP].rsplit(None, 1)
        text = head[0] if len(head) == 2 else ""
    # Capping can cut a marker in half (``token=[reda``) which a second pass would re-expand;
    # a few passes reach the fixed point that makes scrub idempotent.
    for _ in range(4):
        scrubbed = _scrub_once(text, max_chars)
        if scrubbed == text:
            break
        text = scrubbed
    return text


def origin_of(url: str) -> str:
    """``scheme://host:port`` of ``url`` — the only part of a request a report keeps.

    The port is always written (the spec's example writes ``:443``) so that reports group by
    origin whether or not the caller spelled the default port. Userinfo, path, query and
    fragment are dropped, never redacted in place: there is nothing to learn from them.
    """
    try:
        parts = urlsplit(str(url).strip())
        scheme, host = parts.scheme.lower(), parts.hostname or ""
    except ValueError:  # e.g. an unclosed IPv6 bracket: nothing is safe to keep
        return ""
    try:
        port = parts.port
        if port is None:
            port = {"https": 443, "http": 80}.get(scheme)
    except ValueError:  # an out-of-range or non-numeric port: keep scheme and host
        port = None
    if ":" in host:
        host = f"[{host}]"
    origin = f"{scheme}://{host}" if port is None else f"{scheme}://{host}:{port}"
    return scrub(origin, max_chars=_FIELD_CAP)


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
    return {
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


def _scrub_strings(value: Any) -> Any:
    """Every string in a JSON-like value scrubbed: the last line of defence for events that did
    not come from :func:`build_report`. Idempotent on events that did."""
    if isinstance(value, str):
        return scrub(value, max_chars=MESSAGE_CAP)
    if isinstance(value, Mapping):
        return {str(key): _scrub_strings(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub_strings(item) for item in value]
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


# -- sinks ---------------------------------------------------------------------------------------


class ReportSink(Protocol):
    """Where the :class:`Reporter`'s worker delivers events. ``write`` may block or raise; the
    reporter isolates the request path from both."""

    def write(self, event: Mapping[str, Any]) -> None: ...

    def flush(self, timeout: float) -> None: ...

    def close(self) -> None: ...


@contextlib.contextmanager
def _locked(fd: int) -> Iterator[None]:
    if fcntl is None:  # pragma: no cover
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _last_byte(fd: int, size: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, 1, size - 1)
    os.lseek(fd, size - 1, os.SEEK_SET)  # pragma: no cover - Windows
    return os.read(fd, 1)  # pragma: no cover


class JsonLinesSink:
    """Events as JSON Lines in ``directory/reports.jsonl``, rotated by size, bounded in total.

    Crash safety, by construction rather than by fsync:

    - Each event is encoded to one complete line (``json.dumps(...) + "\\n"``) and written with
      **one** ``os.write`` on a descriptor opened with ``O_APPEND``. The kernel places the whole
      buffer at the end of the file, never interleaved with another appender's, so a crash can
      at worst leave a partial *last* line — never a line mixed from two events, never a torn
      line in the middle. (Even one write can be cut short: Linux stops copying a multi-page
      write when SIGKILL arrives between pages, and power loss keeps whatever reached the disk.
      The test that kills a writer 20 times sees this happen; the next two points are why it
      does no harm.)
    - Before appending, the writer checks the file's last byte. If it is not ``"\\n"`` (a torn
      write by a crashed process, a short write on a full disk), it writes ``"\\n"`` first, in
      the same ``os.write``. A torn fragment therefore stays alone on its own line and never
      glues onto the next event.
    - Every line is a JSON object, and a strict prefix of a JSON object is never valid JSON, so
      :func:`read_reports` recognises a torn fragment by failing to parse it and skips it.

    Rotation: when the next line would take ``reports.jsonl`` past ``max_bytes``, the file
    becomes ``reports.jsonl.1`` (``.1`` → ``.2`` ... up to ``backups``, the oldest is dropped),
    so the total stays under ``(backups + 1) * max_bytes``. Events are small (the message is
    capped), so no fsync per event: losing the last events on power loss is acceptable, a
    corrupt file is not. Several processes may share a directory: on POSIX an ``flock`` on the
    file serialises the check-rotate-append step, and a writer whose file was rotated away
    (by another process or by logrotate) notices the changed inode and reopens.
    """

    FILENAME = "reports.jsonl"

    def __init__(self, directory: str | os.PathLike[str], *, max_bytes: int = 1 << 20, backups: int = 3) -> None:
        if max_bytes < 1024:
            raise ValueError("max_bytes below 1 KiB cannot hold a report")
        if backups < 0:
            raise ValueError("backups cannot be negative")
        self.directory = Path(directory)
        self.path = self.directory / self.FILENAME
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
            self._fd = os.open(self.path, flags, 0o600)  # reports are the user's business only
        return self._fd

    def _close_fd(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def _is_stale(self, fd: int) -> bool:
        """Our descriptor no longer names ``reports.jsonl`` (rotated or removed meanwhile)."""
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return True
        opened = os.fstat(fd)
        return (opened.st_dev, opened.st_ino) != (current.st_dev, current.st_ino)

    def _rotate(self) -> None:
        """Shift ``reports.jsonl`` → ``.1`` → ... → ``.{backups}``; the oldest is overwritten."""
        if self.backups == 0:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            return
        for index in range(self.backups, 0, -1):
            source = self.path if index == 1 else self.path.with_name(f"{self.FILENAME}.{index - 1}")
            with contextlib.suppress(FileNotFoundError):
                os.replace(source, self.path.with_name(f"{self.FILENAME}.{index}"))

    def write(self, event: Mapping[str, Any]) -> None:
        """Append ``event`` as one line. Raises on an unserialisable or oversized event and on I/O
        errors; the :class:`Reporter` counts those, the file stays well-formed."""
        line = (json.dumps(event, separators=(",", ":"), allow_nan=False) + "\n").encode("ascii")
        if len(line) > self.max_bytes:
            raise ValueError(f"a report of {len(line)} bytes exceeds max_bytes={self.max_bytes}")
        with self._lock:
            # Bounded: one round to notice a stale descriptor, one to rotate, one to write.
            for _ in range(4):
                fd = self._open()
                rotated = False
                with _locked(fd):
                    if self._is_stale(fd):
                        stale = True
                    else:
                        stale = False
                        size = os.fstat(fd).st_size
                        repair = b"\n" if size and _last_byte(fd, size) != b"\n" else b""
                        if size and size + len(repair) + len(line) > self.max_bytes:
                            self._rotate()
                            rotated = True
                        else:
                            data = repair + line
                            written = os.write(fd, data)
                            if written != len(data):
                                # The file now ends in a torn line; the next write repairs it.
                                raise OSError(f"short write to {self.path}: {written} of {len(data)} bytes")
                            return
                if stale or rotated:
                    self._close_fd()
            raise OSError(f"{self.path} kept changing under the writer")  # pragma: no cover

    def flush(self, timeout: float = 0.0) -> None:
        """Nothing to do: every ``write`` has reached the kernel when it returns."""

    def close(self) -> None:
        with self._lock:
            self._close_fd()


def read_reports(directory: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every intact report in ``directory``, oldest first (``reports.jsonl.N`` ... ``.1``, then
    ``reports.jsonl``). Torn fragments left by a crash, and anything else that is not a JSON
    object on its own line, are skipped."""
    base = Path(directory) / JsonLinesSink.FILENAME
    backups = sorted(
        (p for p in base.parent.glob(f"{JsonLinesSink.FILENAME}.*") if p.suffix[1:].isdigit()),
        key=lambda p: int(p.suffix[1:]),
        reverse=True,
    )
    reports: list[dict[str, Any]] = []
    for path in [*backups, base]:
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # rotated away between listing and reading
            continue
        lines = data.split(b"\n")
        # The segment after the last newline is a line still being written or torn by a crash.
        for raw in lines[:-1]:
            try:
                event = json.loads(raw)
            except ValueError:  # includes UnicodeDecodeError
                continue
            if isinstance(event, dict):
                reports.append(event)
    return reports


class SentrySink:
    """Reports as Sentry events, through a client of our own.

    ``sentry_sdk.init`` would replace the host application's client (or feed it our events), so
    the sink builds a ``sentry_sdk.Client`` and calls ``Client.capture_event(event, scope=None)``
    directly: no global hub, scope or client is created or touched, and the host's scope data
    (user, breadcrumbs, tags) never leaks into our events. The client runs with no integrations
    (nothing patched, no ``sys.argv`` or module list), PII collection off, an empty
    ``server_name`` (the SDK would send the hostname) and an explicit release (the SDK would
    otherwise run ``git`` in the working directory to guess one). ``before_send`` keeps only the
    fields this sink sets and scrubs every string again.

    Each report becomes one event: message ``tlsdoctor: {code} on {stack}``, level ``error`` for
    failures and fallbacks and ``info`` otherwise, tags for the facts people filter by, the
    fingerprint ``["tlsdoctor", code]`` (one Sentry issue per finding code, whatever the message
    says), and the report itself under ``contexts["tlsdoctor"]``.
    """

    LEVELS: ClassVar[dict[str, str]] = {"failure": "error", "fallback": "error", "validation": "info", "sample": "info"}
    _KEPT_EVENT_KEYS = frozenset(
        {"event_id", "timestamp", "level", "platform", "sdk", "release", "environment", "message",
         "logger", "tags", "fingerprint", "contexts", "type"}
    )

    def __init__(
        self,
        dsn: str,
        *,
        environment: str = "production",
        release: str | None = None,
        kinds: Collection[str] = REPORT_KINDS,
        shutdown_timeout: float = 2.0,
    ) -> None:
        import sentry_sdk  # imported here: only applications that configure a DSN need it

        self.kinds = frozenset(kinds)
        options: dict[str, Any] = {
            "dsn": dsn,
            "environment": environment,
            "release": release or "",  # "" rather than None: None makes the SDK run `git rev-parse`
            "server_name": "",
            "default_integrations": False,
            "auto_enabling_integrations": False,
            "integrations": [],
            "max_breadcrumbs": 0,
            "attach_stacktrace": False,
            "include_local_variables": False,
            "traces_sample_rate": None,
            "auto_session_tracking": False,
            "enable_backpressure_handling": False,
            "spotlight": False,
            "shutdown_timeout": shutdown_timeout,
            "before_send": self._before_send,
        }
        # PII stays off. sentry-sdk 2.x defaults send_default_pii to off, and from the releases
        # that introduced ``data_collection`` on, passing it at all is deprecated (a warning at
        # every start); older 2.x releases get the explicit False.
        if "data_collection" not in inspect.signature(sentry_sdk.consts.ClientConstructor.__init__).parameters:
            options["send_default_pii"] = False
        # Building a client rewrites the SDK-wide SDK_INFO["name"] from *its* integration list;
        # restore it so the host application's events keep naming its framework integration.
        sdk_info = getattr(getattr(sentry_sdk, "client", None), "SDK_INFO", None)
        previous_name = sdk_info.get("name") if isinstance(sdk_info, dict) else None
        try:
            self._client = sentry_sdk.Client(**options)
        finally:
            if previous_name is not None and isinstance(sdk_info, dict):
                sdk_info["name"] = previous_name

    def _before_send(self, event: dict[str, Any], hint: Mapping[str, Any]) -> dict[str, Any]:
        kept = {key: value for key, value in event.items() if key in self._KEPT_EVENT_KEYS}
        contexts = event.get("contexts") or {}
        kept["contexts"] = {"tlsdoctor": _scrub_strings(contexts.get("tlsdoctor", {}))}
        for key in ("message", "tags"):
            if key in kept:
                kept[key] = _scrub_strings(kept[key])
        return kept

    @staticmethod
    def _tag(value: Any) -> str:
        """Sentry tag values are non-empty single-line strings of at most 200 characters."""
        text = " ".join(str(value).split())[:200] if value is not None else ""
        return text or "none"

    def write(self, event: Mapping[str, Any]) -> None:
        """Queue ``event`` on the SDK's transport (which sends from its own thread)."""
        kind = event.get("kind")
        if kind not in self.kinds:
            return
        outcome = event.get("outcome") or {}
        cohort = event.get("cohort") or {}
        request = event.get("request") or {}
        environment = event.get("environment") or {}
        code = outcome.get("code") or ("ok" if outcome.get("ok") else "unknown")
        stack = event.get("stack") or "unknown"
        sentry_event: dict[str, Any] = {
            "message": f"tlsdoctor: {code} on {stack}",
            "level": self.LEVELS.get(str(kind), "info"),
            "logger": "tlsdoctor.client",
            "tags": {
                "stack": self._tag(stack),
                "code": self._tag(code),
                "curl_code": self._tag(outcome.get("curl_code")),
                "kind": self._tag(kind),
                "cohort": self._tag(cohort.get("value")),
                "http_version": self._tag(request.get("http_version")),
                "proxy_configured": self._tag(environment.get("proxy_configured")),
            },
            "fingerprint": ["tlsdoctor", str(code)],
            "contexts": {"tlsdoctor": dict(event)},
        }
        if event.get("app_version"):
            sentry_event["release"] = str(event["app_version"])
        self._client.capture_event(sentry_event, scope=None)

    def flush(self, timeout: float = 2.0) -> None:
        """Wait (at most ``timeout`` seconds) until queued events have been sent."""
        self._client.flush(timeout=timeout)

    def close(self, timeout: float = 2.0) -> None:
        self._client.close(timeout=timeout)


# -- the reporter --------------------------------------------------------------------------------


class Reporter:
    """A bounded queue of reports and one daemon thread that delivers them to the sinks.

    :meth:`report` is the only method the request path calls, and it neither blocks nor raises:
    a full queue (sinks slower than failures arrive, a Sentry outage) drops the event and counts
    it in :attr:`dropped`; a sink that raises is counted in :attr:`errors` and the worker carries
    on with the next sink and the next event. The thread is a daemon so that a forgotten
    :meth:`close` never keeps an application from exiting.
    """

    _STOP = object()

    def __init__(self, sinks: Sequence[ReportSink], *, max_queue: int = 1000, name: str = "tlsdoctor-reporter") -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.sinks = list(sinks)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._state = threading.Condition()
        self._pending = 0  # accepted by report() and not yet through every sink
        self._closed = False
        self.dropped = 0
        self.errors = 0
        self.delivered = 0
        self._worker = threading.Thread(target=self._run, name=name, daemon=True)
        self._worker.start()

    def report(self, event: Mapping[str, Any]) -> bool:
        """Hand ``event`` to the worker; False (and counted in :attr:`dropped`) if it was not
        accepted. The reporter takes ownership: do not mutate ``event`` afterwards."""
        try:
            with self._state:
                if self._closed:
                    self.dropped += 1
                    return False
                self._pending += 1
            try:
                self._queue.put_nowait(event)
            except queue.Full:
                with self._state:
                    self._pending -= 1
                    self.dropped += 1
                    self._state.notify_all()
                return False
            return True
        except Exception:  # noqa: BLE001 - a report must never fail the request it describes
            return False

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if event is self._STOP:
                return
            failures = 0
            for sink in self.sinks:
                try:
                    sink.write(event)
                except Exception:  # noqa: BLE001 - counted, never propagated
                    failures += 1
            with self._state:
                self.errors += failures
                self.delivered += 1
                self._pending -= 1
                self._state.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait at most ``timeout`` seconds until every accepted event went through the sinks
        (and the sinks flushed); True if that happened in time."""
        deadline = time.monotonic() + timeout
        with self._state:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._state.wait(remaining)
        for sink in self.sinks:
            try:
                sink.flush(max(0.0, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001
                with self._state:
                    self.errors += 1
        return True

    def close(self, timeout: float = 5.0) -> bool:
        """Stop accepting reports, deliver what is queued (at most ``timeout`` seconds), stop the
        worker and close the sinks. True if everything queued was delivered."""
        deadline = time.monotonic() + timeout
        with self._state:
            already_closed, self._closed = self._closed, True
        if already_closed:
            return not self._worker.is_alive()
        drained = self.flush(timeout)
        try:
            self._queue.put(self._STOP, timeout=max(0.0, deadline - time.monotonic()))
        except queue.Full:
            return False  # the worker is stuck in a sink; it is a daemon and dies with the process
        self._worker.join(max(0.0, deadline - time.monotonic()))
        if self._worker.is_alive():
            return False
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:  # noqa: BLE001
                with self._state:
                    self.errors += 1
        return drained

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

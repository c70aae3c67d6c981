"""Which stack is broken for which origin: Chromium's "broken alternative service" memory.

A stack that failed where the other succeeded is marked broken for that origin and skipped
until the mark expires: 5 minutes, doubling with each new failure up to 2 days; a success
on that stack clears it. Marks persist across restarts in one JSON file.

The state directory is untrusted (issue 12): it lives on machines we do not control, other
processes of the same app share it, users and cleaners edit it. So:

- **Any content loads.** A file of the wrong shape, wrong types, ``failures: 1000000`` or
  ``until: Infinity`` gives a working set of marks: bad entries are skipped, counts are clamped
  to [1, 64] and expiry to at most :data:`MAX_BACKOFF` from now (a mark can never be permanent).
- **Any permission works.** A read-only directory, a parent path that is a file, a full disk:
  the marks stay in memory and nothing raises. A request that worked never fails on state.
- **Concurrent writers merge.** Each change takes an exclusive lock on ``broken-origins.lock``
  (POSIX ``flock``), re-reads the file, applies only its own change (a mark keeps the larger
  failure count and later expiry of the two; a clear removes one key), and replaces the file
  atomically (temp file, fsync, rename). Two processes marking 200 origins each leave 400 marks.
  Where ``flock`` does not exist the re-read still narrows the window to the write itself.

Reads (``is_broken``) never touch the disk: the in-memory view is refreshed with every change
this process makes, which is when it matters.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SCHEMA = "tlsdoctor.broken-origins/1"
INITIAL_BACKOFF = 5 * 60.0
MAX_BACKOFF = 2 * 24 * 3600.0
MAX_FAILURES = 64  # 5 min × 2**63 overflows a float's exponent long before: the backoff caps at 2 days anyway
MAX_ENTRIES = 10_000  # bounded: the marks that expire first go first
MAX_KEY_CHARS = 600  # "stack origin": an origin is scheme, a host of at most 255, a port
MAX_FILE_BYTES = 4 << 20  # a state file larger than this is not ours: ignored, then replaced


@dataclass(frozen=True)
class Mark:
    failures: int
    until: float  # wall-clock seconds: the mark must survive restarts

    @property
    def backoff(self) -> float:
        exponent = min(max(self.failures, 1), MAX_FAILURES) - 1
        return min(INITIAL_BACKOFF * 2.0 ** min(exponent, 32), MAX_BACKOFF)


def _clamped(key: Any, value: Any, now: float) -> Mark | None:
    """A mark from untrusted JSON, or None if nothing sensible can be made of it."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS or not isinstance(value, dict):
        return None
    failures, until = value.get("failures"), value.get("until")
    if isinstance(failures, bool) or not isinstance(failures, (int, float)) or not math.isfinite(failures):
        return None
    if isinstance(until, bool) or not isinstance(until, (int, float)) or math.isnan(until):
        return None
    return Mark(int(min(max(failures, 1), MAX_FAILURES)), float(min(until, now + MAX_BACKOFF)))


def parse_marks(text: str | bytes, now: float) -> dict[str, Mark]:
    """The marks in a state file's text, whatever it holds (never raises)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # includes UnicodeDecodeError; deep nesting
        return {}
    marks = data.get("marks") if isinstance(data, dict) else None
    if not isinstance(marks, dict):
        return {}
    parsed: dict[str, Mark] = {}
    for key, value in marks.items():
        mark = _clamped(key, value, now)
        if mark is not None:
            parsed[key] = mark
    return parsed


class BrokenOrigins:
    def __init__(self, path: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self.write_errors = 0  # state writes that failed (read-only, not a directory, disk full)
        self._marks: dict[str, Mark] = self._read()
        # Whether any mark is held: the client reads this on every request (an attribute, not a
        # call), and the common answer (no) lets it skip the lookups. Kept by _update.
        self.marked = bool(self._marks)

    @staticmethod
    def _key(origin: str, stack: str) -> str:
        return f"{stack} {origin}"

    def is_broken(self, origin: str, stack: str) -> bool:
        if not self._marks:  # the common case, on every request: no lock needed to see nothing
            return False
        with self._lock:
            mark = self._marks.get(self._key(origin, stack))
            return mark is not None and mark.until > self._clock()

    def mark(self, origin: str, stack: str) -> Mark:
        key = self._key(origin, stack)

        def change(marks: dict[str, Mark]) -> Mark:
            previous = marks.get(key)
            failures = min((previous.failures + 1) if previous else 1, MAX_FAILURES)
            mark = Mark(failures, 0.0)
            mark = Mark(failures, self._clock() + mark.backoff)
            marks[key] = mark
            return mark

        with self._lock:
            return self._update(change)

    def clear(self, origin: str, stack: str) -> None:
        if not self._marks:
            return
        key = self._key(origin, stack)
        with self._lock:
            if key not in self._marks:
                return  # the common case, every successful request: no disk work at all
            self._update(lambda marks: marks.pop(key, None))

    def get(self, origin: str, stack: str) -> Mark | None:
        with self._lock:
            return self._marks.get(self._key(origin, stack))

    # -- the file ----------------------------------------------------------------------------------

    def _read(self) -> dict[str, Mark]:
        if self._path is None:
            return {}
        try:
            with open(self._path, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except (OSError, ValueError):  # missing, unreadable, a directory, a parent that is a file
            return {}
        if len(data) > MAX_FILE_BYTES:
            return {}
        return parse_marks(data, self._clock())

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """An exclusive lock shared with other processes using this state directory."""
        assert self._path is not None
        fd = None
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            # No lock to be had (read-only directory...): carry on; the write will fail the same way.
            if fd is not None:
                os.close(fd)
                fd = None
        try:
            yield
        finally:
            if fd is not None:
                os.close(fd)  # closing releases the flock

    def _update(self, change: Callable[[dict[str, Mark]], Any]) -> Any:
        """Apply ``change`` to the freshest marks (the file's, under the lock), save, and return
        what ``change`` returned. Memory always gets the change, whatever the disk does."""
        try:
            return self._apply_change(change)
        finally:
            self.marked = bool(self._marks)

    def _apply_change(self, change: Callable[[dict[str, Mark]], Any]) -> Any:
        if self._path is None:
            return change(self._marks)
        applied = False
        try:
            with self._file_lock():
                marks = self._read()
                # Marks only this process knows (the file was unwritable, or removed) are kept.
                for key, mark in self._marks.items():
                    marks.setdefault(key, mark)
                result = change(marks)
                applied = True
                self._marks = self._bounded(marks)
                self._write(self._marks)
            return result
        except Exception:  # noqa: BLE001 - state is best effort: the change stands in memory
            self.write_errors += 1
            return result if applied else change(self._marks)

    @staticmethod
    def _bounded(marks: dict[str, Mark]) -> dict[str, Mark]:
        if len(marks) <= MAX_ENTRIES:
            return marks
        kept = sorted(marks.items(), key=lambda item: item[1].until)[len(marks) - MAX_ENTRIES:]
        return dict(kept)

    def _write(self, marks: dict[str, Mark]) -> None:
        assert self._path is not None
        payload = json.dumps({"schema": SCHEMA,
                              "marks": {k: {"failures": m.failures, "until": m.until} for k, m in marks.items()}},
                             allow_nan=False)
        fd, tmp = tempfile.mkstemp(prefix=".broken-", dir=self._path.parent)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

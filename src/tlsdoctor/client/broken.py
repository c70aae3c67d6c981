"""Which stack is broken for which origin: Chromium's "broken alternative service" memory.

A stack that failed where the other succeeded is marked broken for that origin and skipped
until the mark expires: 5 minutes, doubling with each new failure up to 2 days; a success
on that stack clears it. Marks persist across restarts in one JSON file, written
atomically (temp file, fsync, rename), so a crash leaves the old state or the new one,
never half of either.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

INITIAL_BACKOFF = 5 * 60.0
MAX_BACKOFF = 2 * 24 * 3600.0
MAX_ENTRIES = 10_000  # bounded: the oldest marks go first


@dataclass(frozen=True)
class Mark:
    failures: int
    until: float  # wall-clock seconds: the mark must survive restarts

    @property
    def backoff(self) -> float:
        return min(INITIAL_BACKOFF * 2 ** (self.failures - 1), MAX_BACKOFF)


class BrokenOrigins:
    def __init__(self, path: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._marks: dict[str, Mark] = self._load()

    @staticmethod
    def _key(origin: str, stack: str) -> str:
        return f"{stack} {origin}"

    def is_broken(self, origin: str, stack: str) -> bool:
        with self._lock:
            mark = self._marks.get(self._key(origin, stack))
            return mark is not None and mark.until > self._clock()

    def mark(self, origin: str, stack: str) -> Mark:
        with self._lock:
            key = self._key(origin, stack)
            previous = self._marks.get(key)
            failures = (previous.failures + 1) if previous else 1
            mark = Mark(failures, 0.0)
            mark = Mark(failures, self._clock() + mark.backoff)
            self._marks[key] = mark
            if len(self._marks) > MAX_ENTRIES:
                for stale in sorted(self._marks, key=lambda k: self._marks[k].until)[: len(self._marks) - MAX_ENTRIES]:
                    del self._marks[stale]
            self._save()
            return mark

    def clear(self, origin: str, stack: str) -> None:
        with self._lock:
            if self._marks.pop(self._key(origin, stack), None) is not None:
                self._save()

    def get(self, origin: str, stack: str) -> Mark | None:
        with self._lock:
            return self._marks.get(self._key(origin, stack))

    def _load(self) -> dict[str, Mark]:
        if self._path is None or not self._path.is_file():
            return {}
        try:
            data = json.loads(self._path.read_text())
            return {k: Mark(int(v["failures"]), float(v["until"])) for k, v in data["marks"].items()}
        except (OSError, ValueError, KeyError, TypeError):
            return {}  # a damaged state file costs us the marks, never a request

    def _save(self) -> None:
        if self._path is None:
            return
        payload = json.dumps({"schema": "tlsdoctor.broken-origins/1",
                              "marks": {k: {"failures": m.failures, "until": m.until} for k, m in self._marks.items()}})
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".broken-", dir=self._path.parent)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self._path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass

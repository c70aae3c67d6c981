"""Reports on disk: JSON Lines in ``reports.jsonl``, rotated by size, safe against crashes and
concurrent writers, and :func:`read_reports` to read them back."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

try:  # POSIX: an advisory lock makes rotation safe between processes sharing a directory
    import fcntl
except ImportError:  # pragma: no cover - Windows: threads are still serialised, processes are not
    fcntl = None  # type: ignore[assignment]


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

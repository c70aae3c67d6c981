"""This install's random id: what the rollout hashes and what reports carry, identifying nothing.

An install needs one stable id for the rollout (GrowthBook buckets by it, so an install
stays in its cohort across restarts) and for its reports (so a fleet can count installs,
not requests). It is random — never derived from a machine, a user or a network — and kept
in the client's state directory; see :func:`install_id`.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

INSTALL_ID_FILE = "install-id"
_INSTALL_ID_RE = re.compile(r"[0-9a-f]{32}")


def install_id(state_dir: Path) -> str:
    """This install's random id: 128 bits, hex, kept in ``state_dir/install-id``.

    Random rather than derived from a machine or user id so that the rollout hash (and
    the reports that carry it) identify nothing. Created once, atomically (a temporary
    file, then a link or rename), mode 0600; a corrupt file is replaced. If two
    processes start at once, the first one to link its file wins and the other adopts
    its id, so an install never has two ids.

    If the state directory cannot be written (read-only home, full disk), an ephemeral
    id is returned and a warning logged: the app must still start, at the price of
    being re-bucketed on every start.
    """
    path = Path(state_dir) / INSTALL_ID_FILE
    existing, present = _read_install_id(path)
    if existing is not None:
        _tighten_mode(path)
        return existing
    fresh = secrets.token_hex(16)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".install-id.", suffix=".tmp")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(fresh + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)  # mkstemp already uses 0600; say it for other platforms
            if present:
                # Corrupt: replace it. A racing process doing the same may win; both
                # then read back whatever is on disk.
                os.replace(tmp, path)
            else:
                try:
                    # link() fails if the name exists: creation without clobbering a
                    # concurrent winner, which rename() would do.
                    os.link(tmp, path)
                except FileExistsError:
                    pass
                except OSError:
                    os.replace(tmp, path)  # a filesystem without hard links
        finally:
            tmp.unlink(missing_ok=True)
        on_disk, _ = _read_install_id(path)
        return on_disk if on_disk is not None else fresh
    except OSError as exc:
        log.warning("cannot store the install id in %s (%s); using an ephemeral one", path, exc)
        return fresh


def _read_install_id(path: Path) -> tuple[str | None, bool]:
    """(the valid id or None, whether something is at ``path``)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(256)
    except FileNotFoundError:
        return None, False
    except OSError:
        return None, True
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return None, True
    return (text, True) if _INSTALL_ID_RE.fullmatch(text) else (None, True)


def _tighten_mode(path: Path) -> None:
    try:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
    except OSError:
        pass

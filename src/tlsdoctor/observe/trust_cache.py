"""Parsed trust stores kept on disk between processes, so a ``tlsdoctor diagnose`` does not parse them again.

Reading and parsing the OS store (Debian: a 144-certificate bundle, a directory of ~220
hash links, and OpenSSL's own load of the file as a cross-check) costs ~110 ms per
process, certifi's bundle another ~40 ms: more than the whole diagnosis of a healthy
server. Both change a few times a year. So a source's parse is written once to
``$XDG_CACHE_HOME/tlsdoctor`` (``~/.cache/tlsdoctor``; ``TLSDOCTOR_CACHE_DIR`` overrides,
and an empty value turns the cache off), and read back as DER (~5 ms).

The key is what the parse depends on: the source's paths and names, each file's
*content* (SHA-256) and each directory's listing with every entry's size, mtime and
inode, plus the tlsdoctor and cryptography versions (a new parser may read a file
differently). Any change misses, and the source is read again.

The cache is a convenience, never an authority: a file that is not ours alone (another
owner, group- or world-writable, a symlink), too large, not our schema, or not exactly
the key asked for, is ignored, and any error reading or writing it falls back to parsing
the source. Only sources of at least :data:`MIN_CERTIFICATES` certificates are written:
parsing a small file costs less than caching it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from tlsdoctor.observe.pem import MAX_CA_FILE_BYTES, load_der_quietly, read_ca_file_bytes

SCHEMA = "tlsdoctor.trust-cache/1"
MIN_CERTIFICATES = 32
MAX_CACHE_FILE_BYTES = 16 * 1024 * 1024
MAX_CACHE_FILES = 16  # one per store a machine uses; older ones are removed beyond this
MAX_LISTED_ENTRIES = 5000
_PREFIX = "trust-"


def cache_dir() -> Path | None:
    """Where the cache lives, or None when turned off (``TLSDOCTOR_CACHE_DIR=""``)."""
    configured = os.environ.get("TLSDOCTOR_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tlsdoctor"


def file_fingerprint(path: str) -> str | None:
    """SHA-256 of a CA file's content; None when the loaders would not read it either.

    Read as the loaders read: a FIFO, a device or an oversized file is refused, never
    waited on or read whole.
    """
    data, _error = read_ca_file_bytes(path, MAX_CA_FILE_BYTES)
    return hashlib.sha256(data).hexdigest() if data is not None else None


def directory_fingerprint(path: str) -> str | None:
    """A digest of a directory's listing: each entry's name, size, mtime and inode (links followed)."""
    digest = hashlib.sha256()
    try:
        with os.scandir(path) as entries:
            for count, entry in enumerate(sorted(entries, key=lambda e: e.name)):
                if count >= MAX_LISTED_ENTRIES:
                    break
                try:
                    st = entry.stat()  # follows links, as OpenSSL does when it opens one
                    digest.update(f"{entry.name}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode())
                except OSError:
                    digest.update(f"{entry.name}\0dangling\n".encode())
    except OSError:
        return None
    return digest.hexdigest()


def cache_key(*parts: object) -> str:
    """The key for a source read from ``parts`` (paths, fingerprints...), with the parser versions."""
    import cryptography

    from tlsdoctor import __version__

    text = json.dumps([SCHEMA, __version__, cryptography.__version__, *parts], default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def load(key: str) -> dict[str, Any] | None:
    """The cached source fields for ``key`` (certificates as objects), or None on any doubt."""
    directory = cache_dir()
    if directory is None:
        return None
    path = directory / f"{_PREFIX}{key[:32]}.json"
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not _ours_alone(st) or st.st_size > MAX_CACHE_FILE_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            document = json.loads(handle.read(MAX_CACHE_FILE_BYTES + 1))
        if not isinstance(document, dict) or document.get("schema") != SCHEMA or document.get("key") != key:
            return None
        fields = document["source"]
        # Quietly: the warnings a malformed entry raised were recorded at the first parse (``malformed``).
        certificates = tuple(load_der_quietly(base64.b64decode(der), []) for der in fields["certificates"])
        return {**fields, "certificates": certificates}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    finally:
        os.close(fd)


def save(key: str, fields: dict[str, Any]) -> None:
    """Write a source's fields for ``key``; silently does nothing when the cache cannot be written."""
    directory = cache_dir()
    certificates = fields.get("certificates", ())
    if directory is None or len(certificates) < MIN_CERTIFICATES:
        return
    from tlsdoctor.observe.pem import Encoding

    document = {"schema": SCHEMA, "key": key, "source": {
        **fields, "certificates": [base64.b64encode(c.public_bytes(Encoding.DER)).decode("ascii") for c in certificates],
    }}
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _ours_alone(os.stat(directory, follow_symlinks=False), directory=True):
            return
        import tempfile  # only when writing: it imports shutil, bz2, lzma (~15 ms) that a hit never needs

        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".trust-", suffix=".tmp")  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle)
            os.replace(tmp, directory / f"{_PREFIX}{key[:32]}.json")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        _prune(directory)
    except (OSError, ValueError, TypeError):
        return


def _ours_alone(st: os.stat_result, *, directory: bool = False) -> bool:
    kind = stat.S_ISDIR(st.st_mode) if directory else stat.S_ISREG(st.st_mode)
    owner_ok = not hasattr(os, "geteuid") or st.st_uid == os.geteuid()
    return kind and owner_ok and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _prune(directory: Path) -> None:
    """Keep the :data:`MAX_CACHE_FILES` most recently written entries."""
    entries = sorted(directory.glob(f"{_PREFIX}*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for stale in entries[MAX_CACHE_FILES:]:
        stale.unlink(missing_ok=True)

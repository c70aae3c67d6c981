"""Trust sources: the certificates a client trusts, and why a source holds none.

A client trusts what is in *its* CA file or store, and the field failures that matter most
(``trust.store_mismatch``, ``trust.interception``, ``clock.skewed``) are differences between
trust sources. :class:`TrustSource` records the certificates one source holds — the CA file
the client uses (``"ca-bundle"``, e.g. certifi's), the machine's OpenSSL default store
(``"os-store"``), a file the user names (``"extra-ca"``) — and why it holds none when it
holds none. Loaders never raise for a bad file: "the CA file is missing" is itself the most
useful observation (``trust.bundle_missing``).

Parsed sources are cached per process, keyed by each file's path, size and mtime (and a
directory's listing): the OS store alone takes 58-110 ms to read and parse, and a batch or
a client diagnoses many URLs against the same stores. A file that changes is re-read.
Large sources are also kept on disk between processes (:mod:`tlsdoctor.observe.trust_cache`).
The machine's own store is read by :mod:`tlsdoctor.observe.os_store`, through this cache.
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import fields as fields_of
from typing import Callable

from cryptography import x509
from cryptography.x509.verification import Store

from tlsdoctor.observe import trust_cache
from tlsdoctor.observe.pem import (
    MAX_CA_ENTRIES,
    MAX_CA_FILE_BYTES,
    certificate_blocks,
    decode_block,
    must_propagate,
    not_pem_reason,
    one_line,
    openssl_load_error,
    file_identity,
    read_ca_file_bytes,
    subject_text,
)
from tlsdoctor.records import record

SOURCE_NAMES = ("ca-bundle", "os-store", "extra-ca")


# -- trust sources -------------------------------------------------------------------------


@record
class TrustSource:
    """The certificates one trust source holds.

    ``certificates`` holds only entries that decode (what a verifier can use);
    ``entries_total`` counts certificate blocks seen, ``unparseable`` those that did not
    decode. ``error`` says, in one line, why the source is unusable (missing, unreadable,
    not PEM, empty); partial problems that do not make it unusable go to ``notes``.
    ``openssl_error`` is what OpenSSL itself says loading the file, when it refuses it: a
    file cryptography reads may still be one curl fails on with code 77.
    """

    name: str  # "ca-bundle" (the CA file the client uses), "os-store", "extra-ca"
    description: str  # human words: "certifi's CA bundle (/…/cacert.pem)"
    path: str | None
    certificates: tuple[x509.Certificate, ...] = ()
    error: str | None = None
    entries_total: int = 0
    unparseable: int = 0
    openssl_error: str | None = None  # OpenSSL's words when it refuses the file (None: it loads, or not asked)
    notes: tuple[str, ...] = ()
    # Entries that parse only with a library warning ("line 3021 (CN=...): serial number not
    # positive"): accepted today, refused by a future cryptography. Summarised in ``notes``.
    malformed: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        return self.error is None and bool(self.certificates)

    @functools.cached_property
    def store(self) -> Store:
        """The anchors as a verifier ``Store``, built once per source (it costs ~1 ms per 100 roots)."""
        return Store(list(self.certificates))


@record
class _Loaded:
    """What reading one PEM file gave (shared by files, directories and the OS store)."""

    certificates: tuple[x509.Certificate, ...] = ()
    error: str | None = None
    entries_total: int = 0
    unparseable: int = 0  # blocks cryptography cannot decode
    openssl_error: str | None = None  # what OpenSSL says loading the file; None when it loads
    truncated: bool = False
    malformed: tuple[str, ...] = ()  # entries decoded with a library warning: "line N (subject): warning"


def load_pem_file(path: str | os.PathLike[str], limit: int = MAX_CA_FILE_BYTES, *, ask_openssl: bool = True) -> _Loaded:
    data, error = read_ca_file_bytes(path, limit)
    if data is None:
        return _Loaded(error=error)
    if not data.strip():
        return _Loaded(error="empty file")
    blocks, truncated = certificate_blocks(data)
    if not blocks:
        return _Loaded(error=not_pem_reason(data))
    certs = []
    malformed = []
    for block in blocks:
        warned: list[str] = []
        try:
            cert = decode_block(block, warned)
        except ValueError:
            continue
        certs.append(cert)
        if warned:
            malformed.append(f"line {block.line} ({subject_text(cert)}){WARNING_SEPARATOR}{'; '.join(dict.fromkeys(warned))}")
    openssl_error = openssl_load_error(cafile=os.fspath(path)) if ask_openssl else None
    if not certs:
        return _Loaded(error=f"no usable certificate: none of its {len(blocks)} entries decodes",
                       entries_total=len(blocks), unparseable=len(blocks), openssl_error=openssl_error,
                       truncated=truncated)
    return _Loaded(tuple(certs), None, len(blocks), len(blocks) - len(certs), openssl_error, truncated,
                   tuple(malformed))


_MALFORMED_LISTED = 5
WARNING_SEPARATOR = " — "  # between an entry ("line 1681 (OU=Go Daddy...)") and the library's warning


def malformed_note(malformed: tuple[str, ...]) -> str | None:
    """One note for every entry a library warned about (the first few named), or None."""
    if not malformed:
        return None
    by_warning: dict[str, list[str]] = {}
    for entry in malformed:
        where, _, warning = entry.partition(WARNING_SEPARATOR)
        by_warning.setdefault(warning.split(". ", 1)[0], []).append(where)
    parts = []
    for warning, entries in by_warning.items():
        more = f" and {len(entries) - _MALFORMED_LISTED} more" if len(entries) > _MALFORMED_LISTED else ""
        parts.append(f"{len(entries)} with '{warning}': {', '.join(entries[:_MALFORMED_LISTED])}{more}")
    return (f"{len(malformed)} entries break RFC 5280 and load only with a library warning (a future "
            f"cryptography refuses them): {'; '.join(parts)}")


def load_notes(loaded: _Loaded) -> tuple[str, ...]:
    notes = []
    if loaded.openssl_error and loaded.certificates:
        # Measured with OpenSSL 3.0: one block it cannot load makes the whole
        # SSL_CTX_load_verify_locations fail, so OpenSSL clients trust *nothing* from the file.
        notes.append(f"OpenSSL refuses the whole file ({loaded.openssl_error}): its clients trust nothing in it")
    if loaded.unparseable and loaded.certificates:
        notes.append(f"{loaded.unparseable} of {loaded.entries_total} entries do not decode")
    if loaded.truncated:
        notes.append(f"only the first {MAX_CA_ENTRIES} entries were read")
    warned = malformed_note(loaded.malformed)
    if warned:
        notes.append(warned)
    return tuple(notes)


# -- the per-process cache ------------------------------------------------------------------

_CACHE: dict[tuple[object, ...], TrustSource] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_ENTRIES = 32  # a process sees a handful of stores; bounded all the same


def stat_key(path: str) -> tuple[object, ...]:
    return (path, *file_identity(path))


def cached(key: tuple[object, ...], load: "Callable[[], TrustSource]",
            disk_key: "Callable[[], str | None] | None" = None) -> TrustSource:
    """The source for ``key``: from this process's cache, else the disk cache (``disk_key``), else ``load()``."""
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    # outside the lock: two threads may both load once; both results are right
    source = _through_disk(disk_key() if disk_key else None, load)
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_ENTRIES:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = source
    return source


def already_read(key: tuple[object, ...]) -> TrustSource | None:
    """The source for ``key`` if this process holds it, else None (no I/O)."""
    with _CACHE_LOCK:
        return _CACHE.get(key)


def _through_disk(key: str | None, load: "Callable[[], TrustSource]") -> TrustSource:
    if key is None:
        return load()
    fields = trust_cache.load(key)
    if fields is not None:
        try:
            return TrustSource(**{**fields, "notes": tuple(fields["notes"]), "malformed": tuple(fields["malformed"])})
        except (TypeError, KeyError):
            pass  # another shape: read the source itself
    source = load()
    trust_cache.save(key, {f.name: getattr(source, f.name) for f in fields_of(TrustSource)})
    return source


def clear_cache() -> None:
    """Forget every parsed source (tests; a long-lived process that wants a fresh read)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def load_ca_file(
    path: str | os.PathLike[str], name: str = "ca-bundle", description: str | None = None
) -> TrustSource:
    """The certificates in a PEM CA file. Never raises for a bad file: records ``error``.

    Cached per process by path, size, mtime and inode: a changed file is read again.
    """
    text = os.fspath(path)
    return cached(("file", name, description, stat_key(text)), lambda: _read_ca_file(text, name, description),
                   lambda: _file_disk_key(text, name, description))


def _file_disk_key(path: str, name: str, description: str | None) -> str | None:
    content = trust_cache.file_fingerprint(path)
    return trust_cache.cache_key("file", name, description, path, content) if content else None


def _read_ca_file(text: str, name: str, description: str | None) -> TrustSource:
    loaded = load_pem_file(text)
    return TrustSource(
        name=name,
        description=description or f"CA file ({text})",
        path=text,
        certificates=loaded.certificates,
        error=loaded.error,
        entries_total=loaded.entries_total,
        unparseable=loaded.unparseable,
        openssl_error=loaded.openssl_error,
        notes=load_notes(loaded),
        malformed=loaded.malformed,
    )


def default_ca_bundle() -> TrustSource:
    """certifi's CA bundle: what requests, httpx and pip trust unless told otherwise."""
    try:
        import certifi

        path = certifi.where()
    except BaseException as exc:  # certifi is a dependency, but a broken install must not abort a diagnosis
        if must_propagate(exc):
            raise
        return TrustSource("ca-bundle", "certifi's CA bundle", None, error=f"certifi unavailable: {one_line(str(exc))}")
    return load_ca_file(path, name="ca-bundle", description=f"certifi's CA bundle ({path})")


# OpenSSL's hashed-directory names: <8 hex digits of the subject hash>.<n>. ".r<n>" files
# are CRLs. OpenSSL's lookup only ever opens these names.

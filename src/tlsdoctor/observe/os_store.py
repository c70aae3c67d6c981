"""The machine's own trust store, as an OpenSSL-based client on it sees it (``"os-store"``).

OpenSSL's default verify paths (a CA file and a hashed CA directory, each overridable by
``SSL_CERT_FILE`` / ``SSL_CERT_DIR``) on Linux and other Unixes; Python's view of the
platform store on macOS and Windows. Read into a :class:`~tlsdoctor.observe.trust_sources.TrustSource`
and cached like every source (:mod:`tlsdoctor.observe.trust_sources`), keyed by what the
variables say and each part's stat, so a store that changes is read again.
"""

from __future__ import annotations

import functools
import os
import re
import ssl
import stat
import sys
from dataclasses import replace
from typing import Callable, Mapping

from cryptography import x509

from tlsdoctor.observe import trust_cache
from tlsdoctor.observe.pem import MAX_CA_ENTRIES, load_der_quietly, must_propagate, one_line, subject_text
from tlsdoctor.observe.trust_sources import (
    WARNING_SEPARATOR,
    TrustSource,
    already_read,
    cached,
    load_notes,
    load_pem_file,
    malformed_note,
    stat_key,
)
from tlsdoctor.records import record

MAX_DIRECTORY_FILES = 5000
MAX_DIRECTORY_FILE_BYTES = 1024 * 1024  # one file of a hashed directory holds one or a few certs

_HASH_NAME = re.compile(r"^[0-9a-f]{8}\.\d+$")
_CERT_SUFFIXES = (".pem", ".crt", ".cer")


@record
class _DirectoryLoad:
    certificates: tuple[x509.Certificate, ...]
    error: str | None
    notes: tuple[str, ...]
    entries_total: int
    unparseable: int
    malformed: tuple[str, ...] = ()


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _load_ca_directory(directory: str, skip: frozenset[str] = frozenset()) -> _DirectoryLoad:
    """Every certificate in a CA directory (hash-named files, and *.pem / *.crt / *.cer).

    OpenSSL opens only ``<hash>.<n>`` names, on demand; certificates reachable only
    through other names are loaded too (other TLS stacks read them) but reported in a
    note, because an OpenSSL client will not find them. ``skip`` holds real paths already
    read (the CA file, which Debian keeps inside /etc/ssl/certs).
    """
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        return _DirectoryLoad((), "missing: no such directory", (), 0, 0)
    except OSError as exc:
        return _DirectoryLoad((), f"unreadable: {one_line(exc.strerror or str(exc))}", (), 0, 0)
    if not stat.S_ISDIR(st.st_mode):
        return _DirectoryLoad((), "not a directory", (), 0, 0)
    # Certificates are hashable (by their DER) and compare equal when identical: the dicts
    # below drop duplicates without re-encoding anything.
    hashed: dict[x509.Certificate, None] = {}
    unhashed: dict[x509.Certificate, None] = {}
    # Files are told apart by (device, inode), one stat() each (symlinks followed), not by
    # realpath(): /etc/ssl/certs is ~150 hash links to links, and resolving each chain of
    # links cost more than parsing the certificates.
    seen_targets: dict[tuple[int, int], bool] = dict.fromkeys(filter(None, map(_identity, skip)), True)
    examined = total = broken = 0
    notes: list[str] = []
    malformed: list[str] = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                examined += 1
                if examined > MAX_DIRECTORY_FILES:
                    notes.append(f"only the first {MAX_DIRECTORY_FILES} directory entries were read")
                    break
                is_hash = bool(_HASH_NAME.match(entry.name))
                if not (is_hash or entry.name.lower().endswith(_CERT_SUFFIXES)):
                    continue
                # /etc/ssl/certs: hash links point at *.pem, which point at the real files.
                target = _identity(entry.path)
                if target is None:
                    continue  # a dangling link: OpenSSL finds nothing there either
                if target in seen_targets:
                    if is_hash and not seen_targets[target]:
                        # Reached first through a plain name: the certificates are hashed after all.
                        loaded = load_pem_file(entry.path, MAX_DIRECTORY_FILE_BYTES, ask_openssl=False)
                        hashed.update(dict.fromkeys(loaded.certificates))
                        seen_targets[target] = True
                    continue
                seen_targets[target] = is_hash
                loaded = load_pem_file(entry.path, MAX_DIRECTORY_FILE_BYTES, ask_openssl=False)
                total += loaded.entries_total
                broken += loaded.unparseable
                malformed.extend(f"{entry.name} {m.split(' ', 2)[-1]}" for m in loaded.malformed)
                (hashed if is_hash else unhashed).update(dict.fromkeys(loaded.certificates))
    except OSError as exc:
        return _DirectoryLoad((), f"unreadable: {one_line(exc.strerror or str(exc))}", (), 0, 0)
    only_unhashed = [cert for cert in unhashed if cert not in hashed]
    if only_unhashed:
        notes.append(
            f"{len(only_unhashed)} certificates in {directory} have no OpenSSL hash link (<hash>.0), so OpenSSL "
            "clients do not find them (c_rehash / openssl rehash / update-ca-certificates creates the links)"
        )
    certs = tuple(hashed) + tuple(only_unhashed)
    error = None if certs else "no certificates in the directory"
    return _DirectoryLoad(certs, error, tuple(notes), total, broken, tuple(malformed))


def os_trust_store(env: Mapping[str, str] | None = None) -> TrustSource:
    """The machine's default trust store, as an OpenSSL-based client (curl, Python) sees it.

    Linux and other Unixes: OpenSSL's default verify paths, exactly as OpenSSL resolves
    them — ``SSL_CERT_FILE`` if set, else the compiled-in CA file, *and* ``SSL_CERT_DIR``
    (a ``:``-separated list) if set, else the compiled-in CA directory. OpenSSL loads both
    and silently ignores a missing one, so both are loaded here and merged (duplicates
    dropped); a missing part becomes a note, and ``error`` is set only when nothing at
    all could be loaded. ``env`` replaces ``os.environ`` (tests inject their own).

    macOS and Windows: ``ssl.create_default_context()`` and ``get_ca_certs()``. On Windows
    that enumerates the system "ROOT" and "CA" stores; on macOS Python's OpenSSL does not
    read the Keychain, so this is only OpenSSL's default paths there, and ``description``
    says so.

    What this cannot see: ``truststore`` (and the platform verifiers it wraps: Security.
    framework, CryptoAPI) verifies a chain against the OS store but cannot list the
    certificates in it, nor the user's or admin's trust settings; a chain the OS accepts
    through such settings is invisible to this probe.
    """
    return cached(*_os_store_parts(os.environ if env is None else env))


def os_trust_store_if_read(env: Mapping[str, str] | None = None) -> TrustSource | None:
    """:func:`os_trust_store` if this process already read it as it stands now, else None (no I/O but stats).

    A diagnosis reads the store in a worker thread; when it is already in memory the
    thread's hand-off costs more than the answer (a tenth of a millisecond or more on a
    busy machine, with three threads wanting two cores).
    """
    return already_read(_os_store_parts(os.environ if env is None else env)[0])


def _os_store_parts(
    environ: Mapping[str, str],
) -> tuple[tuple[object, ...], Callable[[], TrustSource], Callable[[], str | None] | None]:
    """The OS store's cache key (what the variables say, and each part's stat), its loader, its disk key."""
    if sys.platform in ("win32", "darwin"):
        return ("platform",), _platform_store, None
    defaults = _default_verify_paths()
    file_var, dir_var = defaults.openssl_cafile_env, defaults.openssl_capath_env
    cafile = environ[file_var] if file_var in environ else defaults.openssl_cafile
    capath = environ[dir_var] if dir_var in environ else defaults.openssl_capath
    # The key: what the variables say, and each part's stat (a directory's mtime changes
    # when update-ca-certificates relinks it; a file edited in place keeps its directory's).
    key = ("os", file_var in environ, cafile, dir_var in environ, capath, stat_key(cafile or ""),
           *(stat_key(d) for d in (capath or "").split(os.pathsep)[:8]))

    def disk_key() -> str:
        directories = [d for d in (capath or "").split(os.pathsep) if d][:8]
        return trust_cache.cache_key(key[:5], trust_cache.file_fingerprint(cafile) if cafile else None,
                                     *(trust_cache.directory_fingerprint(d) for d in directories))

    return key, lambda: _read_os_store(environ, defaults), disk_key


@functools.lru_cache(maxsize=1)
def _default_verify_paths() -> ssl.DefaultVerifyPaths:
    return ssl.get_default_verify_paths()  # compiled into OpenSSL: fixed for the process


def _read_os_store(environ: Mapping[str, str], defaults: ssl.DefaultVerifyPaths) -> TrustSource:
    file_var, dir_var = defaults.openssl_cafile_env, defaults.openssl_capath_env

    parts: list[str] = []  # the parts that gave certificates, for the description
    notes: list[str] = []
    errors: list[str] = []
    certs: dict[x509.Certificate, None] = {}  # insertion-ordered, duplicates dropped
    total = broken = 0
    usable_paths: list[str] = []
    file_openssl_error: str | None = None
    malformed: dict[str, str] = {}  # what a library warned about, by entry (the file and the directory repeat them)

    # A variable set to "" counts as set: OpenSSL then loads nothing for that part.
    if file_var in environ:
        cafile, label = environ[file_var], f"{file_var} ({environ[file_var]})"
    else:
        cafile, label = defaults.openssl_cafile, f"OpenSSL default CA file ({defaults.openssl_cafile})"
    if cafile:
        loaded = load_pem_file(cafile)
        total, broken, file_openssl_error = loaded.entries_total, loaded.unparseable, loaded.openssl_error
        certs.update(dict.fromkeys(loaded.certificates))
        for entry in loaded.malformed:
            malformed.setdefault(entry.split(" ", 2)[-1], f"{cafile} {entry}")  # keyed by subject and warning
        if loaded.error:
            errors.append(f"{label}: {loaded.error}")
        else:
            parts.append(label)
            usable_paths.append(cafile)
            notes.extend(f"{label}: {note}" for note in load_notes(replace(loaded, malformed=())))
    else:
        errors.append(f"{file_var} is set but empty")

    if dir_var in environ:
        directories, dir_label = [d for d in environ[dir_var].split(os.pathsep) if d], dir_var
    else:
        directories = [defaults.openssl_capath] if defaults.openssl_capath else []
        dir_label = "OpenSSL default CA directory"
    for directory in directories[:8]:  # bounded: a CA path lists one or two directories
        label = f"{dir_label} ({directory})"
        loaded_dir = _load_ca_directory(directory, skip=frozenset(usable_paths))
        total += loaded_dir.entries_total
        broken += loaded_dir.unparseable
        for entry in loaded_dir.malformed:
            malformed.setdefault(entry.split(" ", 1)[-1], f"{directory}/{entry}")
        added = 0
        for cert in loaded_dir.certificates:
            if cert not in certs:
                certs[cert] = None
                added += 1
        if loaded_dir.error:
            errors.append(f"{label}: {loaded_dir.error}")
            continue
        # Debian's /etc/ssl/certs repeats ca-certificates.crt; say so rather than suggest it adds anything.
        parts.append(label if added else f"{label} (nothing beyond the file)")
        usable_paths.append(directory)
        notes.extend(f"{label}: {note}" for note in loaded_dir.notes)

    warned = malformed_note(tuple(malformed.values()))
    if warned:
        notes.append(warned)  # once, however many parts repeat the entry
    if certs:
        # OpenSSL skips a missing or broken part without a word; the note keeps the fact.
        notes = [f"not loaded: {e}" for e in errors] + notes
        error = None
    else:
        error = "no certificates: " + ("; ".join(errors) if errors else "no CA file or directory configured")
    return TrustSource(
        name="os-store",
        description=" + ".join(parts) if parts else "OpenSSL default verify paths",
        path=usable_paths[0] if usable_paths else (cafile or None),
        certificates=tuple(certs),
        error=error,
        entries_total=total,
        unparseable=broken,
        openssl_error=file_openssl_error,
        notes=tuple(notes),
        malformed=tuple(malformed.values()),
    )


def _platform_store() -> TrustSource:
    """macOS / Windows: whatever Python's ``ssl`` loads by default, listed with ``get_ca_certs``."""
    mechanism = (
        "Windows system certificate stores (ROOT, CA) via Python's ssl.load_default_certs()"
        if sys.platform == "win32"
        else "Python's OpenSSL default paths via ssl.create_default_context() (not the macOS Keychain)"
    )
    try:
        ders = ssl.create_default_context().get_ca_certs(binary_form=True)
    except BaseException as exc:
        if must_propagate(exc):
            raise
        return TrustSource("os-store", mechanism, None, error=f"unreadable: {one_line(str(exc))}")
    certs = []
    malformed = []
    for index, der in enumerate(ders[:MAX_CA_ENTRIES]):
        warned: list[str] = []
        try:
            certs.append(load_der_quietly(der, warned))
        except BaseException as exc:
            if must_propagate(exc):
                raise
            continue
        if warned:
            malformed.append(f"entry {index} ({subject_text(certs[-1])}){WARNING_SEPARATOR}{'; '.join(dict.fromkeys(warned))}")
    notes = ("get_ca_certs() lists only certificates already loaded, not those a CA directory would supply on demand",
             *filter(None, [malformed_note(tuple(malformed))]))
    return TrustSource(
        name="os-store",
        description=mechanism,
        path=None,
        certificates=tuple(certs),
        error=None if certs else "no certificates loaded",
        entries_total=len(ders),
        unparseable=min(len(ders), MAX_CA_ENTRIES) - len(certs),
        notes=notes,
        malformed=tuple(malformed),
    )



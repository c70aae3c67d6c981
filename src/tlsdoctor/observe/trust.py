"""Trust sources, and whether a presented chain verifies against each of them.

A client trusts what is in *its* CA file or store, and the field failures that matter most
(``trust.store_mismatch``, ``trust.interception``, ``clock.skewed``) are differences between
trust sources, or between times. So this module records, as facts:

- :class:`TrustSource`: the certificates one source holds — the CA file the client uses
  (``"ca-bundle"``, e.g. certifi's), the machine's OpenSSL default store (``"os-store"``), a
  file the user names (``"extra-ca"``) — and why it holds none when it holds none;
- :class:`PathValidation`: whether the chain a server presented builds to one of them, at a
  given time, with or without the host name checked.

It judges nothing. Loaders never raise for a bad file: "the CA file is missing" is itself
the most useful observation (``trust.bundle_missing``).

Path validation uses ``cryptography.x509.verification`` (a strict RFC 5280 / CA/B Forum
verifier), not OpenSSL, because it accepts any store, any time and "no name" without a
socket. It does **not** behave like OpenSSL in one way that matters here: its path builder
backtracks. A CA file holding a broken twin of a root *before* the real root (see
:func:`tlsdoctor.lab.pki.shadow_of`) makes OpenSSL fail with "invalid CA certificate",
while this verifier skips the twin and verifies through the real root. Corrupt bundles are
therefore found by :mod:`tlsdoctor.observe.ca_file_lint` and confirmed with OpenSSL itself.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import ssl
import stat
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping, Sequence

import idna
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
)

# -- limits ------------------------------------------------------------------------------
# Every input here comes from the machine being diagnosed or from the network, so every
# loop is bounded. certifi's bundle is ~300 kB and ~150 entries; Debian's /etc/ssl/certs
# holds ~450 files. The limits are an order of magnitude above the largest real stores.

MAX_CA_FILE_BYTES = 10 * 1024 * 1024
MAX_CA_ENTRIES = 5000
MAX_DIRECTORY_FILES = 5000
MAX_DIRECTORY_FILE_BYTES = 1024 * 1024  # one file of a hashed directory holds one or a few certs
MAX_PRESENTED_CERTS = 20  # a TLS chain is 2-4 certificates; 20 covers every sane cross-signing mess
_MAX_ERROR_CHARS = 500

SOURCE_NAMES = ("ca-bundle", "os-store", "extra-ca")

# PEM labels OpenSSL reads as certificates in a CA file ("TRUSTED CERTIFICATE" is OpenSSL's
# own format: a certificate followed by trust settings; "X509 CERTIFICATE" is the pre-1995 label).
_CERTIFICATE_LABELS = frozenset({b"CERTIFICATE", b"TRUSTED CERTIFICATE", b"X509 CERTIFICATE"})
_BEGIN = b"-----BEGIN "
_END = b"-----END "
_MARKER_TAIL = re.compile(rb"^([A-Z0-9 ]+)-----\s*$")


def must_propagate(exc: BaseException) -> bool:
    """Exceptions that must escape even a "never raises" function.

    Certificate parsing is done in Rust; a parser bug surfaces as pyo3's ``PanicException``,
    which derives from ``BaseException``. Such a panic on a hostile file is still a bad
    file, not a reason to abort a diagnosis, so only interpreter-level exits propagate.
    """
    return isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError))


def one_line(text: str, limit: int = _MAX_ERROR_CHARS) -> str:
    """Collapse a message to one line of bounded length (error texts end up in reports)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def subject_text(cert: x509.Certificate) -> str | None:
    """The subject in RFC 4514 form, or None when its strings do not decode."""
    try:
        return cert.subject.rfc4514_string()
    except BaseException as exc:  # names are decoded lazily; a bad string raises here
        if must_propagate(exc):
            raise
        return None


# -- reading CA files ----------------------------------------------------------------------


def read_ca_file_bytes(path: str | os.PathLike[str], limit: int = MAX_CA_FILE_BYTES) -> tuple[bytes | None, str | None]:
    """The bytes of a CA file, or ``(None, why not)`` in one line.

    Only regular files are read: a FIFO or a device named as a CA file (it happens, e.g.
    ``/dev/null`` to "disable" a bundle) would otherwise block or stream forever.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        if p.is_symlink():
            return None, f"missing: dangling symbolic link to {os.readlink(p)}"
        return None, "missing: no such file"
    except PermissionError:
        return None, "unreadable: permission denied"
    except OSError as exc:
        return None, f"unreadable: {one_line(exc.strerror or str(exc))}"
    if stat.S_ISDIR(st.st_mode):
        return None, "a directory, not a CA file (a directory of hashed certificates is a CA path: SSL_CERT_DIR, --capath)"
    if not stat.S_ISREG(st.st_mode):
        return None, "not a regular file"
    if st.st_size > limit:
        return None, f"too large: {st.st_size} bytes (limit {limit})"
    try:
        with open(p, "rb") as fh:
            data = fh.read(limit + 1)
    except PermissionError:
        return None, "unreadable: permission denied"
    except OSError as exc:
        return None, f"unreadable: {one_line(exc.strerror or str(exc))}"
    if len(data) > limit:  # grew between stat and read
        return None, f"too large: more than {limit} bytes"
    return data, None


@dataclass(frozen=True)
class PemBlock:
    """One certificate block of a PEM file, located but not decoded."""

    index: int  # 0-based, among certificate blocks only
    line: int  # 1-based line of the BEGIN marker
    label: str  # "CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE"
    text: bytes  # BEGIN line through END line, exactly as in the file
    complete: bool  # False: no matching END marker (truncated file, or another BEGIN came first)


def certificate_blocks(data: bytes, max_entries: int = MAX_CA_ENTRIES) -> tuple[list[PemBlock], bool]:
    """Locate the certificate blocks of a PEM file; returns ``(blocks, truncated)``.

    Mirrors how OpenSSL reads a CA file: text outside blocks is ignored (comments,
    ``openssl x509 -text`` dumps), markers must start a line, blocks of other types (CRLs,
    keys) are skipped. A BEGIN with no END before the next BEGIN or the end of the file is
    returned as an incomplete block, so that a truncated file is reported, not silently
    shortened. ``truncated`` is True when ``max_entries`` stopped the scan.
    """
    blocks: list[PemBlock] = []
    open_label: bytes | None = None  # label of the block being read, certificate or not
    start_line = 0
    lines: list[bytes] = []

    def close(complete: bool) -> None:
        if open_label in _CERTIFICATE_LABELS:
            blocks.append(
                PemBlock(len(blocks), start_line, open_label.decode(), b"".join(lines), complete)  # type: ignore[union-attr]
            )

    for number, line in enumerate(data.splitlines(keepends=True), start=1):
        if line.startswith(_BEGIN):
            match = _MARKER_TAIL.match(line[len(_BEGIN):])
            if match is None:
                if open_label is not None:
                    lines.append(line)
                continue
            if open_label is not None:
                close(False)
            if match.group(1) in _CERTIFICATE_LABELS and len(blocks) >= max_entries:
                return blocks, True
            open_label, start_line, lines = match.group(1), number, [line]
        elif line.startswith(_END) and open_label is not None:
            lines.append(line)
            match = _MARKER_TAIL.match(line[len(_END):])
            close(match is not None and match.group(1) == open_label)
            open_label, lines = None, []
        elif open_label is not None:
            lines.append(line)
    if open_label is not None:
        close(False)
    return blocks, False


def _first_der_element(der: bytes) -> bytes:
    """The first DER TLV of ``der``: the certificate inside a TRUSTED CERTIFICATE blob."""
    if len(der) < 2 or der[0] != 0x30:
        raise ValueError("not a DER SEQUENCE")
    first = der[1]
    if first < 0x80:
        return der[: 2 + first]
    count = first & 0x7F
    if count == 0 or count > 4 or len(der) < 2 + count:
        raise ValueError("bad DER length")
    return der[: 2 + count + int.from_bytes(der[2 : 2 + count], "big")]


def decode_block(block: PemBlock) -> x509.Certificate:
    """Decode one block; raises ``ValueError`` with a one-line reason when it is broken."""
    if not block.complete:
        raise ValueError(f"no matching '-----END {block.label}-----' (truncated?)")
    body = block.text.splitlines()[1:-1]
    # RFC 1421 headers ("Proc-Type: ...") may precede the base64; certificates never have
    # them in practice, but OpenSSL skips them, so we do too.
    payload = b"".join(line.strip() for line in body if b":" not in line)
    try:
        der = base64.b64decode(payload, validate=True)
    except ValueError as exc:
        raise ValueError(f"bad base64: {one_line(str(exc))}") from None
    if not der:
        raise ValueError("empty block")
    try:
        if block.label == "TRUSTED CERTIFICATE":
            der = _first_der_element(der)
        return x509.load_der_x509_certificate(der)
    except BaseException as exc:
        if must_propagate(exc):
            raise
        raise ValueError(f"not a certificate: {one_line(str(exc) or type(exc).__name__)}") from None


def not_pem_reason(data: bytes) -> str:
    """Why a file with no certificate block is unusable as a CA file, in one line."""
    try:
        cert = x509.load_der_x509_certificate(data)
    except BaseException as exc:
        if must_propagate(exc):
            raise
        return "not PEM: no '-----BEGIN CERTIFICATE-----' block"
    # Python's ssl, curl and OpenSSL read CA *files* as PEM only; DER is a classic mistake
    # when a root is exported from Windows or a browser.
    return f"not PEM: the file is one DER-encoded certificate ('{subject_text(cert)}'); OpenSSL reads CA files as PEM only"


# -- trust sources -------------------------------------------------------------------------


@dataclass(frozen=True)
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

    @property
    def usable(self) -> bool:
        return self.error is None and bool(self.certificates)


def openssl_load_error(*, cafile: str | None = None, cadata: str | None = None) -> str | None:
    """What this machine's OpenSSL (through Python's ``ssl``) says loading CA certificates.

    None when they load. This is the verdict that matters for OpenSSL clients (curl, Python,
    Ruby, PHP...), and cryptography's parser does not predict it in either direction: it is
    stricter about encodings (a non-minimal DER length; soon, non-positive serial numbers)
    and lazier about content (it accepts, until asked for the key, an EC point OpenSSL
    rejects at load time).
    """
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=cafile, cadata=cadata)
    except BaseException as exc:
        if must_propagate(exc):
            raise
        return one_line(str(exc) or type(exc).__name__)
    return None


def openssl_block_error(block: PemBlock) -> str | None:
    """:func:`openssl_load_error` for one block: None when OpenSSL loads it."""
    if not block.complete:
        return "no END line"  # measured: OpenSSL 3.0 then fails the whole file ("PEM lib")
    try:
        text = block.text.decode("ascii")
    except UnicodeDecodeError:
        return "non-ASCII bytes in the block"
    return openssl_load_error(cadata=text)


@dataclass(frozen=True)
class _Loaded:
    """What reading one PEM file gave (shared by files, directories and the OS store)."""

    certificates: tuple[x509.Certificate, ...] = ()
    error: str | None = None
    entries_total: int = 0
    unparseable: int = 0  # blocks cryptography cannot decode
    openssl_error: str | None = None  # what OpenSSL says loading the file; None when it loads
    truncated: bool = False


def _load_pem_file(path: str | os.PathLike[str], limit: int = MAX_CA_FILE_BYTES, *, ask_openssl: bool = True) -> _Loaded:
    data, error = read_ca_file_bytes(path, limit)
    if data is None:
        return _Loaded(error=error)
    if not data.strip():
        return _Loaded(error="empty file")
    blocks, truncated = certificate_blocks(data)
    if not blocks:
        return _Loaded(error=not_pem_reason(data))
    certs = []
    for block in blocks:
        try:
            certs.append(decode_block(block))
        except ValueError:
            pass
    openssl_error = openssl_load_error(cafile=os.fspath(path)) if ask_openssl else None
    if not certs:
        return _Loaded(error=f"no usable certificate: none of its {len(blocks)} entries decodes",
                       entries_total=len(blocks), unparseable=len(blocks), openssl_error=openssl_error,
                       truncated=truncated)
    return _Loaded(tuple(certs), None, len(blocks), len(blocks) - len(certs), openssl_error, truncated)


def _load_notes(loaded: _Loaded) -> tuple[str, ...]:
    notes = []
    if loaded.openssl_error and loaded.certificates:
        # Measured with OpenSSL 3.0: one block it cannot load makes the whole
        # SSL_CTX_load_verify_locations fail, so OpenSSL clients trust *nothing* from the file.
        notes.append(f"OpenSSL refuses the whole file ({loaded.openssl_error}): its clients trust nothing in it")
    if loaded.unparseable and loaded.certificates:
        notes.append(f"{loaded.unparseable} of {loaded.entries_total} entries do not decode")
    if loaded.truncated:
        notes.append(f"only the first {MAX_CA_ENTRIES} entries were read")
    return tuple(notes)


def load_ca_file(
    path: str | os.PathLike[str], name: str = "ca-bundle", description: str | None = None
) -> TrustSource:
    """The certificates in a PEM CA file. Never raises for a bad file: records ``error``."""
    text = os.fspath(path)
    loaded = _load_pem_file(text)
    return TrustSource(
        name=name,
        description=description or f"CA file ({text})",
        path=text,
        certificates=loaded.certificates,
        error=loaded.error,
        entries_total=loaded.entries_total,
        unparseable=loaded.unparseable,
        openssl_error=loaded.openssl_error,
        notes=_load_notes(loaded),
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
_HASH_NAME = re.compile(r"^[0-9a-f]{8}\.\d+$")
_CERT_SUFFIXES = (".pem", ".crt", ".cer")


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class _DirectoryLoad:
    certificates: tuple[x509.Certificate, ...]
    error: str | None
    notes: tuple[str, ...]
    entries_total: int
    unparseable: int


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
    hashed: dict[bytes, x509.Certificate] = {}
    unhashed: dict[bytes, x509.Certificate] = {}
    seen_targets: dict[str, bool] = dict.fromkeys(skip, True)  # real path -> reached through a hash name
    examined = total = broken = 0
    notes: list[str] = []
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
                target = os.path.realpath(entry.path)
                if target in seen_targets:
                    if is_hash and not seen_targets[target]:
                        # Reached first through a plain name: the certificates are hashed after all.
                        loaded = _load_pem_file(target, MAX_DIRECTORY_FILE_BYTES, ask_openssl=False)
                        for cert in loaded.certificates:
                            hashed.setdefault(_der(cert), cert)
                        seen_targets[target] = True
                    continue
                seen_targets[target] = is_hash
                loaded = _load_pem_file(entry.path, MAX_DIRECTORY_FILE_BYTES, ask_openssl=False)
                total += loaded.entries_total
                broken += loaded.unparseable
                for cert in loaded.certificates:
                    (hashed if is_hash else unhashed).setdefault(_der(cert), cert)
    except OSError as exc:
        return _DirectoryLoad((), f"unreadable: {one_line(exc.strerror or str(exc))}", (), 0, 0)
    only_unhashed = [der for der in unhashed if der not in hashed]
    if only_unhashed:
        notes.append(
            f"{len(only_unhashed)} certificates in {directory} have no OpenSSL hash link (<hash>.0), so OpenSSL "
            "clients do not find them (c_rehash / openssl rehash / update-ca-certificates creates the links)"
        )
    certs = tuple(hashed.values()) + tuple(unhashed[der] for der in only_unhashed)
    error = None if certs else "no certificates in the directory"
    return _DirectoryLoad(certs, error, tuple(notes), total, broken)


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
    environ: Mapping[str, str] = os.environ if env is None else env
    if sys.platform in ("win32", "darwin"):
        return _platform_store()
    defaults = ssl.get_default_verify_paths()
    file_var, dir_var = defaults.openssl_cafile_env, defaults.openssl_capath_env

    parts: list[str] = []  # the parts that gave certificates, for the description
    notes: list[str] = []
    errors: list[str] = []
    certs: dict[bytes, x509.Certificate] = {}
    total = broken = 0
    usable_paths: list[str] = []
    file_openssl_error: str | None = None

    # A variable set to "" counts as set: OpenSSL then loads nothing for that part.
    if file_var in environ:
        cafile, label = environ[file_var], f"{file_var} ({environ[file_var]})"
    else:
        cafile, label = defaults.openssl_cafile, f"OpenSSL default CA file ({defaults.openssl_cafile})"
    if cafile:
        loaded = _load_pem_file(cafile)
        total, broken, file_openssl_error = loaded.entries_total, loaded.unparseable, loaded.openssl_error
        for cert in loaded.certificates:
            certs.setdefault(_der(cert), cert)
        if loaded.error:
            errors.append(f"{label}: {loaded.error}")
        else:
            parts.append(label)
            usable_paths.append(cafile)
            notes.extend(f"{label}: {note}" for note in _load_notes(loaded))
    else:
        errors.append(f"{file_var} is set but empty")

    if dir_var in environ:
        directories, dir_label = [d for d in environ[dir_var].split(os.pathsep) if d], dir_var
    else:
        directories = [defaults.openssl_capath] if defaults.openssl_capath else []
        dir_label = "OpenSSL default CA directory"
    for directory in directories[:8]:  # bounded: a CA path lists one or two directories
        label = f"{dir_label} ({directory})"
        loaded_dir = _load_ca_directory(directory, skip=frozenset(os.path.realpath(p) for p in usable_paths))
        total += loaded_dir.entries_total
        broken += loaded_dir.unparseable
        added = 0
        for cert in loaded_dir.certificates:
            if _der(cert) not in certs:
                certs[_der(cert)] = cert
                added += 1
        if loaded_dir.error:
            errors.append(f"{label}: {loaded_dir.error}")
            continue
        # Debian's /etc/ssl/certs repeats ca-certificates.crt; say so rather than suggest it adds anything.
        parts.append(label if added else f"{label} (nothing beyond the file)")
        usable_paths.append(directory)
        notes.extend(f"{label}: {note}" for note in loaded_dir.notes)

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
        certificates=tuple(certs.values()),
        error=error,
        entries_total=total,
        unparseable=broken,
        openssl_error=file_openssl_error,
        notes=tuple(notes),
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
    for der in ders[:MAX_CA_ENTRIES]:
        try:
            certs.append(x509.load_der_x509_certificate(der))
        except BaseException as exc:
            if must_propagate(exc):
                raise
    notes = ("get_ca_certs() lists only certificates already loaded, not those a CA directory would supply on demand",)
    return TrustSource(
        name="os-store",
        description=mechanism,
        path=None,
        certificates=tuple(certs),
        error=None if certs else "no certificates loaded",
        entries_total=len(ders),
        unparseable=min(len(ders), MAX_CA_ENTRIES) - len(certs),
        notes=notes,
    )


# -- path validation -----------------------------------------------------------------------


@dataclass(frozen=True)
class PathValidation:
    """Whether a presented chain builds to ``source``'s anchors at time ``at``.

    ``chain`` is the verified path, leaf first and anchor last, when ``ok``. ``error`` is
    cryptography's message (one line), or ours when verification could not start (empty
    store, nothing presented, unusable host name). ``name_checked`` is False for "chain
    only" validations. ``considered`` < ``presented`` means only the first certificates
    were used (see :data:`MAX_PRESENTED_CERTS`).
    """

    source: str
    at: datetime
    ok: bool
    error: str | None = None
    chain: tuple[x509.Certificate, ...] = ()
    anchor: str | None = None
    name_checked: bool = False
    host: str | None = None
    presented: int = 0
    considered: int = 0


def _server_auth_ee(policy: object, cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None) -> None:
    # cryptography's server policy for leaves: an EKU, when present, must hold serverAuth
    # itself — anyExtendedKeyUsage is not enough (CA/B Forum BR 7.1.2.7.10).
    if eku is not None and ExtendedKeyUsageOID.SERVER_AUTH not in eku:
        raise ValueError("required EKU not found (serverAuth)")


def _server_auth_ca(policy: object, cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None) -> None:
    # ... and for CAs: serverAuth or anyExtendedKeyUsage, when an EKU is present.
    if eku is not None and not ({ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE} & set(eku)):
        raise ValueError("required EKU not found (serverAuth)")


def _san_criticality(policy: object, cert: x509.Certificate, san: x509.SubjectAlternativeName | None) -> None:
    # Keep the server policy's structural SAN rule (RFC 5280 §4.2.1.6: critical exactly when
    # the subject is empty) but not its presence or matching: those are name questions.
    if san is None:
        return
    critical = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).critical
    if critical != (len(cert.subject) == 0):
        raise ValueError("EE subjectAltName criticality does not match an " + ("empty" if critical else "nonempty") + " subject")


def _chain_only_policies() -> tuple[ExtensionPolicy, ExtensionPolicy]:
    """Extension policies that make a *client* verifier check what the server verifier checks, minus the name.

    ``build_server_verifier`` needs a name. For "does the chain verify regardless of the
    name?" we build a client verifier, whose policy differs from the server one in two
    ways only: it requires the clientAuth EKU, and it does not match a name. The first is
    put back to serverAuth by our own EKU validators (same rules as cryptography's: leaf
    needs serverAuth; CAs serverAuth or anyEKU); the second is what we want. The SAN is
    made optional, since a leaf with names only in its CN has a name problem, not a chain
    problem. Criticalities are those of ``webpki_defaults_*`` (EKU non-critical).
    """
    ee = (
        ExtensionPolicy.webpki_defaults_ee()
        .may_be_present(x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, _server_auth_ee)
        .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, _san_criticality)
    )
    ca = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, _server_auth_ca
    )
    return ca, ee


def _subject_for(host: str) -> x509.DNSName | x509.IPAddress:
    """The name to check, as a server verifier takes it (raises ValueError when unusable)."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return x509.IPAddress(ipaddress.ip_address(text.split("%", 1)[0]))
    except ValueError:
        pass
    # Certificates hold A-labels without the root dot; route.parse_target already gives
    # that form, but a caller may pass what a user typed.
    text = text.rstrip(".")
    if not text.isascii():
        try:
            text = idna.encode(text, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(f"invalid host name {host!r}: {exc}") from None
    if not text:
        raise ValueError(f"invalid host name {host!r}")
    return x509.DNSName(text.lower())


def _utc(at: datetime) -> datetime:
    # A naive datetime is taken as UTC, the only zone certificates use.
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def verify_presented_chain(
    presented: Sequence[x509.Certificate],
    source: TrustSource,
    *,
    host: str | None,
    at: datetime,
) -> PathValidation:
    """Does the chain a server presented (leaf first) build to an anchor of ``source`` at ``at``?

    With ``host``, this is full server verification (chain, validity at ``at``, EKU,
    name). With ``host=None`` it is "chain only": the same checks without the name, so a
    caller can tell a name problem from a chain problem by asking both ways. Callers ask
    again with other times (the server's Date header) to tell a skewed clock from an
    expired certificate.

    The presented order beyond the leaf does not matter (servers send intermediates in any
    order, with duplicates); only the first :data:`MAX_PRESENTED_CERTS` are used, and
    duplicates are dropped, which bounds the path builder's work.

    Never raises for bad input. Unlike OpenSSL, the path builder backtracks: see the
    module docstring for why it accepts a CA file whose broken twin shadows a root.
    """
    when = _utc(at)
    considered = list(presented[:MAX_PRESENTED_CERTS])

    def outcome(error: str | None, chain: Sequence[x509.Certificate] = ()) -> PathValidation:
        return PathValidation(
            source=source.name, at=when, ok=error is None, error=error, chain=tuple(chain),
            anchor=subject_text(chain[-1]) if chain else None, name_checked=host is not None, host=host,
            presented=len(presented), considered=len(considered),
        )

    if not considered:
        return outcome("no certificate was presented")
    if not source.certificates:
        return outcome(f"no trust anchors in {source.description}: {source.error or 'it holds no certificates'}")
    try:
        leaf, intermediates = considered[0], _unique(considered[1:], exclude=considered[0])
        builder = PolicyBuilder().store(Store(list(source.certificates))).time(when)
        if host is not None:
            try:
                subject = _subject_for(host)
            except ValueError as exc:
                return outcome(one_line(str(exc)))
            return outcome(None, builder.build_server_verifier(subject).verify(leaf, intermediates))
        ca_policy, ee_policy = _chain_only_policies()
        verifier = builder.extension_policies(ca_policy=ca_policy, ee_policy=ee_policy).build_client_verifier()
        return outcome(None, verifier.verify(leaf, intermediates).chain)
    except BaseException as exc:  # VerificationError, ValueError (bad name, time out of range), Rust panics
        if must_propagate(exc):
            raise
        return outcome(one_line(str(exc) or type(exc).__name__))


def _unique(certs: Sequence[x509.Certificate], exclude: x509.Certificate) -> list[x509.Certificate]:
    seen = {_der(exclude)}
    out = []
    for cert in certs:
        der = _der(cert)
        if der not in seen:
            seen.add(der)
            out.append(cert)
    return out

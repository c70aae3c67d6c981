"""Reading PEM CA files as OpenSSL does: bounded, block by block, never raising for a bad file.

Every input here comes from the machine being diagnosed, so every loop is bounded, and a
broken entry is located (index, line) rather than fatal. ``cryptography`` decodes the
entries; OpenSSL (through Python's ``ssl``) is asked separately whether it loads them,
because the two parsers disagree in both directions.

Library warnings raised while decoding (``CryptographyDeprecationWarning`` for a serial
number that is not positive, which Debian's store holds) are facts about an entry, not
messages for the user's terminal: :func:`decode_block` catches them and hands them to the
caller, who summarises them once in the observations (issue 10).
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import ssl
import stat
import threading
import warnings
from pathlib import Path
from typing import Iterator

from cryptography import x509

from tlsdoctor.records import record

# The encoding enums live in cryptography's ``_serialization``, which cryptography.x509 has
# already imported; the public ``serialization`` package re-exports them but also loads SSH
# key parsing, every cipher and bcrypt: ~9 ms of every diagnosis for two enums (issue 9).
try:
    from cryptography.hazmat.primitives._serialization import Encoding, PublicFormat
except ImportError:  # a cryptography that moved them: the public names always work
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# -- limits ------------------------------------------------------------------------------
# Every input here comes from the machine being diagnosed or from the network, so every
# loop is bounded. certifi's bundle is ~300 kB and ~150 entries; Debian's /etc/ssl/certs
# holds ~450 files. The limits are an order of magnitude above the largest real stores.

MAX_CA_FILE_BYTES = 10 * 1024 * 1024
MAX_CA_ENTRIES = 5000
_MAX_ERROR_CHARS = 500

# PEM labels OpenSSL reads as certificates in a CA file ("TRUSTED CERTIFICATE" is OpenSSL's
# own format: a certificate followed by trust settings; "X509 CERTIFICATE" is the pre-1995 label).
_CERTIFICATE_LABELS = frozenset({b"CERTIFICATE", b"TRUSTED CERTIFICATE", b"X509 CERTIFICATE"})
_BEGIN = b"-----BEGIN "
_END = b"-----END "
_MARKER_TAIL = re.compile(rb"^([A-Z0-9 ]+)-----\s*$")
_UTF8_BOM = b"\xef\xbb\xbf"


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


@record
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

    first = True  # the first line OpenSSL reads for the next object: a UTF-8 BOM there is skipped
    for number, line in enumerate(data.splitlines(keepends=True), start=1):
        if first:
            # OpenSSL (3.0 and later, pem_lib.c) strips a UTF-8 byte order mark from the first
            # line each PEM read starts with: Notepad's "UTF-8" files, and such files appended
            # to a bundle with `cat`, load. Read without it, the first certificate is lost.
            first = False
            if line.startswith(_UTF8_BOM):
                line = line[len(_UTF8_BOM):]
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
            open_label, lines, first = None, [], True
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


_WARNINGS_LOCK = threading.Lock()


@contextlib.contextmanager
def library_warnings(into: list[str]) -> Iterator[None]:
    """Catch the warnings a parser raises inside the block, as one-line texts in ``into``.

    ``warnings.catch_warnings`` swaps process-wide state; the lock keeps our own threads
    (a client's background diagnoses, a batch) from restoring each other's filters.
    """
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    into.extend(one_line(f"{w.category.__name__}: {w.message}", 200) for w in caught)


def decode_block(block: PemBlock, warned: list[str] | None = None) -> x509.Certificate:
    """Decode one block; raises ``ValueError`` with a one-line reason when it is broken.

    Warnings the parser raises (an entry it accepts today but will refuse: a serial number
    that is not positive) are appended to ``warned`` when given, and never printed.
    """
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
        return load_der_quietly(der, warned)
    except BaseException as exc:
        if must_propagate(exc):
            raise
        raise ValueError(f"not a certificate: {one_line(str(exc) or type(exc).__name__)}") from None


def load_der_quietly(der: bytes, warned: list[str] | None = None) -> x509.Certificate:
    """``x509.load_der_x509_certificate`` with its warnings caught (into ``warned``), never printed."""
    caught: list[str] = []
    with library_warnings(caught):
        cert = x509.load_der_x509_certificate(der)
    if warned is not None:
        warned.extend(caught)
    return cert


def not_pem_reason(data: bytes) -> str:
    """Why a file with no certificate block is unusable as a CA file, in one line: what it is.

    OpenSSL (so curl, Python, Ruby, PHP...) reads a CA *file* as ASCII PEM certificates and
    nothing else; these are the shapes the field gets wrong, each named so that the fix is
    obvious: a root exported from Windows or a browser as DER or PKCS#7 (.cer, .p7b), a PEM
    file re-saved by PowerShell (whose ``>`` and ``Out-File`` write UTF-16), a key or a
    signing request where the certificate should be.
    """
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"-\x00-\x00-\x00-\x00-\x00" in head:
        text = _utf16_text(data)
        held = f" holding {_count(text.count('-----BEGIN CERTIFICATE-----'), 'certificate')}" if "-----BEGIN " in text else ""
        return (f"not PEM: UTF-16 text{held} (as Windows PowerShell's '>' and Out-File write); OpenSSL reads "
                "CA files as ASCII only")
    for label, what in _NOT_CERTIFICATE_BLOCKS:
        if re.search(rb"^-----BEGIN " + label + rb"-----", head, re.MULTILINE):
            return f"not PEM certificates: {what}; OpenSSL reads CA files as PEM certificates only"
    try:
        cert = x509.load_der_x509_certificate(data)
    except BaseException as exc:
        if must_propagate(exc):
            raise
    else:
        # Python's ssl, curl and OpenSSL read CA *files* as PEM only; DER is a classic mistake
        # when a root is exported from Windows or a browser.
        return f"not PEM: the file is one DER-encoded certificate ('{subject_text(cert)}'); OpenSSL reads CA files as PEM only"
    bundle = _der_pkcs7_certificates(data)
    if bundle:
        names = ", ".join(f"'{subject_text(c)}'" for c in bundle[:3]) + (" ..." if len(bundle) > 3 else "")
        return (f"not PEM: the file is a DER-encoded PKCS#7 bundle (.p7b) of {_count(len(bundle), 'certificate')} "
                f"({names}); OpenSSL reads CA files as PEM only")
    return "not PEM: no '-----BEGIN CERTIFICATE-----' block"


# PEM blocks that are not certificates, as found where a CA file was meant (the label's regex, what it is).
_NOT_CERTIFICATE_BLOCKS = (
    (rb"PKCS7", "a PKCS#7 bundle ('-----BEGIN PKCS7-----')"),
    (rb"(?:[A-Z]+ )?PRIVATE KEY", "a private key and no certificate"),
    (rb"ENCRYPTED PRIVATE KEY", "a private key and no certificate"),
    (rb"(?:NEW )?CERTIFICATE REQUEST", "a certificate signing request, not the certificate it asks for"),
    (rb"X509 CRL", "a certificate revocation list and no certificate"),
    (rb"PUBLIC KEY", "a public key, not a certificate"),
)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _utf16_text(data: bytes) -> str:
    encoding = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-16-le"
    return data.decode(encoding, errors="replace")


def _der_pkcs7_certificates(data: bytes) -> list[x509.Certificate]:
    """The certificates of a DER PKCS#7 bundle, or [] (imported here: only a file that is not PEM pays)."""
    if not data.startswith(b"\x30"):
        return []
    try:
        from cryptography.hazmat.primitives.serialization import pkcs7

        return list(pkcs7.load_der_pkcs7_certificates(data))
    except BaseException as exc:
        if must_propagate(exc):
            raise
        return []


def openssl_load_error(*, cafile: str | None = None, cadata: str | None = None) -> str | None:
    """What this machine's OpenSSL (through Python's ``ssl``) says loading CA certificates.

    None when they load. This is the verdict that matters for OpenSSL clients (curl, Python,
    Ruby, PHP...), and cryptography's parser does not predict it in either direction: it is
    stricter about encodings (a non-minimal DER length; soon, non-positive serial numbers)
    and lazier about content (it accepts, until asked for the key, an EC point OpenSSL
    rejects at load time).

    Asking costs OpenSSL a parse of the whole file (~30 ms for certifi's bundle), so the
    answer for a file is kept per process, keyed by path, size, mtime and inode.
    """
    if cafile is not None and cadata is None:
        key = (cafile, file_identity(cafile))
        with _VERDICTS_LOCK:
            if key in _VERDICTS:
                return _VERDICTS[key]
        verdict = _ask_openssl(cafile=cafile)
        with _VERDICTS_LOCK:
            if len(_VERDICTS) >= 64:
                _VERDICTS.pop(next(iter(_VERDICTS)))
            _VERDICTS[key] = verdict
        return verdict
    return _ask_openssl(cafile=cafile, cadata=cadata)


_VERDICTS: dict[tuple[str, tuple[object, ...]], str | None] = {}
_VERDICTS_LOCK = threading.Lock()


def file_identity(path: str) -> tuple[object, ...]:
    """What says a file (or a directory's listing) changed: size, mtime, inode. Symlinks followed."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return ("error", exc.errno)
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, st.st_mode)


def _ask_openssl(*, cafile: str | None = None, cadata: str | None = None) -> str | None:
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



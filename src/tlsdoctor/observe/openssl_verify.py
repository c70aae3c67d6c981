"""OpenSSL's own verdict on a chain, offline, at a chosen time.

``cryptography``'s verifier is strict and builds paths cleverly (it tries every candidate
issuer); OpenSSL, which libcurl and Python's ``ssl`` use, is not and does not. Some field
failures exist only in OpenSSL's behaviour — a corrupt CA file whose broken twin of a root
OpenSSL picks first ("invalid CA certificate") is the classic — so diagnosis asks OpenSSL
itself too, through pyOpenSSL's X509Store, without any network.
"""

from __future__ import annotations

import functools
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from cryptography import x509
from OpenSSL import crypto

from tlsdoctor.observe.pem import Encoding, certificate_blocks, file_identity, read_ca_file_bytes
from tlsdoctor.records import record

_MAX_UNTRUSTED = 20
_MAX_FILES = 16  # CA files whose parsed certificates are kept (a diagnosis reads one or two)


@record
class OpenSslVerification:
    ca_file: str | None
    at: datetime
    ok: bool
    verify_code: int | None  # X509_V_ERR_*; None when OpenSSL could not even start
    message: str | None
    depth: int | None  # which certificate (0 = leaf) the error is about


def openssl_verify(
    presented: Sequence[x509.Certificate], *, ca_file: str | Path | None = None, ca_data: bytes | None = None,
    at: datetime,
) -> OpenSslVerification:
    """Verify ``presented`` (leaf first) as OpenSSL would, with the chain's own intermediates."""
    name = str(ca_file) if ca_file else None
    if not presented:
        return OpenSslVerification(name, at, False, None, "no certificate was presented", None)
    # A fresh store per call, on purpose: OpenSSL copies a verification time into a store
    # only while the store has none (X509_VERIFY_PARAM inheritance), so a reused store keeps
    # its first time and would judge every later chain at it (tests/observe/test_per_file_caches.py).
    store = crypto.X509Store()
    try:
        if ca_file:
            parsed = trusted_certificates(str(ca_file))
            if parsed is None:
                store.load_locations(str(ca_file))
            else:
                for trusted in parsed:
                    store.add_cert(trusted)
        if ca_data:
            for cert in x509.load_pem_x509_certificates(ca_data):
                store.add_cert(_openssl_x509(cert))
    except (crypto.Error, ValueError, OSError) as exc:
        return OpenSslVerification(name, at, False, None, f"OpenSSL cannot load the CA file: {exc}", None)
    # pyOpenSSL reads a naive datetime as UTC.
    store.set_time(at.astimezone(timezone.utc).replace(tzinfo=None) if at.tzinfo else at)
    leaf = _openssl_x509(presented[0])
    untrusted = [_openssl_x509(c) for c in presented[1:_MAX_UNTRUSTED]]
    context = crypto.X509StoreContext(store, leaf, untrusted)
    try:
        context.verify_certificate()
    except crypto.X509StoreContextError as exc:
        code, depth, message = (exc.errors + [None, None, None])[:3] if isinstance(exc.errors, list) else (None, None, str(exc))
        return OpenSslVerification(name, at, False, code, message, depth)
    except crypto.Error as exc:
        return OpenSslVerification(name, at, False, None, str(exc), None)
    return OpenSslVerification(name, at, True, 0, None, None)


def trusted_certificates(path: str) -> tuple[crypto.X509, ...] | None:
    """The CA file's certificates as OpenSSL objects, parsed once per version of the file (None: let OpenSSL load it).

    OpenSSL parses a CA file each time a store loads it: ~5.5 ms for certifi's bundle, on
    every diagnosis, where adding the parsed certificates to the fresh store takes a tenth
    of that. Only a file of complete ``CERTIFICATE`` blocks and nothing else (certifi's,
    the OS bundles) is kept, each block parsed by OpenSSL's own PEM reader and added in
    file order, which is what ``load_locations`` adds. Anything else (CRLs, ``TRUSTED
    CERTIFICATE``, a block OpenSSL refuses, a file that changed while read) gets None,
    and OpenSSL loads the file itself, as it always did: a broken file fails the same way.
    """
    identity = file_identity(path)
    key = (path, identity)
    with _LOADED_LOCK:
        if key in _LOADED:
            return _LOADED[key]
    parsed = _parse_plain_bundle(path)
    if file_identity(path) != identity:
        return None  # changed while we read it: no caching, OpenSSL reads what is there now
    with _LOADED_LOCK:
        if len(_LOADED) >= _MAX_FILES:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = parsed
    return parsed


_LOADED: dict[tuple[str, tuple[object, ...]], tuple[crypto.X509, ...] | None] = {}
_LOADED_LOCK = threading.Lock()


def _parse_plain_bundle(path: str) -> tuple[crypto.X509, ...] | None:
    data, _error = read_ca_file_bytes(path)
    if data is None:
        return None
    blocks, truncated = certificate_blocks(data)
    if truncated or data.count(b"-----BEGIN ") != len(blocks):
        return None  # other kinds of blocks, or markers where OpenSSL's reader may see them differently
    if any(not block.complete or block.label != "CERTIFICATE" for block in blocks):
        return None
    try:
        return tuple(crypto.load_certificate(crypto.FILETYPE_PEM, block.text) for block in blocks)
    except crypto.Error:
        return None


@functools.lru_cache(maxsize=64)
def _openssl_x509(cert: x509.Certificate) -> crypto.X509:
    # What crypto.X509.from_cryptography does, minus its import of cryptography's public
    # serialization package (SSH keys, every cipher, bcrypt: ~9 ms of a process, issue 9).
    # Cached: a diagnosis asks about the same presented chain several times, and a batch
    # meets the same intermediates over and over; the objects are only ever read.
    return crypto.load_certificate(crypto.FILETYPE_ASN1, cert.public_bytes(Encoding.DER))

"""OpenSSL's own verdict on a chain, offline, at a chosen time.

``cryptography``'s verifier is strict and builds paths cleverly (it tries every candidate
issuer); OpenSSL, which libcurl and Python's ``ssl`` use, is not and does not. Some field
failures exist only in OpenSSL's behaviour — a corrupt CA file whose broken twin of a root
OpenSSL picks first ("invalid CA certificate") is the classic — so diagnosis asks OpenSSL
itself too, through pyOpenSSL's X509Store, without any network.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from cryptography import x509
from OpenSSL import crypto

from tlsdoctor.observe.pem import file_identity

_MAX_UNTRUSTED = 20


@dataclass(frozen=True)
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
    try:
        store, lock = _store(str(ca_file), ca_data) if ca_file and not ca_data else (_load(None, ca_data), None)
    except (crypto.Error, ValueError, OSError) as exc:
        return OpenSslVerification(name, at, False, None, f"OpenSSL cannot load the CA file: {exc}", None)
    leaf = crypto.X509.from_cryptography(presented[0])
    untrusted = [crypto.X509.from_cryptography(c) for c in presented[1:_MAX_UNTRUSTED]]
    with lock or contextlib.nullcontext():  # the time is the store's: one verification at a time
        # pyOpenSSL reads a naive datetime as UTC.
        store.set_time(at.astimezone(timezone.utc).replace(tzinfo=None) if at.tzinfo else at)
        context = crypto.X509StoreContext(store, leaf, untrusted)
        try:
            context.verify_certificate()
        except crypto.X509StoreContextError as exc:
            code, depth, message = (exc.errors + [None, None, None])[:3] if isinstance(exc.errors, list) else (None, None, str(exc))
            return OpenSslVerification(name, at, False, code, message, depth)
        except crypto.Error as exc:
            return OpenSslVerification(name, at, False, None, str(exc), None)
    return OpenSslVerification(name, at, True, 0, None, None)


# Loaded stores by CA file (path, size, mtime, inode): OpenSSL parses certifi's bundle in
# ~12 ms, once per diagnosis without this; a batch verifies against the same file per URL.
_STORES: dict[tuple[object, ...], tuple[crypto.X509Store, threading.Lock]] = {}
_STORES_LOCK = threading.Lock()
_STORES_KEPT = 8


def _store(ca_file: str, ca_data: bytes | None) -> tuple[crypto.X509Store, threading.Lock]:
    key = (ca_file, file_identity(ca_file))
    with _STORES_LOCK:
        hit = _STORES.get(key)
    if hit is not None:
        return hit
    entry = (_load(ca_file, ca_data), threading.Lock())
    with _STORES_LOCK:
        if len(_STORES) >= _STORES_KEPT:
            _STORES.pop(next(iter(_STORES)))
        _STORES[key] = entry
    return entry


def _load(ca_file: str | None, ca_data: bytes | None) -> crypto.X509Store:
    store = crypto.X509Store()
    if ca_file:
        store.load_locations(ca_file)
    if ca_data:
        for cert in x509.load_pem_x509_certificates(ca_data):
            store.add_cert(crypto.X509.from_cryptography(cert))
    return store

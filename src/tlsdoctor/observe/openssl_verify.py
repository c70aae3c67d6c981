"""OpenSSL's own verdict on a chain, offline, at a chosen time.

``cryptography``'s verifier is strict and builds paths cleverly (it tries every candidate
issuer); OpenSSL, which libcurl and Python's ``ssl`` use, is not and does not. Some field
failures exist only in OpenSSL's behaviour — a corrupt CA file whose broken twin of a root
OpenSSL picks first ("invalid CA certificate") is the classic — so diagnosis asks OpenSSL
itself too, through pyOpenSSL's X509Store, without any network.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from cryptography import x509
from OpenSSL import crypto

from tlsdoctor.observe.pem import Encoding
from tlsdoctor.records import record

_MAX_UNTRUSTED = 20


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
            store.load_locations(str(ca_file))
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


def _openssl_x509(cert: x509.Certificate) -> crypto.X509:
    # What crypto.X509.from_cryptography does, minus its import of cryptography's public
    # serialization package (SSH keys, every cipher, bcrypt: ~9 ms of a process, issue 9).
    return crypto.load_certificate(crypto.FILETYPE_ASN1, cert.public_bytes(Encoding.DER))

"""Revocation and issuer pointers: what OCSP, the CRL and caIssuers say about the leaf.

Three channels, recorded separately because clients use them differently: the OCSP
response the server *stapled* (what curl ``--cert-status`` checks, hard-fail), the OCSP
*responder* named in the leaf's AIA, and the *CRL* at its distribution point (browsers
and most libraries soft-fail on both: an unreachable responder is "unknown", not
"revoked"). The leaf's must-staple (TLS Feature) extension is recorded with them.

The caIssuers URL is fetched too when the server did not send the leaf's issuer: that
one fetch is the evidence that separates "incomplete chain" from "untrusted root".
"""

from __future__ import annotations

import asyncio
import functools
import time
from datetime import datetime
from typing import Any, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

from tlsdoctor.observe.fetch import FetchError, fetch
from tlsdoctor.observe.pem import Encoding
from tlsdoctor.observe.timing import elapsed_ms
from tlsdoctor.records import record


@record
class OcspAnswer:
    source: str  # "staple" or "responder"
    status: str | None  # "good", "revoked", "unknown"; None when there is no usable answer
    revocation_time: datetime | None
    this_update: datetime | None
    next_update: datetime | None
    signed_by_issuer: bool | None  # None: the issuer was not known, so not checked
    error: str | None


@record
class CrlAnswer:
    url: str
    listed: bool | None  # the leaf's serial is on it; None when the CRL was not usable
    next_update: datetime | None
    signed_by_issuer: bool | None
    error: str | None


@record
class IssuerFetch:
    url: str
    certificate: x509.Certificate | None
    issues_leaf: bool  # its key verifies the leaf's signature
    error: str | None


@record
class RevocationObservation:
    must_staple: bool
    ocsp_url: str | None
    crl_url: str | None
    ca_issuers_url: str | None
    staple: OcspAnswer | None
    responder: OcspAnswer | None
    crl: CrlAnswer | None
    issuer_fetch: IssuerFetch | None  # only when the server did not send the issuer
    fetches: int
    elapsed_ms: float
    status_checked: bool = True  # False: OCSP and CRL were not asked (the chain does not verify)


@functools.lru_cache(maxsize=256)
def leaf_pointers(leaf: x509.Certificate) -> tuple[str | None, str | None, str | None]:
    """(OCSP URL, CRL URL, caIssuers URL) from the leaf, first of each kind (once per certificate)."""
    ocsp_url = ca_issuers = crl_url = None
    try:
        aia = leaf.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS).value
        for desc in aia:
            if not isinstance(desc.access_location, x509.UniformResourceIdentifier):
                continue
            if desc.access_method == AuthorityInformationAccessOID.OCSP and ocsp_url is None:
                ocsp_url = desc.access_location.value
            elif desc.access_method == AuthorityInformationAccessOID.CA_ISSUERS and ca_issuers is None:
                ca_issuers = desc.access_location.value
    except (x509.ExtensionNotFound, ValueError):
        pass
    try:
        dps = leaf.extensions.get_extension_for_oid(ExtensionOID.CRL_DISTRIBUTION_POINTS).value
        for dp in dps:
            for name in dp.full_name or ():
                if isinstance(name, x509.UniformResourceIdentifier) and crl_url is None:
                    crl_url = name.value
    except (x509.ExtensionNotFound, ValueError):
        pass
    return ocsp_url, crl_url, ca_issuers


def has_must_staple(leaf: x509.Certificate) -> bool:
    try:
        features = leaf.extensions.get_extension_for_oid(ExtensionOID.TLS_FEATURE).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    return x509.TLSFeatureType.status_request in features


@functools.lru_cache(maxsize=256)
def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` signed ``cert`` (names and signature). Cached: a signature check is
    ~0.1 ms, a diagnosis asks it of the same pair more than once, and a batch meets the same
    intermediates again and again; certificates are immutable, so the answer is too."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, Exception):  # noqa: BLE001 - any failure means "no"
        return False
    return True


async def fetch_issuer(presented_chain: Sequence[x509.Certificate], timeout: float,
                       at: datetime | None = None) -> IssuerFetch | None:
    """The leaf's issuer from its caIssuers URL, when the server did not send it, or sent only
    copies of it that are out of date at ``at``; else None.

    This one fetch is the evidence that separates "incomplete chain" from "untrusted
    root", and a server's stale copy of a renewed intermediate (same name and key, new
    dates) from an intermediate that truly expired, so it starts as soon as the chain is
    known. Never raises.
    """
    leaf = presented_chain[0]
    _, _, ca_issuers_url = leaf_pointers(leaf)
    sent = [c for c in presented_chain[1:] if issued_by(leaf, c)]
    if not ca_issuers_url or (sent and (at is None or any(_valid_at(c, at) for c in sent))):
        return None
    try:
        body = (await fetch(ca_issuers_url, timeout)).body
        cert = (x509.load_pem_x509_certificate(body) if body.lstrip().startswith(b"-----")
                else x509.load_der_x509_certificate(body))
    except (FetchError, ValueError) as exc:
        return IssuerFetch(ca_issuers_url, None, False, _describe(exc))
    return IssuerFetch(ca_issuers_url, cert, issued_by(leaf, cert), None)


def _valid_at(cert: x509.Certificate, at: datetime) -> bool:
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


async def probe_revocation(
    presented_chain: Sequence[x509.Certificate],
    staple: bytes | None,
    timeout: float,
    *,
    fetch_responders: bool = True,
    issuer_fetch: IssuerFetch | None = None,
) -> RevocationObservation:
    """Judge nothing: record each channel's answer about the leaf. Never raises.

    ``issuer_fetch`` is :func:`fetch_issuer`'s result when the caller already has it.
    ``fetch_responders=False`` reads only the staple: the caller knows the chain does not
    verify, so asking its OCSP responder and CRL would cost time and tell nothing a client
    would ever get to. The OCSP and CRL fetches run concurrently, each within ``timeout``
    in all (:func:`tlsdoctor.observe.fetch.fetch`).
    """
    started = time.perf_counter()
    leaf = presented_chain[0]
    ocsp_url, crl_url, ca_issuers_url = leaf_pointers(leaf)
    issuer = next((c for c in presented_chain[1:] if issued_by(leaf, c)), None)
    fetches = 1 if issuer_fetch is not None else 0
    if issuer is None and issuer_fetch is not None and issuer_fetch.issues_leaf:
        issuer = issuer_fetch.certificate
    staple_answer = _read_ocsp(staple, leaf, issuer, "staple") if staple else None
    asks: dict[str, Any] = {}
    if ocsp_url and issuer is not None and fetch_responders:
        asks["responder"] = _ask_responder(ocsp_url, leaf, issuer, timeout)
    if crl_url and fetch_responders:
        asks["crl"] = _check_crl(crl_url, leaf, issuer, timeout)
    answers = dict(zip(asks, await asyncio.gather(*asks.values()))) if asks else {}
    fetches += len(asks)
    return RevocationObservation(
        must_staple=has_must_staple(leaf), ocsp_url=ocsp_url, crl_url=crl_url, ca_issuers_url=ca_issuers_url,
        staple=staple_answer, responder=answers.get("responder"), crl=answers.get("crl"),
        issuer_fetch=issuer_fetch, fetches=fetches, elapsed_ms=elapsed_ms(started),
        status_checked=fetch_responders,
    )


def _read_ocsp(der: bytes, leaf: x509.Certificate, issuer: x509.Certificate | None, source: str) -> OcspAnswer:
    try:
        response = ocsp.load_der_ocsp_response(der)
    except ValueError as exc:
        return OcspAnswer(source, None, None, None, None, None, f"unparseable OCSP response: {exc}")
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return OcspAnswer(source, None, None, None, None, None, f"OCSP {response.response_status.name.lower()}")
    try:
        single = next(r for r in response.responses if r.serial_number == leaf.serial_number)
    except (StopIteration, ValueError):
        return OcspAnswer(source, None, None, None, None, None, "the OCSP response is about another certificate")
    signed = None
    if issuer is not None:
        signer = next((c for c in response.certificates if issued_by(c, issuer)), issuer)
        try:
            signer.public_key().verify(  # type: ignore[call-arg]
                *_signature_args(response.signature, response.tbs_response_bytes, signer, response.signature_hash_algorithm)
            )
            signed = True
        except Exception:  # noqa: BLE001 - a bad signature in any form is "not signed by the issuer"
            signed = False
    return OcspAnswer(
        source, single.certificate_status.name.lower(), single.revocation_time_utc, single.this_update_utc,
        single.next_update_utc, signed, None,
    )


def _signature_args(signature: bytes, data: bytes, signer: x509.Certificate,
                    algorithm: hashes.HashAlgorithm | None) -> tuple[object, ...]:
    key = signer.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return (signature, data, padding.PKCS1v15(), algorithm)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return (signature, data, ec.ECDSA(algorithm))  # type: ignore[arg-type]
    return (signature, data)


async def _ask_responder(url: str, leaf: x509.Certificate, issuer: x509.Certificate, timeout: float) -> OcspAnswer:
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1()).build()
    try:
        body = (await fetch(url, timeout, body=request.public_bytes(Encoding.DER),
                            content_type="application/ocsp-request")).body
    except FetchError as exc:
        return OcspAnswer("responder", None, None, None, None, None, f"responder unreachable: {_describe(exc)}")
    return _read_ocsp(body, leaf, issuer, "responder")


async def _check_crl(url: str, leaf: x509.Certificate, issuer: x509.Certificate | None, timeout: float) -> CrlAnswer:
    try:
        body = (await fetch(url, timeout)).body
        crl = (x509.load_pem_x509_crl(body) if body.lstrip().startswith(b"-----") else x509.load_der_x509_crl(body))
    except (FetchError, ValueError) as exc:
        return CrlAnswer(url, None, None, None, _describe(exc))
    signed = None
    if issuer is not None:
        try:
            signed = crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
        except (TypeError, ValueError):
            signed = False
    listed = crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None
    return CrlAnswer(url, listed, crl.next_update_utc, signed, None)


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__

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

import functools
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

_MAX_DOCUMENT = 2 * 1024 * 1024  # a CRL of a big public CA is a few hundred KB


@dataclass(frozen=True)
class OcspAnswer:
    source: str  # "staple" or "responder"
    status: str | None  # "good", "revoked", "unknown"; None when there is no usable answer
    revocation_time: datetime | None
    this_update: datetime | None
    next_update: datetime | None
    signed_by_issuer: bool | None  # None: the issuer was not known, so not checked
    error: str | None


@dataclass(frozen=True)
class CrlAnswer:
    url: str
    listed: bool | None  # the leaf's serial is on it; None when the CRL was not usable
    next_update: datetime | None
    signed_by_issuer: bool | None
    error: str | None


@dataclass(frozen=True)
class IssuerFetch:
    url: str
    certificate: x509.Certificate | None
    issues_leaf: bool  # its key verifies the leaf's signature
    error: str | None


@dataclass(frozen=True)
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


def leaf_pointers(leaf: x509.Certificate) -> tuple[str | None, str | None, str | None]:
    """(OCSP URL, CRL URL, caIssuers URL) from the leaf, first of each kind."""
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


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, Exception):  # noqa: BLE001 - any failure means "no"
        return False
    return True


async def probe_revocation(
    presented_chain: Sequence[x509.Certificate],
    staple: bytes | None,
    timeout: float,
    *,
    fetch_responders: bool = True,
) -> RevocationObservation:
    """Judge nothing: record each channel's answer about the leaf. Never raises."""
    started = time.perf_counter()
    leaf = presented_chain[0]
    ocsp_url, crl_url, ca_issuers_url = leaf_pointers(leaf)
    issuer = next((c for c in presented_chain[1:] if issued_by(leaf, c)), None)
    fetches = 0
    issuer_fetch = None
    async with httpx.AsyncClient(timeout=timeout, trust_env=False, follow_redirects=False,
                                 verify=_tls_context()) as client:
        if issuer is None and ca_issuers_url and fetch_responders:
            issuer_fetch = await _fetch_issuer(client, ca_issuers_url, leaf)
            fetches += 1
            if issuer_fetch.issues_leaf:
                issuer = issuer_fetch.certificate
        staple_answer = _read_ocsp(staple, leaf, issuer, "staple") if staple else None
        responder = None
        if ocsp_url and issuer is not None and fetch_responders:
            responder = await _ask_responder(client, ocsp_url, leaf, issuer)
            fetches += 1
        crl = None
        if crl_url and fetch_responders:
            crl = await _check_crl(client, crl_url, leaf, issuer)
            fetches += 1
    return RevocationObservation(
        must_staple=has_must_staple(leaf), ocsp_url=ocsp_url, crl_url=crl_url, ca_issuers_url=ca_issuers_url,
        staple=staple_answer, responder=responder, crl=crl, issuer_fetch=issuer_fetch, fetches=fetches,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
    )


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One verifying context for the whole process: loading the CA store costs ~25 ms, and
    OCSP/CRL/caIssuers URLs are almost always plain http anyway."""
    return ssl.create_default_context()


async def _get(client: httpx.AsyncClient, url: str, **kwargs: object) -> bytes:
    """A bounded fetch: plain http(s) URLs only, at most _MAX_DOCUMENT bytes."""
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"not an http URL: {url[:80]}")
    method = "POST" if "content" in kwargs else "GET"
    async with client.stream(method, url, **kwargs) as response:  # type: ignore[arg-type]
        if response.status_code != 200:
            raise ValueError(f"HTTP {response.status_code}")
        body = b""
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > _MAX_DOCUMENT:
                raise ValueError("response too large")
        return body


async def _fetch_issuer(client: httpx.AsyncClient, url: str, leaf: x509.Certificate) -> IssuerFetch:
    try:
        body = await _get(client, url)
        cert = (x509.load_pem_x509_certificate(body) if body.lstrip().startswith(b"-----")
                else x509.load_der_x509_certificate(body))
    except (httpx.HTTPError, ValueError, OSError) as exc:
        return IssuerFetch(url, None, False, _describe(exc))
    return IssuerFetch(url, cert, issued_by(leaf, cert), None)


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


async def _ask_responder(
    client: httpx.AsyncClient, url: str, leaf: x509.Certificate, issuer: x509.Certificate
) -> OcspAnswer:
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1()).build()
    try:
        body = await _get(client, url, content=request.public_bytes(serialization.Encoding.DER),
                          headers={"content-type": "application/ocsp-request"})
    except (httpx.HTTPError, ValueError, OSError) as exc:
        return OcspAnswer("responder", None, None, None, None, None, f"responder unreachable: {_describe(exc)}")
    return _read_ocsp(body, leaf, issuer, "responder")


async def _check_crl(
    client: httpx.AsyncClient, url: str, leaf: x509.Certificate, issuer: x509.Certificate | None
) -> CrlAnswer:
    try:
        body = await _get(client, url)
        crl = (x509.load_pem_x509_crl(body) if body.lstrip().startswith(b"-----") else x509.load_der_x509_crl(body))
    except (httpx.HTTPError, ValueError, OSError) as exc:
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

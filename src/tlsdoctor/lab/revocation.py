"""The lab's CA services: OCSP responder, CRLs and caIssuers, over plain HTTP.

Everything a lab certificate points at (AIA OCSP and caIssuers, CRL distribution
points) is served here, so that a client or a diagnosis can follow those pointers the
way it would on the internet, and both revocation channels give the same answer because
both read the CA's one revocation list.

Routes (``NAME`` is an authority of the lab, e.g. ``intermediate``)::

    GET  /ca/NAME.der          the CA certificate (caIssuers, RFC 5280 §4.2.2.1)
    GET  /crl/NAME.crl         the CA's current CRL, DER
    POST /ocsp/NAME            an OCSP request, DER body (RFC 6960 appendix A.1)
    GET  /ocsp/NAME/BASE64     the same, base64 in the path
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta, timezone
from typing import Mapping
from urllib.parse import unquote

import h11
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from tlsdoctor.lab.http import ByteStream, Reply, serve_http1
from tlsdoctor.lab.pki import CA

_OCSP_VALIDITY = timedelta(days=1)


def ocsp_response_for(ca: CA, cert: x509.Certificate, *, expired_for: timedelta | None = None) -> bytes:
    """A signed OCSP response about ``cert`` (good or revoked), e.g. to staple.

    ``expired_for``: an old answer, whose nextUpdate passed that long ago, as a server whose
    stapling can no longer refresh keeps sending.
    """
    status = _status_of(ca, cert.serial_number)
    if expired_for is not None:
        now = datetime.now(timezone.utc).replace(microsecond=0)
        status.update(this_update=now - expired_for - _OCSP_VALIDITY, next_update=now - expired_for)
    builder = ocsp.OCSPResponseBuilder().add_response(cert=cert, issuer=ca.cert, algorithm=hashes.SHA1(), **status)
    return _sign(ca, builder)


def _answer_ocsp_request(ca: CA, request_der: bytes) -> bytes:
    try:
        request = ocsp.load_der_ocsp_request(request_der)
        algorithm = request.hash_algorithm
    except (ValueError, NotImplementedError, UnsupportedAlgorithm):
        # Not DER, several CertIDs (cryptography reads one only), or a CertID hash it does
        # not know: "malformedRequest" (RFC 6960 §4.2.1), never a dropped connection.
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(
            serialization.Encoding.DER
        )
    issuer_key_hash = _key_hash(ca, algorithm)
    if request.issuer_key_hash != issuer_key_hash:
        # Not our certificate: RFC 6960 says "unauthorized" rather than "unknown".
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(
            serialization.Encoding.DER
        )
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        issuer_name_hash=request.issuer_name_hash,
        issuer_key_hash=request.issuer_key_hash,
        serial_number=request.serial_number,
        algorithm=algorithm,
        **_status_of(ca, request.serial_number),
    )
    return _sign(ca, builder)


def _status_of(ca: CA, serial: int) -> dict[str, object]:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    revoked_at = ca.revoked.get(serial)
    return {
        "cert_status": ocsp.OCSPCertStatus.REVOKED if revoked_at else ocsp.OCSPCertStatus.GOOD,
        "this_update": now - timedelta(minutes=5),
        "next_update": now + _OCSP_VALIDITY,
        "revocation_time": revoked_at,
        "revocation_reason": x509.ReasonFlags.key_compromise if revoked_at else None,
    }


def _key_hash(ca: CA, algorithm: hashes.HashAlgorithm) -> bytes:
    """The issuerKeyHash a client computes for certificates of ``ca`` (RFC 6960 §4.1.1)."""
    # Let cryptography do the hashing of the SPKI's BIT STRING: build a request about the
    # CA's own certificate as if the CA issued it; only the issuer side matters here.
    request = ocsp.OCSPRequestBuilder().add_certificate(ca.cert, ca.cert, algorithm).build()
    return request.issuer_key_hash


def _sign(ca: CA, builder: ocsp.OCSPResponseBuilder) -> bytes:
    # Issuer-signed responses (no delegated responder): the simplest form clients accept.
    response = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, ca.cert).sign(ca.key.private_key, hashes.SHA256())
    return response.public_bytes(serialization.Encoding.DER)


class CaServices:
    """Answers the HTTP routes above for a set of named authorities."""

    def __init__(self, authorities: Mapping[str, CA]) -> None:
        self._authorities = dict(authorities)
        self.requests = 0

    def respond(self, method: str, target: str, body: bytes) -> tuple[int, str, bytes]:
        """Route one request: (status, content type, body). Pure, so tests call it directly."""
        self.requests += 1
        path = unquote(target.split("?", 1)[0])
        parts = [p for p in path.split("/") if p]
        if len(parts) == 2 and parts[0] == "ca" and parts[1].endswith(".der"):
            ca = self._authorities.get(parts[1][: -len(".der")])
            if ca is not None:
                return 200, "application/pkix-cert", ca.cert.public_bytes(serialization.Encoding.DER)
        if len(parts) == 2 and parts[0] == "crl" and parts[1].endswith(".crl"):
            ca = self._authorities.get(parts[1][: -len(".crl")])
            if ca is not None:
                return 200, "application/pkix-crl", ca.crl().public_bytes(serialization.Encoding.DER)
        if len(parts) >= 2 and parts[0] == "ocsp" and parts[1] in self._authorities:
            ca = self._authorities[parts[1]]
            if method == "POST" and len(parts) == 2:
                return 200, "application/ocsp-response", _answer_ocsp_request(ca, body)
            if method == "GET" and len(parts) >= 3:
                # Everything after "/ocsp/NAME/" verbatim: base64 may itself hold "//".
                encoded = path.split(f"/ocsp/{parts[1]}/", 1)[1]
                try:
                    request = base64.b64decode(encoded, validate=False)
                except (binascii.Error, ValueError):
                    request = b""
                return 200, "application/ocsp-response", _answer_ocsp_request(ca, request)
        return 404, "text/plain", b"not found\n"

    async def serve(self, stream: ByteStream) -> None:
        """One HTTP/1.1 connection (keep-alive, bounded)."""

        def answer(request: h11.Request, body: bytes) -> Reply:
            status, ctype, payload = self.respond(request.method.decode(), request.target.decode("latin-1"), body)
            return Reply(status=status, body=payload, content_type=ctype.encode())

        await serve_http1(stream, answer)

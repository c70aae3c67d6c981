"""Rust: rustls and webpki, and the clients on top (reqwest, hyper, ureq, tokio-rustls).

rustls' errors are Rust enums printed with Display or Debug (``invalid peer certificate:
UnknownIssuer``, ``InvalidCertificate(UnknownIssuer)``, older ``CertNotValidForName``);
reqwest and hyper wrap them (``error trying to connect: ...``). native-tls builds print the
platform's words (OpenSSL, schannel, Security.framework), read by those recognisers.
"""

from __future__ import annotations

import re

from tlsdoctor.explain.recognisers.base import (
    BAD_USAGE, CLOSED, EXPIRED, HANDSHAKE_FAILED, NAME_MISMATCH, NOT_TLS, NOT_YET_VALID, REJECTED, REVOCATION_UNKNOWN,
    REVOKED, UNTRUSTED, VERSION_OR_CIPHER, WEAK_SIGNATURE, WRAPPER, Means, Pattern, Recogniser,
)
from tlsdoctor.explain.recognisers.openssl import alert_named

# rustls::CertificateError (and webpki::Error in rustls ≤ 0.20) variant names.
CERTIFICATE_ERRORS: dict[str, Means] = {
    "UnknownIssuer": UNTRUSTED,
    "NotValidForName": NAME_MISMATCH,
    "NotValidForNameContext": NAME_MISMATCH,
    "CertNotValidForName": NAME_MISMATCH,
    "Expired": EXPIRED,
    "ExpiredContext": EXPIRED,
    "CertExpired": EXPIRED,
    "NotValidYet": NOT_YET_VALID,
    "NotValidYetContext": NOT_YET_VALID,
    "CertNotValidYet": NOT_YET_VALID,
    "Revoked": REVOKED,
    "UnknownRevocationStatus": REVOCATION_UNKNOWN,
    "ExpiredRevocationList": REVOCATION_UNKNOWN,
    "BadSignature": REJECTED,
    "BadEncoding": REJECTED,
    "InvalidPurpose": BAD_USAGE,
    "InvalidPurposeContext": BAD_USAGE,
    "RequiredEkuNotFound": BAD_USAGE,
    "UnsupportedSignatureAlgorithm": WEAK_SIGNATURE,
    "UnsupportedSignatureAlgorithmForPublicKey": WEAK_SIGNATURE,
    "CaUsedAsEndEntity": REJECTED,
    "EndEntityUsedAsCa": REJECTED,
    "ApplicationVerificationFailure": REJECTED,
}


def _certificate_error(match: re.Match[str]) -> Means | None:
    return CERTIFICATE_ERRORS.get(match[1])



RECOGNISER = Recogniser(
    ecosystem="rust",
    title="Rust (rustls, webpki, reqwest, hyper, ureq)",
    covers="rustls 0.19–0.23 Error/CertificateError Display and Debug forms, webpki errors, reqwest/hyper wrappers",
    phrases={
        "peer is incompatible": VERSION_OR_CIPHER,
        # rustls 0.23's Display of the *Context variants
        "invalid peer certificate: certificate expired": EXPIRED,
        "invalid peer certificate: certificate not valid yet": NOT_YET_VALID,
        "invalid peer certificate: certificate not valid for name": NAME_MISMATCH,
        "invalid peer certificate: certificate revoked": REVOKED,
        "invalid peer certificate: unknownissuer": UNTRUSTED,
        "peer misbehaved": HANDSHAKE_FAILED,
        "received corrupt message of type invalidcontenttype": NOT_TLS,
        "corrupt message: invalidcontenttype": NOT_TLS,
        "tls handshake eof": CLOSED,
        "unexpected eof during handshake": CLOSED,
        "peer closed connection without sending tls close_notify": Means(condition="connection_closed", trust=WRAPPER),
        "error trying to connect": Means(condition="handshake_failed", trust=5),
        "invalid peer certificate contents": Means(condition="cert_rejected", trust=WRAPPER),
    },
    names={
        "UnknownIssuer": UNTRUSTED,
        "CertNotValidForName": NAME_MISMATCH,
        "NotValidForName": NAME_MISMATCH,
        "CertExpired": EXPIRED,
        "CertNotValidYet": NOT_YET_VALID,
        "UnknownRevocationStatus": REVOCATION_UNKNOWN,
        "InvalidContentType": NOT_TLS,
    },
    patterns=(
        # Display: "invalid peer certificate: UnknownIssuer"; Debug: "InvalidCertificate(Expired)".
        Pattern(re.compile(r"invalid (?:peer )?certificate: ([A-Z][A-Za-z]{2,40})"), "certificate:",
                read=_certificate_error, trust=1),
        Pattern(re.compile(r"InvalidCertificate\(([A-Z][A-Za-z]{2,40})"), "invalidcertificate(",
                read=_certificate_error, trust=1),
        Pattern(re.compile(r"received fatal alert: ([A-Z][A-Za-z]{2,40})"), "received fatal alert", read=alert_named, trust=1),
        Pattern(re.compile(r"AlertReceived\(([A-Z][A-Za-z]{2,40})\)"), "alertreceived(", read=alert_named, trust=1),
    ),
    markers=("rustls", "webpki", "reqwest", "hyper", "invalid peer certificate", "tokio"),
    input_kind="rust",
)

"""Firefox (and every NSS/mozilla::pkix client): SEC_ERROR_*, SSL_ERROR_*, MOZILLA_PKIX_ERROR_*, PR_*.

Firefox's "Advanced" panel shows the code (``SEC_ERROR_UNKNOWN_ISSUER``); it is the most
precise thing a browser user can paste. ``MOZILLA_PKIX_ERROR_MITM_DETECTED`` is Firefox
recognising TLS-inspecting software outright. Sources: security/nss/lib/util/secerr.h,
lib/ssl/sslerr.h, security/manager/ssl/ (mozilla::pkix errors), nsprpub's prerr.h.
"""

from __future__ import annotations

from tlsdoctor.explain.recognisers.base import (
    BAD_USAGE, CIPHER, CLIENT_CERT, CLOSED, EXPIRED, HANDSHAKE_FAILED, MITM, NAME_MISMATCH, NOT_TLS, NOT_YET_VALID,
    NO_NAME, PROTOCOL, REFUSED, REJECTED, RESET, REVOCATION_UNKNOWN, REVOKED, SELF_SIGNED, TIMED_OUT, UNTRUSTED,
    WEAK_KEY, WEAK_SIGNATURE, WRAPPER, Means, Recogniser,
)

CODES: dict[str, Means] = {
    "SEC_ERROR_UNKNOWN_ISSUER": UNTRUSTED,
    "SEC_ERROR_UNTRUSTED_ISSUER": UNTRUSTED,
    "SEC_ERROR_UNTRUSTED_CERT": REJECTED,
    "SEC_ERROR_EXPIRED_CERTIFICATE": EXPIRED,
    "SEC_ERROR_EXPIRED_ISSUER_CERTIFICATE": EXPIRED,
    "MOZILLA_PKIX_ERROR_NOT_YET_VALID_CERTIFICATE": NOT_YET_VALID,
    "MOZILLA_PKIX_ERROR_NOT_YET_VALID_ISSUER_CERTIFICATE": NOT_YET_VALID,
    "SEC_ERROR_REVOKED_CERTIFICATE": REVOKED,
    "SEC_ERROR_OCSP_SERVER_ERROR": REVOCATION_UNKNOWN,
    "SEC_ERROR_OCSP_UNKNOWN_CERT": REVOCATION_UNKNOWN,
    "SEC_ERROR_OCSP_OLD_RESPONSE": REVOCATION_UNKNOWN,
    "SEC_ERROR_OCSP_FUTURE_RESPONSE": REVOCATION_UNKNOWN,
    "SEC_ERROR_OCSP_INVALID_SIGNING_CERT": REVOCATION_UNKNOWN,
    "SEC_ERROR_OCSP_BAD_SIGNATURE": REVOCATION_UNKNOWN,
    "MOZILLA_PKIX_ERROR_REQUIRED_TLS_FEATURE_MISSING": Means(condition="must_staple_missing"),
    "SSL_ERROR_BAD_CERT_DOMAIN": NAME_MISMATCH,
    "MOZILLA_PKIX_ERROR_SELF_SIGNED_CERT": SELF_SIGNED,
    "SEC_ERROR_CA_CERT_INVALID": REJECTED,
    "MOZILLA_PKIX_ERROR_MITM_DETECTED": MITM,
    "SEC_ERROR_INADEQUATE_KEY_USAGE": BAD_USAGE,
    "SEC_ERROR_INADEQUATE_CERT_TYPE": BAD_USAGE,
    "MOZILLA_PKIX_ERROR_INADEQUATE_KEY_SIZE": WEAK_KEY,
    "SEC_ERROR_CERT_SIGNATURE_ALGORITHM_DISABLED": WEAK_SIGNATURE,
    "MOZILLA_PKIX_ERROR_ADDITIONAL_POLICY_CONSTRAINT_FAILED": UNTRUSTED,
    "MOZILLA_PKIX_ERROR_V1_CERT_USED_AS_CA": REJECTED,
    "MOZILLA_PKIX_ERROR_CA_CERT_USED_AS_END_ENTITY": REJECTED,
    "MOZILLA_PKIX_ERROR_EMPTY_ISSUER_NAME": REJECTED,
    "SEC_ERROR_BAD_SIGNATURE": REJECTED,
    "SEC_ERROR_BAD_DER": REJECTED,
    "SSL_ERROR_NO_CYPHER_OVERLAP": CIPHER,
    "SSL_ERROR_UNSUPPORTED_VERSION": PROTOCOL,
    "SSL_ERROR_PROTOCOL_VERSION_ALERT": Means(alert=70),
    "SSL_ERROR_HANDSHAKE_FAILURE_ALERT": Means(alert=40),
    "SSL_ERROR_ACCESS_DENIED_ALERT": Means(alert=49),
    "SSL_ERROR_UNRECOGNIZED_NAME_ALERT": Means(alert=112),
    "SSL_ERROR_INAPPROPRIATE_FALLBACK_ALERT": Means(alert=86),
    "SSL_ERROR_BAD_CERT_ALERT": Means(alert=42),
    "SSL_ERROR_RX_CERTIFICATE_REQUIRED_ALERT": CLIENT_CERT,
    "SSL_ERROR_RX_RECORD_TOO_LONG": NOT_TLS,
    "SSL_ERROR_HANDSHAKE_UNEXPECTED_ALERT": HANDSHAKE_FAILED,
    "SSL_ERROR_WEAK_SERVER_EPHEMERAL_DH_KEY": CIPHER,
    "SSL_ERROR_INTERNAL_ERROR_ALERT": HANDSHAKE_FAILED,
    "SSL_ERROR_NO_CERTIFICATE": CLIENT_CERT,
    "PR_CONNECT_RESET_ERROR": RESET,
    "PR_END_OF_FILE_ERROR": CLOSED,
    "PR_CONNECT_REFUSED_ERROR": REFUSED,
    "PR_IO_TIMEOUT_ERROR": TIMED_OUT,
    "PR_DIRECTORY_LOOKUP_ERROR": NO_NAME,
}

RECOGNISER = Recogniser(
    ecosystem="firefox",
    title="Firefox and NSS (Thunderbird, NSS-built curl)",
    covers="secerr.h SEC_ERROR_*, sslerr.h SSL_ERROR_*, mozilla::pkix MOZILLA_PKIX_ERROR_*, NSPR PR_*_ERROR; "
           "the error pages' English words",
    phrases={
        "software is preventing firefox from safely connecting to this site": MITM,
        "warning: potential security risk ahead": Means(condition="cert_rejected", trust=WRAPPER),
        "did not connect: potential security issue": Means(condition="cert_rejected", trust=WRAPPER),
        "secure connection failed": Means(condition="handshake_failed", trust=WRAPPER),
        "the certificate is not trusted because the issuer certificate is unknown": UNTRUSTED,
        "the certificate is not trusted because it is self-signed": SELF_SIGNED,
        "the certificate expired on": EXPIRED,
        "your computer clock is set to": Means(condition="clock_wrong"),
        "the certificate is only valid for": NAME_MISMATCH,
        "peer's certificate has an invalid signature": REJECTED,
        "peer using unsupported version of security protocol": PROTOCOL,
        "cannot communicate securely with peer: no common encryption algorithm(s)": CIPHER,
    },
    names=CODES,
    markers=("sec_error_", "ssl_error_", "mozilla_pkix_error_", "firefox", "pr_end_of_file_error"),
    input_kind="browser",
)

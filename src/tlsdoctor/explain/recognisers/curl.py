"""curl and libcurl, with every TLS backend's own words.

libcurl reports a failure as a number (``curl: (60)``, ``CURLE_PEER_FAILED_VERIFICATION``,
PHP's ``cURL error 60``, ``"curl_code": 60``) plus its error buffer, whose words come from the
TLS backend it was built with: OpenSSL (its reason and verify strings, in openssl.py),
schannel (``SEC_E_*`` names and hex, in windows.py, plus its own prefixes), Secure Transport
(``lib/vtls/sectransp.c``: "SSL certificate problem: Invalid certificate chain"), GnuTLS
(``lib/vtls/gtls.c``: "server certificate verification failed. CAfile: ..."), wolfSSL
(``SSL_connect failed with error -188: ASN no signer error to confirm failure``) and mbedTLS.
"""

from __future__ import annotations

import re

from tlsdoctor.classify import SIGNAL_TABLE
from tlsdoctor.explain.recognisers.base import (
    BUNDLE_MISSING, CIPHER, CLIENT_CERT, CLOSED, EXPIRED, HANDSHAKE_FAILED, NAME_MISMATCH, NOT_TLS, NOT_YET_VALID,
    PROTOCOL, PROXY_FAILED, REJECTED, RESET, REVOCATION_UNKNOWN, UNTRUSTED, WEAK_SIGNATURE, WRAPPER, Means, Pattern,
    Recogniser, numbered,
)


def _curle_names() -> dict[str, int]:
    """CURLE_* names → numbers, from pycurl's E_* constants plus the ones it lacks.

    Field reports from libcurl users (PHP, Rust, C) often print the enum name instead of
    the number. The fallback keeps the names that matter for TLS if pycurl cannot load.
    """
    names = {
        "CURLE_UNSUPPORTED_PROTOCOL": 1, "CURLE_COULDNT_RESOLVE_PROXY": 5, "CURLE_COULDNT_RESOLVE_HOST": 6,
        "CURLE_COULDNT_CONNECT": 7, "CURLE_WEIRD_SERVER_REPLY": 8, "CURLE_HTTP2": 16, "CURLE_HTTP_RETURNED_ERROR": 22,
        "CURLE_OPERATION_TIMEDOUT": 28, "CURLE_SSL_CONNECT_ERROR": 35, "CURLE_GOT_NOTHING": 52,
        "CURLE_SEND_ERROR": 55, "CURLE_RECV_ERROR": 56, "CURLE_SSL_CERTPROBLEM": 58, "CURLE_SSL_CIPHER": 59,
        "CURLE_PEER_FAILED_VERIFICATION": 60, "CURLE_SSL_CACERT": 60, "CURLE_SSL_CACERT_BADFILE": 77,
        "CURLE_SSL_CRL_BADFILE": 82, "CURLE_SSL_ISSUER_ERROR": 83, "CURLE_SSL_PINNEDPUBKEYNOTMATCH": 90,
        "CURLE_SSL_INVALIDCERTSTATUS": 91, "CURLE_HTTP2_STREAM": 92, "CURLE_HTTP3": 95,
        "CURLE_QUIC_CONNECT_ERROR": 96, "CURLE_PROXY": 97, "CURLE_SSL_CLIENTCERT": 98,
        "CURLE_UNRECOVERABLE_POLL": 99, "CURLE_TOO_LARGE": 100, "CURLE_ECH_REQUIRED": 101,
    }
    try:
        import pycurl
    except ImportError:  # pragma: no cover - explain must not need libcurl to load
        return names
    for name in dir(pycurl):
        value = getattr(pycurl, name)
        if name.startswith("E_") and not name.startswith("E_MULTI_") and isinstance(value, int) and 0 <= value < 200:
            names.setdefault("CURL" + name, value)
    return names


CURLE_NAMES: dict[str, int] = _curle_names()

# curl codes a bare "error N" is read as: only those the table knows, since "error 2" in
# free text is far more often something else.
_TABLE_CURL_CODES = frozenset(code for row in SIGNAL_TABLE for code in row.curl)


def _curl_code(match: re.Match[str]) -> Means | None:
    code = int(match[1])
    return Means(curl=code) if 0 < code < 200 else None


def _bare_curl_code(match: re.Match[str]) -> Means | None:
    code = int(match[1])
    return Means(curl=code) if code in _TABLE_CURL_CODES else None


def _connect_status(match: re.Match[str]) -> Means | None:
    return Means(connect_status=int(match[1]))


# Each regex is anchored by a literal and uses bounded quantifiers only: on "curl" followed
# by a megabyte of spaces each start position costs a few steps, not the rest of the line.
_CODE_PATTERNS = (
    Pattern(re.compile(r"\bcurl: \((\d{1,3})\)"), "curl: (", read=_curl_code, trust=0),
    Pattern(re.compile(r"\bpycurl\.error: \((\d{1,3}),"), "pycurl.error", read=_curl_code, trust=0),
    Pattern(re.compile(r"\bcurl_?code\b[\"']?[ \t]{0,8}[:=][ \t]{0,8}[\"']?(\d{1,3})\b", re.IGNORECASE), "curl",
            read=_curl_code, trust=1),
    Pattern(re.compile(r"\b(?:lib)?curl\b[ \t]{0,4}(?:(?:error|code|exit code|returned|failed with(?: exit code| error)?)"
                       r"[ \t]{0,4})?[:#(]?[ \t]{0,4}(\d{1,3})(?![\d.])", re.IGNORECASE), "curl",
            read=_curl_code, trust=2),
    Pattern(re.compile(r"\berror[ \t]{1,4}(\d{1,2})\b(?![.:]\d)", re.IGNORECASE), "error", read=_bare_curl_code, trust=3),
)

_CONNECT_PATTERNS = (
    Pattern(re.compile(r"CONNECT tunnel failed, response (\d{3})"), "connect tunnel", read=_connect_status),
    Pattern(re.compile(r"Received HTTP code (\d{3}) from proxy after CONNECT"), "from proxy", read=_connect_status),
    Pattern(re.compile(r"Proxy replied (\d{3}) to CONNECT request"), "proxy replied", read=_connect_status),
    Pattern(re.compile(r"Tunnel connection failed: (\d{3})"), "tunnel connection failed", read=_connect_status),
    Pattern(re.compile(r"Unable to tunnel through proxy\. Proxy returns \"HTTP/\d(?:\.\d)? (\d{3})"),
            "unable to tunnel", read=_connect_status),
)

# wolfSSL's error numbers as curl prints them ("SSL_connect failed with error -188: ...").
_WOLFSSL = {
    "-188": UNTRUSTED,  # ASN_NO_SIGNER_E
    "-150": EXPIRED,  # ASN_AFTER_DATE_E
    "-151": NOT_YET_VALID,  # ASN_BEFORE_DATE_E
    "-155": REJECTED,  # ASN_SIG_CONFIRM_E
    "-322": NAME_MISMATCH,  # DOMAIN_NAME_MISMATCH
    "-326": PROTOCOL,  # VERSION_ERROR
    "-501": CIPHER,  # MATCH_SUITE_ERROR
    "-313": HANDSHAKE_FAILED,  # FATAL_ERROR: revcd alert fatal error
    "-308": RESET,  # SOCKET_ERROR_E
    "-329": REJECTED,  # NO_PEER_VERIFY
}

RECOGNISER = Recogniser(
    ecosystem="curl",
    title="curl and libcurl (OpenSSL, schannel, Secure Transport, GnuTLS, wolfSSL, mbedTLS backends)",
    covers="`curl: (N)` lines, CURLE_* names, PHP's `cURL error N`, `curl_code` fields, curl -v transcripts, and "
           "each TLS backend's error-buffer words (lib/vtls/*.c)",
    phrases={
        # Secure Transport (macOS curl before 8.x; lib/vtls/sectransp.c)
        "ssl certificate problem: invalid certificate chain": UNTRUSTED,
        "ssl certificate problem: untrusted root certificate": UNTRUSTED,
        "ssl certificate problem: no root certificate": UNTRUSTED,
        "ssl certificate problem: certificate chain had an expired certificate": EXPIRED,
        "ssl certificate problem: couldn't understand the server certificate format": REJECTED,
        "ssl certificate peer hostname mismatch": NAME_MISMATCH,
        "ssl certificate problem: unexpected certificate error": REJECTED,
        # GnuTLS (lib/vtls/gtls.c)
        "server certificate verification failed": UNTRUSTED,
        "server certificate expired": EXPIRED,
        "server certificate not activated": NOT_YET_VALID,
        "server certificate is revoked": Means(verify=23),
        "server certificate status verification failed": REVOCATION_UNKNOWN,
        "the tls connection was non-properly terminated": CLOSED,
        # GnuTLS' transport errors during a handshake: the peer (or a middlebox) dropped it.
        "error in the pull function": CLOSED,
        "error in the push function": CLOSED,
        "an unexpected tls packet was received": NOT_TLS,
        "a packet with illegal or unsupported version was received": PROTOCOL,
        "could not negotiate a supported cipher suite": CIPHER,
        "no supported cipher suites have been found": CIPHER,
        "gnutls_handshake() failed: handshake failed": HANDSHAKE_FAILED,
        "a tls fatal alert has been received": Means(condition="fatal_alert"),
        "the certificate issuer is unknown": UNTRUSTED,
        "the certificate chain uses expired certificate": EXPIRED,
        "the certificate chain uses not yet valid certificate": NOT_YET_VALID,
        "the certificate chain uses insecure algorithm": WEAK_SIGNATURE,
        "the name in the certificate does not match the expected": NAME_MISMATCH,
        # wolfSSL (lib/vtls/wolfssl.c prints wolfSSL_ERR_error_string)
        "asn no signer error to confirm failure": UNTRUSTED,
        "asn date error, current date after": EXPIRED,
        "asn date error, current date before": NOT_YET_VALID,
        "asn signature error, confirm failure": REJECTED,
        "subject name doesn't match": NAME_MISMATCH,
        "can't match cipher suite": CIPHER,
        # mbedTLS (lib/vtls/mbedtls.c)
        "cert verify failed: the certificate is not correctly signed by the trusted ca": UNTRUSTED,
        "the certificate validity has expired": EXPIRED,
        "the certificate common name (cn) does not match with the expected cn": NAME_MISMATCH,
        # schannel's own prefixes (the SEC_E_* that follow are in windows.py)
        "schannel: failed to receive handshake, ssl/tls connection failed": Means(condition="handshake_failed",
                                                                                  trust=WRAPPER),
        "schannel: next initializesecuritycontext failed": Means(condition="secure_channel_failed", trust=WRAPPER),
        "schannel: certgetcertificatechain trust error cert_trust_is_untrusted_root": UNTRUSTED,
        "schannel: certgetcertificatechain trust error cert_trust_is_partial_chain": Means(
            condition="chain_incomplete"),
        "schannel: acquirecredentialshandle failed": Means(condition="client_cert_required", trust=WRAPPER),
        # libcurl itself
        "ssl: no alternative certificate subject name matches target host name": NAME_MISMATCH,
        "ssl: certificate subject name": NAME_MISMATCH,
        "ssl peer certificate or ssh remote key was not ok": REJECTED,
        "peer's certificate issuer is not recognized": UNTRUSTED,  # the NSS backend
        "peer's certificate has expired": EXPIRED,  # the NSS backend
        "error setting certificate verify locations": BUNDLE_MISSING,
        "error setting certificate file": BUNDLE_MISSING,
        "error reading ca cert file": BUNDLE_MISSING,
        "proxy connect aborted": PROXY_FAILED,
        "no ocsp response received": Means(curl=91),
        "ssl connection timeout": Means(condition="handshake_timeout"),
        "client certificate required": CLIENT_CERT,
        "the server most likely requires a client certificate": CLIENT_CERT,  # Secure Transport
        "schannel: the certificate chain is incomplete": Means(condition="chain_incomplete"),
        "ssl_connect: connection was reset": CLOSED,
        "connection was reset": CLOSED,
        "ms: timed out": Means(errno="ETIMEDOUT"),  # "Failed to connect to x port 443 after 21046 ms: Timed out"
        "ssl certificate verification failed: certificate signer not trusted": UNTRUSTED,  # GnuTLS
    },
    names={
        **{name: Means(curl=number) for name, number in CURLE_NAMES.items()},
        # Unity's libcurl with its own TLS (UnityTLS): "Curl error 60: Cert verify failed: UNITYTLS_..."
        "UNITYTLS_X509VERIFY_FLAG_EXPIRED": EXPIRED,
        "UNITYTLS_X509VERIFY_FLAG_CN_MISMATCH": NAME_MISMATCH,
        "UNITYTLS_X509VERIFY_FLAG_NOT_TRUSTED": UNTRUSTED,
        "UNITYTLS_X509VERIFY_FLAG_REVOKED": Means(verify=23),
        "UNITYTLS_X509VERIFY_FLAG_USER_ERROR1": REJECTED,
    },
    patterns=(
        *_CODE_PATTERNS,
        *_CONNECT_PATTERNS,
        numbered(r"SSL_connect failed with error (-\d{3})", "ssl_connect failed with error", _WOLFSSL),
    ),
    markers=("curl: (", "libcurl", "curle_", "curl error", "* trying"),
    input_kind=None,
)

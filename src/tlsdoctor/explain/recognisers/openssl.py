"""OpenSSL (1.0 to 3.x), LibreSSL and BoringSSL: verify results, reason strings, alerts, s_client.

OpenSSL words the same failure three ways, and users paste all three: the verify result's
text (``X509_verify_cert_error_string``: "unable to get local issuer certificate", which
Python's SSLCertVerificationError, curl and Node print verbatim), its name
(``X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY``, Node's ``err.code`` without the prefix),
and reason strings — lower-case words before 1.1 (``ssl3_get_record:wrong version number``),
upper-case names since (``SSL_R_WRONG_VERSION_NUMBER`` → ``WRONG_VERSION_NUMBER``), which
BoringSSL (Android, Chrome, Go's boringcrypto) shares. ``openssl s_client`` adds its own
lines (``verify error:num=20``, ``Verify return code: 21 (...)``, ``connect:errno=111``).
"""

from __future__ import annotations

import errno as _errno
import re

from tlsdoctor.explain.recognisers.base import (
    CIPHER, CLIENT_CERT, CLOSED, HANDSHAKE_FAILED, NOT_TLS, PHRASE, PROTOCOL, WRAPPER, Means, Pattern, Recogniser,
)
from tlsdoctor.wire import AlertDescription

# X509_verify_cert_error_string() for the results the table reads, as OpenSSL 3 words them
# (and OpenSSL 1.1, where it differed: "self signed" lost its hyphen-less spelling in 3.0).
VERIFY_STRINGS: dict[str, int] = {
    "unable to get issuer certificate": 2,
    "unable to decode issuer public key": 6,
    "certificate signature failure": 7,
    "certificate is not yet valid": 9,
    "certificate has expired": 10,
    "self-signed certificate": 18,
    "self signed certificate": 18,
    "self-signed certificate in certificate chain": 19,
    "self signed certificate in certificate chain": 19,
    "unable to get local issuer certificate": 20,
    "unable to verify the first certificate": 21,
    "certificate chain too long": 22,
    "certificate revoked": 23,
    "unsuitable certificate purpose": 26,
    "unsupported certificate purpose": 26,
    "certificate not trusted": 27,
    "certificate rejected": 28,
    "hostname mismatch": 62,
    "ip address mismatch": 64,
    "ee certificate key too weak": 66,
    "ca certificate key too weak": 67,
    "ca signature digest algorithm too weak": 68,
    "invalid ca certificate": 79,
}

# X509_V_ERR_* names without the prefix: Node.js reports err.code as exactly these.
VERIFY_NAMES: dict[str, int] = {
    "UNABLE_TO_GET_ISSUER_CERT": 2, "CERT_SIGNATURE_FAILURE": 7, "CERT_NOT_YET_VALID": 9,
    "CERT_HAS_EXPIRED": 10, "DEPTH_ZERO_SELF_SIGNED_CERT": 18, "SELF_SIGNED_CERT_IN_CHAIN": 19,
    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY": 20, "UNABLE_TO_VERIFY_LEAF_SIGNATURE": 21, "CERT_CHAIN_TOO_LONG": 22,
    "CERT_REVOKED": 23, "INVALID_PURPOSE": 26, "CERT_UNTRUSTED": 27, "CERT_REJECTED": 28,
    "HOSTNAME_MISMATCH": 62, "IP_ADDRESS_MISMATCH": 64, "EE_KEY_TOO_SMALL": 66, "CA_KEY_TOO_SMALL": 67,
    "CA_MD_TOO_WEAK": 68, "INVALID_CA": 79,
}

# Go's crypto/tls names alerts in its own words (crypto/tls/alert.go).
_GO_ALERT_NAMES: dict[str, AlertDescription] = {
    "unknown certificate authority": AlertDescription.UNKNOWN_CA,
    "protocol version not supported": AlertDescription.PROTOCOL_VERSION,
    "insufficient security level": AlertDescription.INSUFFICIENT_SECURITY,
    "revoked certificate": AlertDescription.CERTIFICATE_REVOKED,
    "expired certificate": AlertDescription.CERTIFICATE_EXPIRED,
    "unknown certificate": AlertDescription.CERTIFICATE_UNKNOWN,
    "error decoding message": AlertDescription.DECODE_ERROR,
    "error decrypting message": AlertDescription.DECRYPT_ERROR,
    "certificate required": AlertDescription.CERTIFICATE_REQUIRED,
}
_WORDS = re.compile(r"[\s_]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def alert_from_name(name: str) -> AlertDescription | None:
    """'handshake failure', 'HANDSHAKE_FAILURE', 'HandshakeFailure', 'unknown certificate authority' → the enum."""
    name = _CAMEL.sub(" ", name.strip()[:80]) if "_" not in name and " " not in name.strip() else name
    words = _WORDS.split(name.strip().lower())[:5]
    for length in range(len(words), 0, -1):
        phrase = " ".join(words[:length])
        if phrase in _GO_ALERT_NAMES:
            return _GO_ALERT_NAMES[phrase]
        member = AlertDescription.__members__.get(phrase.replace(" ", "_").upper())
        if member is not None:
            return member
    return None


def alert_from_number(number: int) -> AlertDescription | None:
    try:
        return AlertDescription(number)
    except ValueError:
        return None


def alert_named(match: re.Match[str]) -> Means | None:
    """A pattern reader: group 1 is an alert's name in any spelling."""
    alert = alert_from_name(match[1])
    return Means(alert=int(alert)) if alert is not None else None


def _alert_numbered(match: re.Match[str]) -> Means | None:
    number = int(match[1])
    alert = alert_from_number(number - 1000 if number >= 1000 else number)  # SSL_AD_REASON_OFFSET
    return Means(alert=int(alert)) if alert is not None else None


def _verify_number(match: re.Match[str]) -> Means | None:
    number = int(match[1])
    return Means(verify=number) if 0 < number < 1000 else None


def _errno_number(match: re.Match[str]) -> Means | None:
    name = _errno.errorcode.get(int(match[1]))
    return Means(errno=name) if name else None


ALERT_PATTERNS = (
    # Received alerts in OpenSSL reason strings: "sslv3 alert handshake failure", SSLV3_ALERT_...
    Pattern(re.compile(r"\b(?:sslv3|tlsv1|tlsv13|ssl/tls)[ _]alert[ _]([a-z][a-z_ ]{2,60})", re.IGNORECASE),
            "alert", read=alert_named, trust=1),
    Pattern(re.compile(r"\b(?:tlsv1)[ _](unrecognized[ _]name)", re.IGNORECASE), "unrecognized", read=alert_named,
            trust=1),
    Pattern(re.compile(r"alert read:fatal:([a-zA-Z ]{3,60})"), "alert read", read=alert_named, trust=1),  # s_client
    Pattern(re.compile(r"\breason\((1\d{3})\)"), "reason(", read=_alert_numbered, trust=2),
    Pattern(re.compile(r"\balert (?:number|description) (\d{1,3})\b", re.IGNORECASE), "alert", read=_alert_numbered,
            trust=2),
)

RECOGNISER = Recogniser(
    ecosystem="openssl",
    title="OpenSSL, LibreSSL and BoringSSL",
    covers="verify result strings and X509_V_ERR_* names (1.0–3.x), reason strings old (lower-case words) and "
           "new (SSL_R_* names, shared by BoringSSL), received alerts, `openssl s_client` output",
    phrases={
        **{words: Means(verify=number) for words, number in VERIFY_STRINGS.items()},
        "wrong version number": NOT_TLS,
        "unknown protocol": NOT_TLS,
        "packet length too long": NOT_TLS,
        "ssl3_get_record:http request": NOT_TLS,
        "routines::http request": NOT_TLS,
        "unsupported protocol": PROTOCOL,
        "no protocols available": PROTOCOL,
        "version too low": PROTOCOL,
        "no shared cipher": CIPHER,
        "no ciphers available": CIPHER,
        "no cipher match": CIPHER,
        "dh key too small": CIPHER,
        "ca md too weak": Means(verify=68),
        "ee key too small": Means(verify=66),
        "error loading ca file": Means(condition="bundle_missing"),
        "error setting certificate verify locations": Means(condition="bundle_missing"),
        "no suitable signature algorithm": CIPHER,
        "no shared signature algorithms": CIPHER,
        "unsafe legacy renegotiation disabled": HANDSHAKE_FAILED,
        "unexpected eof while reading": CLOSED,
        "ssl handshake has read 0 bytes": CLOSED,
        "peer did not return a certificate": CLIENT_CERT,
        "certificate verify failed": Means(condition="cert_rejected", trust=PHRASE),
        "no peer certificate available": Means(condition="handshake_failed", trust=WRAPPER),
    },
    names={
        **{name: Means(verify=number) for name, number in VERIFY_NAMES.items()},
        **{"X509_V_ERR_" + name: Means(verify=number) for name, number in VERIFY_NAMES.items()},
        "WRONG_VERSION_NUMBER": NOT_TLS,
        "HTTP_REQUEST": NOT_TLS,
        "UNKNOWN_PROTOCOL": NOT_TLS,
        "UNSUPPORTED_PROTOCOL": PROTOCOL,
        "NO_PROTOCOLS_AVAILABLE": PROTOCOL,
        "TLSV1_ALERT_PROTOCOL_VERSION": Means(alert=70),
        "SSLV3_ALERT_HANDSHAKE_FAILURE": Means(alert=40),
        "TLSV1_ALERT_UNKNOWN_CA": Means(alert=48),
        "TLSV13_ALERT_CERTIFICATE_REQUIRED": Means(alert=116),
        "TLSV1_UNRECOGNIZED_NAME": Means(alert=112),
        "NO_SHARED_CIPHER": CIPHER,
        "NO_CIPHERS_AVAILABLE": CIPHER,
        "NO_CIPHER_MATCH": CIPHER,
        "DH_KEY_TOO_SMALL": CIPHER,
        "NO_SHARED_SIGNATURE_ALGORITHMS": CIPHER,
        "HANDSHAKE_FAILURE_ON_CLIENT_HELLO": Means(condition="version_or_cipher_mismatch"),
        "UNEXPECTED_EOF_WHILE_READING": CLOSED,
        "UNSAFE_LEGACY_RENEGOTIATION_DISABLED": HANDSHAKE_FAILED,
        "CERTIFICATE_VERIFY_FAILED": Means(condition="cert_rejected", trust=WRAPPER),
        "PEER_DID_NOT_RETURN_A_CERTIFICATE": CLIENT_CERT,
    },
    patterns=(
        Pattern(re.compile(r"verify result: [^()\n]{0,200}\((\d{1,3})\)", re.IGNORECASE), "verify result",
                read=_verify_number),
        Pattern(re.compile(r"verify error:num=(\d{1,3})", re.IGNORECASE), "verify error", read=_verify_number),
        Pattern(re.compile(r"Verify return code: (\d{1,3})", re.IGNORECASE), "verify return code", read=_verify_number),
        Pattern(re.compile(r"\bverify_?(?:result|code)\b[\"']?[ \t]{0,8}[:=][ \t]{0,8}(\d{1,3})\b", re.IGNORECASE),
                "verify", read=_verify_number),
        # s_client's connect/read/write failures: "connect:errno=111", "write:errno=104"
        Pattern(re.compile(r"\b(?:connect|read|write):errno=(\d{1,5})\b"), "errno=", read=_errno_number),
        *ALERT_PATTERNS,
    ),
    markers=("ssl routines", "s_client", "verify return code", "ssl_connect"),
)

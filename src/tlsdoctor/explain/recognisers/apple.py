"""macOS and iOS: NSURLErrorDomain codes, Secure Transport / Network.framework OSStatus codes.

An Apple client's TLS failure is ``NSURLErrorDomain Code=-1202`` (what URLSession decided)
with ``_kCFStreamErrorCodeKey=-9813`` beside it (what the TLS stack said, an OSStatus from
SecureTransport.h). The OSStatus is the more precise, so it has the higher trust. Sources:
NSURLError.h, SecureTransport.h (errSSL*), SecBase.h (errSec*), CFNetworkErrors.h.
"""

from __future__ import annotations

import re

from tlsdoctor.explain.recognisers.base import (
    CIPHER, CLIENT_CERT, CLOSED, DATE_INVALID, EXPIRED, HANDSHAKE_FAILED, NAME_MISMATCH, NOT_TLS,
    NOT_YET_VALID, NO_NAME, PROTOCOL, REFUSED, REJECTED, RESET, REVOKED, TIMED_OUT, UNTRUSTED, VERSION_OR_CIPHER,
    WEAK_KEY, WEAK_SIGNATURE, Means, Pattern, Recogniser,
)

# SecureTransport.h: (code, name, meaning). Peer* codes are alerts the server sent.
OSSTATUS: tuple[tuple[int, str, Means], ...] = (
    (-9800, "errSSLProtocol", HANDSHAKE_FAILED),
    (-9801, "errSSLNegotiation", VERSION_OR_CIPHER),
    # A fatal alert; under App Transport Security the usual one is the server refusing the TLS
    # version or the suites ATS demands (TLS 1.2+, forward secrecy).
    (-9802, "errSSLFatalAlert", VERSION_OR_CIPHER),
    (-9805, "errSSLClosedGraceful", CLOSED),
    (-9806, "errSSLClosedAbort", CLOSED),
    (-9807, "errSSLXCertChainInvalid", UNTRUSTED),
    (-9808, "errSSLBadCert", REJECTED),
    (-9809, "errSSLCrypto", HANDSHAKE_FAILED),
    (-9812, "errSSLUnknownRootCert", UNTRUSTED),
    (-9813, "errSSLNoRootCert", UNTRUSTED),
    (-9814, "errSSLCertExpired", EXPIRED),
    (-9815, "errSSLCertNotYetValid", NOT_YET_VALID),
    (-9816, "errSSLClosedNoNotify", CLOSED),
    (-9818, "errSSLBadCipherSuite", CIPHER),
    (-9819, "errSSLPeerUnexpectedMsg", Means(alert=10)),
    (-9824, "errSSLPeerHandshakeFail", Means(alert=40)),
    (-9825, "errSSLPeerBadCert", Means(alert=42)),
    (-9826, "errSSLPeerUnsupportedCert", Means(alert=43)),
    (-9827, "errSSLPeerCertRevoked", Means(alert=44)),
    (-9828, "errSSLPeerCertExpired", Means(alert=45)),
    (-9829, "errSSLPeerCertUnknown", Means(alert=46)),
    (-9830, "errSSLIllegalParam", Means(alert=47)),
    (-9831, "errSSLPeerUnknownCA", Means(alert=48)),
    (-9832, "errSSLPeerAccessDenied", Means(alert=49)),
    (-9836, "errSSLPeerProtocolVersion", Means(alert=70)),
    (-9837, "errSSLPeerInsufficientSecurity", Means(alert=71)),
    (-9838, "errSSLPeerInternalError", Means(alert=80)),
    (-9842, "errSSLClientCertRequested", CLIENT_CERT),
    (-9843, "errSSLHostNameMismatch", NAME_MISMATCH),
    (-9844, "errSSLConnectionRefused", REFUSED),
    (-9847, "errSSLRecordOverflow", NOT_TLS),
    (-9849, "errSSLUnexpectedRecord", NOT_TLS),
    (-9850, "errSSLWeakPeerEphemeralDHKey", CIPHER),
    (-9855, "errSSLATSViolation", REJECTED),
    (-9856, "errSSLATSMinimumVersionViolation", PROTOCOL),
    (-9857, "errSSLATSCiphersuiteViolation", CIPHER),
    (-9858, "errSSLATSMinimumKeySizeViolation", WEAK_KEY),
    (-9859, "errSSLATSLeafCertificateHashAlgorithmViolation", WEAK_SIGNATURE),
    (-9860, "errSSLATSCertificateHashAlgorithmViolation", WEAK_SIGNATURE),
    (-9861, "errSSLATSCertificateTrustViolation", UNTRUSTED),
    (-67818, "errSecCertificateExpired", EXPIRED),  # SecBase.h
    (-67819, "errSecCertificateNotValidYet", NOT_YET_VALID),
    (-67820, "errSecCertificateRevoked", REVOKED),
    (-67843, "errSecNotTrusted", UNTRUSTED),
    (-67602, "errSecHostNameMismatch", NAME_MISMATCH),
)

# NSURLError.h: NSURLErrorDomain codes (and kCFErrorDomainCFNetwork's, which are the same numbers).
NSURL: dict[str, Means] = {
    # NSURLErrorSecureConnectionFailed: under App Transport Security, mostly a server below ATS's
    # floor (TLS 1.2, forward-secret suites).
    "-1200": VERSION_OR_CIPHER,
    "-1201": DATE_INVALID,  # NSURLErrorServerCertificateHasBadDate
    "-1202": UNTRUSTED,  # NSURLErrorServerCertificateUntrusted
    "-1203": UNTRUSTED,  # NSURLErrorServerCertificateHasUnknownRoot
    "-1204": NOT_YET_VALID,  # NSURLErrorServerCertificateNotYetValid
    "-1205": CLIENT_CERT,  # NSURLErrorClientCertificateRejected
    "-1206": CLIENT_CERT,  # NSURLErrorClientCertificateRequired
    "-1001": TIMED_OUT,  # NSURLErrorTimedOut
    "-1003": NO_NAME,  # NSURLErrorCannotFindHost
    "-1004": REFUSED,  # NSURLErrorCannotConnectToHost
    "-1005": RESET,  # NSURLErrorNetworkConnectionLost
}
NSURL_NAMES: dict[str, Means] = {
    "NSURLErrorSecureConnectionFailed": VERSION_OR_CIPHER,
    "NSURLErrorServerCertificateHasBadDate": DATE_INVALID,
    "NSURLErrorServerCertificateUntrusted": UNTRUSTED,
    "NSURLErrorServerCertificateHasUnknownRoot": UNTRUSTED,
    "NSURLErrorServerCertificateNotYetValid": NOT_YET_VALID,
    "NSURLErrorClientCertificateRejected": CLIENT_CERT,
    "NSURLErrorClientCertificateRequired": CLIENT_CERT,
    "NSURLErrorTimedOut": TIMED_OUT,
    "NSURLErrorCannotFindHost": NO_NAME,
    "NSURLErrorCannotConnectToHost": REFUSED,
}


def _numeric(meaning: Means) -> Means:
    return Means(**{name: value for name, value in meaning.items()}, trust=0)


def _nsurl(match: re.Match[str]) -> Means | None:
    return NSURL.get(match[1])


_OSSTATUS_BY_NUMBER = {str(code): meaning for code, _name, meaning in OSSTATUS}


def _osstatus(match: re.Match[str]) -> Means | None:
    return _OSSTATUS_BY_NUMBER.get(match[1])


RECOGNISER = Recogniser(
    ecosystem="apple",
    title="macOS and iOS (URLSession/CFNetwork, Secure Transport, Network.framework)",
    covers="NSURLErrorDomain and kCFErrorDomainCFNetwork codes (-1001…-1206), SecureTransport.h errSSL* OSStatus "
           "(-9800…-9861) by number and name, SecBase.h errSec* trust results, `_kCFStreamErrorCodeKey`, "
           "URLSession's English messages",
    phrases={
        "an ssl error has occurred and a secure connection to the server cannot be made": VERSION_OR_CIPHER,
        "the certificate for this server is invalid": UNTRUSTED,
        "the certificate for this server has expired": EXPIRED,
        "certificate is expired": EXPIRED,
        "the certificate for this server was signed by an unknown certifying authority": UNTRUSTED,
        "the certificate for this server is not yet valid": NOT_YET_VALID,
        "the server certificate has an unknown root": UNTRUSTED,
        "a server with the specified hostname could not be found": NO_NAME,
        "the request timed out": TIMED_OUT,
        "could not connect to the server": REFUSED,
        "the network connection was lost": RESET,
        "sslhandshake failed": HANDSHAKE_FAILED,
        "boringssl: boring_ssl_handshake": Means(condition="handshake_failed", trust=5),
        "the certificate was not trusted": UNTRUSTED,  # Security.framework, as Rust native-tls prints it
        "certificate is not trusted": UNTRUSTED,
    },
    names={
        **{name: meaning for _code, name, meaning in OSSTATUS},
        # "-9813", as logs print it: the TLS stack's own code says more than NSURLErrorDomain's
        **{str(code): _numeric(meaning) for code, _name, meaning in OSSTATUS},
        **NSURL_NAMES,
    },
    patterns=(
        Pattern(re.compile(r"(?:NSURLErrorDomain|kCFErrorDomainCFNetwork)[^\n]{0,40}?(?:Code|code|error)[ =:]{1,3}"
                           r"(-1\d{3})\b"), "errordomain", read=_nsurl, trust=1),
        Pattern(re.compile(r"\bNSURLErrorDomain[ \t]{0,4}(-1\d{3})\b"), "nsurlerrordomain", read=_nsurl, trust=1),
        Pattern(re.compile(r"_kCFStreamErrorCodeKey[\"']?[ \t]{0,4}[=:][ \t]{0,4}(-\d{4,5})\b"), "_kcfstreamerrorcodekey",
                read=_osstatus),
        Pattern(re.compile(r"\((-98[0-6]\d)\)"), "(-98", read=_osstatus),
        Pattern(re.compile(r"(?:OSStatus|error|code)[ \t]{0,4}[=:]?[ \t]{0,4}(-98[0-6]\d|-67\d{3})\b", re.IGNORECASE),
                "-", read=_osstatus),
    ),
    markers=("nsurlerrordomain", "kcferrordomaincfnetwork", "_kcfstreamerrorcodekey", "nsunderlyingerror",
             "errssl", "cfnetwork", "urlsession"),
    input_kind="apple",
)

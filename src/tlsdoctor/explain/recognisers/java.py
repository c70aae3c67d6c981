"""Java (JSSE, PKIX) and Android (Conscrypt, OkHttp).

JSSE's words live in sun.security.ssl and sun.security.validator; Android's come from
Conscrypt (BoringSSL reason names, which openssl.py reads) and its PKIX validator ("Trust
anchor for certification path not found."); OkHttp adds hostname and pinning checks.
"""

from __future__ import annotations

import re

from tlsdoctor.explain.recognisers.base import (
    BAD_USAGE, BUNDLE_MISSING, CLOSED, DATE_INVALID, EXPIRED, NAME_MISMATCH, NOT_TLS, NOT_YET_VALID, NO_ANSWER, NO_NAME, PROTOCOL,
    REFUSED, RESET, REVOKED, TIMED_OUT, UNTRUSTED, VERSION_OR_CIPHER, WEAK_KEY, WEAK_SIGNATURE, WRAPPER, Means, Pattern,
    Recogniser,
)
from tlsdoctor.explain.recognisers.openssl import alert_named



RECOGNISER = Recogniser(
    ecosystem="java",
    title="Java/JSSE and Android (Conscrypt, OkHttp)",
    covers="OpenJDK 8–21 JSSE and PKIX messages, Android 7–15 (Conscrypt), OkHttp 3–4",
    phrases={
        "pkix path building failed": UNTRUSTED,
        "unable to find valid certification path to requested target": UNTRUSTED,
        "trust anchor for certification path not found": UNTRUSTED,
        "pkix path validation failed": Means(condition="cert_rejected", trust=WRAPPER),
        "chain validation failed": DATE_INVALID,  # Android: an expired certificate or a device clock far off
        "certificateexpiredexception": EXPIRED,
        "certificate has been revoked": REVOKED,  # CertificateRevokedException's message
        "certificatenotyetvalidexception": NOT_YET_VALID,
        "validity check failed": DATE_INVALID,
        "no subject alternative dns name matching": NAME_MISMATCH,
        "no subject alternative names matching": NAME_MISMATCH,
        "no subject alternative names present": NAME_MISMATCH,
        "no name matching": NAME_MISMATCH,
        "sslpeerunverifiedexception: hostname": NAME_MISMATCH,  # OkHttp: Hostname x not verified
        "certificate pinning failure": Means(condition="pin_mismatch"),
        "remote host terminated the handshake": CLOSED,
        "remote host closed connection during handshake": CLOSED,
        "connection closed by peer": CLOSED,
        "unexpected end of stream on": CLOSED,
        "ssl handshake aborted": Means(condition="connection_closed", trust=WRAPPER),
        "unsupported or unrecognized ssl message": NOT_TLS,
        "plaintext connection?": NOT_TLS,
        "no appropriate protocol": VERSION_OR_CIPHER,
        "is not accepted by client preferences": PROTOCOL,
        "the server selected protocol version": PROTOCOL,
        "is not enabled or supported in server context": PROTOCOL,
        "algorithm constraints check failed on signature algorithm": WEAK_SIGNATURE,
        "algorithm constraints check failed on keysize": WEAK_KEY,
        "extended key usage does not permit use for tls server authentication": BAD_USAGE,
        "the trustanchors parameter must be non-empty": BUNDLE_MISSING,
        "connection reset": RESET,
        # HttpURLConnection: the connection ended where the status line should have been.
        "unexpected end of file from server": NO_ANSWER,
        "connect timed out": TIMED_OUT,
        "read timed out": TIMED_OUT,
        "sockettimeoutexception": TIMED_OUT,
        "unknownhostexception": NO_NAME,
        "unable to resolve host": NO_NAME,
        "java.net.connectexception: connection refused": REFUSED,
    },
    names={
        "SunCertPathBuilderException": UNTRUSTED,
        "CertPathValidatorException": Means(condition="cert_rejected", trust=WRAPPER),
        "SSLHandshakeException": Means(condition="handshake_failed", trust=5),
    },
    patterns=(
        Pattern(re.compile(r"Received fatal alert: (\w{3,60})"), "received fatal alert", read=alert_named, trust=1),
    ),
    markers=("javax.net.ssl", "java.security.cert", "sun.security", "okhttp", "conscrypt", "android"),
    input_kind="java",
)

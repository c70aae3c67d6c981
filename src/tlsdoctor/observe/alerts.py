"""TLS alerts a server sent, read back from OpenSSL's reason strings.

OpenSSL reports a received fatal alert only as text in its error queue; the handshake
probe turns that text back into the alert's number (RFC 8446 §6), which rules and the
classification table speak.
"""

from __future__ import annotations

import re

# OpenSSL names a received fatal alert in its reason string, as "<prefix> [alert ]<words>"
# (reason code 1000 + the alert number, SSL_AD_REASON_OFFSET). The prefix changed over
# releases ("sslv3 alert handshake failure" in 3.x, "tls alert handshake failure" in 4.0),
# the words did not. Alerts it has no string for (close_notify sent as fatal, unknown
# numbers) come with an empty reason; those we read from the bytes instead.
_ALERT_REASON = re.compile(r"^(?:sslv3|tls|tlsv1|tlsv13) (?:alert )?(?P<words>[a-z ]+)$")
_ALERT_WORDS: dict[str, int] = {
    "close notify": 0,
    "unexpected message": 10,
    "bad record mac": 20,
    "decryption failed": 21,
    "record overflow": 22,
    "decompression failure": 30,
    "handshake failure": 40,
    "no certificate": 41,
    "bad certificate": 42,
    "unsupported certificate": 43,
    "certificate revoked": 44,
    "certificate expired": 45,
    "certificate unknown": 46,
    "illegal parameter": 47,
    "unknown ca": 48,
    "access denied": 49,
    "decode error": 50,
    "decrypt error": 51,
    "export restriction": 60,
    "protocol version": 70,
    "insufficient security": 71,
    "internal error": 80,
    "inappropriate fallback": 86,
    "user cancelled": 90,
    "no renegotiation": 100,
    "missing extension": 109,
    "unsupported extension": 110,
    "certificate unobtainable": 111,
    "unrecognized name": 112,
    "bad certificate status response": 113,
    "bad certificate hash value": 114,
    "unknown psk identity": 115,
    "certificate required": 116,
    "no application protocol": 120,
}


def alert_from_openssl_reason(reason: str) -> int | None:
    """The alert number in an OpenSSL reason string for a *received* alert, else None.

    ``"tlsv1 alert protocol version"`` → 70, ``"tls alert handshake failure"`` → 40.
    Reasons for OpenSSL's own errors ("wrong version number") give None.
    """
    match = _ALERT_REASON.match(reason.strip().lower())
    return _ALERT_WORDS.get(match["words"]) if match else None

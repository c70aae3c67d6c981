"""Node.js, npm and yarn.

Node reports a failed verification with ``err.code`` set to OpenSSL's X509_V_ERR_* name
without its prefix (``UNABLE_TO_GET_ISSUER_CERT_LOCALLY``, read by openssl.py), its own
``ERR_TLS_*`` codes, OpenSSL 3 reason codes as ``ERR_SSL_*`` (Node 17+), and libuv's errno
names (``ECONNRESET``, ``ENOTFOUND``, ``EAI_AGAIN``); npm prints them as ``npm ERR! code X``.
"""

from __future__ import annotations

import errno as _errno
import re

from tlsdoctor.explain.recognisers.base import (
    CIPHER, CLOSED, HANDSHAKE_FAILED, HANDSHAKE_TIMEOUT, NAME_MISMATCH, NOT_TLS, NO_NAME, PROTOCOL, TIMED_OUT,
    Means, Pattern, Recogniser,
)

_ERRNO_NAMES = frozenset(_errno.errorcode.values())
_ERRNO_NAME = re.compile(r"\b(E[A-Z0-9]{2,15})\b")


def _errno_name(match: re.Match[str]) -> Means | None:
    return Means(errno=match[1]) if match[1] in _ERRNO_NAMES else None


RECOGNISER = Recogniser(
    ecosystem="node",
    title="Node.js, npm and yarn",
    covers="Node 12–22 (`err.code`, ERR_TLS_*, ERR_SSL_* since Node 17 on OpenSSL 3), npm 6–10 `npm ERR! code`, "
           "yarn 1 and berry network errors",
    phrases={
        "is not in the cert's altnames": NAME_MISMATCH,
        "hostname/ip does not match certificate's altnames": NAME_MISMATCH,
        "client network socket disconnected before secure tls connection was established": CLOSED,
        "socket hang up": CLOSED,
        "there appears to be trouble with your network connection": Means(errno="ETIMEDOUT", trust=5),
    },
    names={
        "ERR_TLS_CERT_ALTNAME_INVALID": NAME_MISMATCH,
        "ERR_TLS_HANDSHAKE_TIMEOUT": HANDSHAKE_TIMEOUT,
        "ERR_SSL_WRONG_VERSION_NUMBER": NOT_TLS,
        "ERR_SSL_HTTP_REQUEST": NOT_TLS,
        "ERR_SSL_PACKET_LENGTH_TOO_LONG": NOT_TLS,
        "ERR_SSL_UNSUPPORTED_PROTOCOL": PROTOCOL,
        "ERR_SSL_NO_PROTOCOLS_AVAILABLE": PROTOCOL,
        "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION": Means(alert=70),
        "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE": Means(alert=40),
        "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA": Means(alert=48),
        "ERR_SSL_TLSV1_UNRECOGNIZED_NAME": Means(alert=112),
        "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED": Means(alert=116),
        "ERR_SSL_DH_KEY_TOO_SMALL": CIPHER,
        "ERR_SSL_NO_CIPHERS_AVAILABLE": CIPHER,
        "ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED": HANDSHAKE_FAILED,
        "ERR_SSL_UNEXPECTED_EOF_WHILE_READING": CLOSED,
        "ERR_SOCKET_CONNECTION_TIMEOUT": TIMED_OUT,
        "ENOTFOUND": NO_NAME,
        "EAI_AGAIN": NO_NAME,
        "EAI_NONAME": NO_NAME,
        "EPROTO": Means(condition="handshake_failed", trust=4),
    },
    patterns=(Pattern(re.compile(r"\b(E[A-Z0-9]{2,15})\b"), "", read=_errno_name, trust=1),),
    markers=("npm err!", "npm error", "node:internal", "_tls_wrap", "yarn", "at tlssocket"),
    input_kind="nodejs",
)

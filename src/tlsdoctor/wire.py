"""TLS at the record layer: just enough to write, and later read, a peer's first answer.

A TLS connection is a sequence of *records* (RFC 8446 §5.1): one byte of content type,
two of legacy version, two of length, then the payload. The first record a server sends
after a ClientHello tells a lot: a ``handshake`` record means TLS is alive, an ``alert``
record names why the server gave up, and bytes that are not a record at all (``HTTP/``)
mean the port does not speak TLS. The lab writes such answers on purpose; diagnosis reads
them. No sockets here.
"""

from __future__ import annotations

from enum import IntEnum

RECORD_HEADER_LEN = 5
MAX_RECORD_LEN = 16384 + 2048  # TLSCiphertext may exceed 2^14 by up to 2048 (RFC 8446 §5.2)


class ContentType(IntEnum):
    CHANGE_CIPHER_SPEC = 20
    ALERT = 21
    HANDSHAKE = 22
    APPLICATION_DATA = 23


class AlertLevel(IntEnum):
    WARNING = 1
    FATAL = 2


class AlertDescription(IntEnum):
    """RFC 8446 §6 alert descriptions (plus the TLS 1.2 ones still seen in the field)."""

    CLOSE_NOTIFY = 0
    UNEXPECTED_MESSAGE = 10
    BAD_RECORD_MAC = 20
    RECORD_OVERFLOW = 22
    HANDSHAKE_FAILURE = 40
    BAD_CERTIFICATE = 42
    UNSUPPORTED_CERTIFICATE = 43
    CERTIFICATE_REVOKED = 44
    CERTIFICATE_EXPIRED = 45
    CERTIFICATE_UNKNOWN = 46
    ILLEGAL_PARAMETER = 47
    UNKNOWN_CA = 48
    ACCESS_DENIED = 49
    DECODE_ERROR = 50
    DECRYPT_ERROR = 51
    PROTOCOL_VERSION = 70
    INSUFFICIENT_SECURITY = 71
    INTERNAL_ERROR = 80
    INAPPROPRIATE_FALLBACK = 86
    USER_CANCELED = 90
    MISSING_EXTENSION = 109
    UNSUPPORTED_EXTENSION = 110
    UNRECOGNIZED_NAME = 112
    BAD_CERTIFICATE_STATUS_RESPONSE = 113
    UNKNOWN_PSK_IDENTITY = 115
    CERTIFICATE_REQUIRED = 116
    NO_APPLICATION_PROTOCOL = 120


def alert_record(description: AlertDescription, level: AlertLevel = AlertLevel.FATAL) -> bytes:
    """A plaintext alert record, as a server sends it before any key exchange.

    The record version is TLS 1.2 (0x0303): RFC 8446 §5.1 freezes it there for all
    records but the first ClientHello.
    """
    return bytes([ContentType.ALERT, 3, 3, 0, 2, level, description])


def record_length(header: bytes) -> int | None:
    """Payload length of a record whose header is ``header``; None if it is not a TLS record."""
    if len(header) < RECORD_HEADER_LEN:
        return None
    if header[0] not in iter(ContentType) or header[1] != 3 or header[2] > 4:
        return None
    length = int.from_bytes(header[3:5], "big")
    return length if length <= MAX_RECORD_LEN else None

"""TLS records and alerts: the framing every other message travels in (RFC 8446 §5, §6).

A TLS connection is a sequence of *records*: one byte of content type, two of legacy
version, two of length, then the payload. Before keys are agreed, records travel in
plaintext, so the hellos, a TLS 1.2 server's certificates and any alert can be read
by anyone on the path: that is what diagnosis (and the lab, and the torture tool)
writes and reads here. No sockets.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Iterator

RECORD_HEADER_LEN = 5
MAX_RECORD_LEN = 16384 + 2048  # TLSCiphertext may exceed 2^14 by up to 2048 (RFC 8446 §5.2)
MAX_PLAINTEXT_LEN = 16384  # a TLSPlaintext fragment (RFC 8446 §5.1)


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


class HandshakeType(IntEnum):
    """Handshake message types (RFC 8446 §4, RFC 5246 §7.4)."""

    CLIENT_HELLO = 1
    SERVER_HELLO = 2
    NEW_SESSION_TICKET = 4
    ENCRYPTED_EXTENSIONS = 8
    CERTIFICATE = 11
    SERVER_KEY_EXCHANGE = 12
    CERTIFICATE_REQUEST = 13
    SERVER_HELLO_DONE = 14
    CERTIFICATE_VERIFY = 15
    CLIENT_KEY_EXCHANGE = 16
    FINISHED = 20
    CERTIFICATE_STATUS = 22


# Protocol versions on the wire, (major, minor): SSL 3.0 is 3.0, TLS 1.x is 3.(x+1).
TLS_VERSIONS: dict[str, tuple[int, int]] = {"1.0": (3, 1), "1.1": (3, 2), "1.2": (3, 3), "1.3": (3, 4)}
_VERSION_NAMES = {(3, 0): "SSL 3.0", (3, 1): "TLS 1.0", (3, 2): "TLS 1.1", (3, 3): "TLS 1.2", (3, 4): "TLS 1.3"}


def version_name(version: tuple[int, int]) -> str:
    """``(3, 4)`` → ``"TLS 1.3"``; unknown pairs (GREASE, drafts) as hex, e.g. ``"0x7f1c"``."""
    return _VERSION_NAMES.get(version, f"0x{version[0]:02x}{version[1]:02x}")


def alert_record(description: AlertDescription, level: AlertLevel = AlertLevel.FATAL) -> bytes:
    """A plaintext alert record, as a server sends it before any key exchange.

    The record version is TLS 1.2 (0x0303): RFC 8446 §5.1 freezes it there for all
    records but the first ClientHello.
    """
    return bytes([ContentType.ALERT, 3, 3, 0, 2, level, description])


def record(content_type: int, payload: bytes, version: tuple[int, int] = (3, 3)) -> bytes:
    """One record around ``payload`` (at most :data:`MAX_RECORD_LEN` bytes; the caller splits)."""
    if len(payload) > MAX_RECORD_LEN:
        raise ValueError(f"a record holds at most {MAX_RECORD_LEN} bytes, not {len(payload)}")
    return bytes([content_type, version[0], version[1]]) + len(payload).to_bytes(2, "big") + payload


def handshake_message(msg_type: int, body: bytes) -> bytes:
    """A handshake message: one byte of type, three of length, the body (RFC 8446 §4)."""
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def record_length(header: bytes) -> int | None:
    """Payload length of a record whose header is ``header``; None if it is not a TLS record."""
    if len(header) < RECORD_HEADER_LEN:
        return None
    if header[0] not in _CONTENT_TYPES or header[1] != 3 or header[2] > 4:
        return None
    length = int.from_bytes(header[3:5], "big")
    return length if length <= MAX_RECORD_LEN else None


def iter_records(data: bytes, limit: int = 4096) -> Iterator[tuple[int, tuple[int, int], bytes]]:
    """The whole records at the start of ``data`` as (type, version, payload).

    Stops at the first partial record or at bytes that are not a record header;
    bounded by ``limit`` records. Pure; never raises.
    """
    offset = 0
    for _ in range(limit):
        header = data[offset : offset + RECORD_HEADER_LEN]
        length = record_length(header)
        if length is None or len(data) < offset + RECORD_HEADER_LEN + length:
            return
        yield header[0], (header[1], header[2]), data[offset + RECORD_HEADER_LEN : offset + RECORD_HEADER_LEN + length]
        offset += RECORD_HEADER_LEN + length


_CONTENT_TYPES = frozenset(int(t) for t in ContentType)

"""TLS at the record layer: just enough to write, and later read, a peer's first answer.

A TLS connection is a sequence of *records* (RFC 8446 §5.1): one byte of content type,
two of legacy version, two of length, then the payload. The first record a server sends
after a ClientHello tells a lot: a ``handshake`` record means TLS is alive, an ``alert``
record names why the server gave up, and bytes that are not a record at all (``HTTP/``)
mean the port does not speak TLS. The lab writes such answers on purpose; diagnosis reads
them. No sockets here.

Reading a first answer is done the h11 way: the caller owns the socket and feeds bytes;
:func:`first_answer_needs_more` says whether more bytes could change the reading, and
:func:`parse_first_answer` turns what arrived (plus how the stream ended) into a
:class:`FirstAnswer`. Both are pure and never raise, whatever the peer sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

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


# -- reading a server's first answer to a ClientHello ---------------------------------------
#
# What can come back after a client sends its ClientHello:
#
#   16 03 03 00 7a 02 ...   a handshake record (type 22) holding a ServerHello (type 2):
#                           TLS is alive. RFC 8446 §5.1 freezes the record version at
#                           3.3 for TLS 1.2 and 1.3 alike; the version actually chosen is
#                           in the ServerHello (see below).
#   15 03 03 00 02 02 28    an alert record (type 21): level 2 (fatal), description 40
#                           (handshake_failure). Before any key exchange, alerts travel in
#                           plaintext, so we can read why the server refused.
#   48 54 54 50 2f ...      "HTTP/": not a record at all; the port speaks plain HTTP (or
#                           SMTP, SSH, ...: any printable greeting).
#   (nothing, then FIN)     the server closed without a word;
#   (nothing, then RST)     something reset the connection (often a middlebox);
#   (nothing, ever)         the handshake stalls.
#
# Only the first record matters here: one whole record (at most 5 + 18432 bytes) is
# always enough to tell these apart.

PREVIEW_LEN = 64  # bytes of the answer kept verbatim, for people and reports

# RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello whose random is SHA-256 of
# "HelloRetryRequest". A server sends it when none of the client's key shares suits it.
HELLO_RETRY_REQUEST_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
)

_HANDSHAKE_CLIENT_HELLO = 1
_HANDSHAKE_SERVER_HELLO = 2
_EXT_SUPPORTED_VERSIONS = 43  # RFC 8446 §4.2.1

# Bytes that may appear in a text protocol's greeting: printable ASCII, tab, CR, LF.
_TEXT_BYTES = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}

_VERSION_NAMES = {(3, 0): "SSL 3.0", (3, 1): "TLS 1.0", (3, 2): "TLS 1.1", (3, 3): "TLS 1.2", (3, 4): "TLS 1.3"}


def version_name(version: tuple[int, int]) -> str:
    """``(3, 4)`` → ``"TLS 1.3"``; unknown pairs (GREASE, drafts) as hex, e.g. ``"0x7f1c"``."""
    return _VERSION_NAMES.get(version, f"0x{version[0]:02x}{version[1]:02x}")


class AnswerKind(Enum):
    """What a server's first answer to a ClientHello was, by its first bytes and its ending."""

    TLS_HANDSHAKE = "tls-handshake"  # a handshake record came back (ServerHello...): TLS is alive
    ALERT = "alert"  # an alert record: the server refused, and says why
    TLS_OTHER = "tls-other"  # a TLS record of another type (change_cipher_spec, application_data)
    PLAINTEXT = "plaintext"  # printable text: HTTP, SMTP, SSH... on the port where TLS was expected
    GARBAGE = "garbage"  # bytes that are neither a TLS record nor text (SSLv2, a bogus version...)
    EOF = "eof"  # the peer closed cleanly (FIN) without sending a byte
    RESET = "reset"  # the connection was reset (RST) before any byte came
    SILENCE = "silence"  # nothing came before the reader gave up


@dataclass(frozen=True)
class FirstAnswer:
    """The facts in a server's first answer to a ClientHello. Judges nothing.

    ``kind`` says what the bytes were. Record fields describe the first record when the
    answer is one (``record_length`` is what its header announced; ``truncated`` says
    fewer bytes arrived). ``server_version`` is the version the ServerHello chose (its
    ``supported_versions`` extension for TLS 1.3, else its legacy_version), present only
    when the whole ServerHello is in the first record. ``eof``/``reset``/``timed_out``
    say how the reading ended, also when bytes came first (an alert, then a reset).
    """

    kind: AnswerKind
    preview: bytes = b""  # the first PREVIEW_LEN bytes, verbatim
    text_preview: str = ""  # PLAINTEXT only: the first line, e.g. "HTTP/1.1 400 Bad Request"
    record_type: ContentType | None = None
    record_version: tuple[int, int] | None = None  # e.g. (3, 3)
    record_length: int | None = None
    truncated: bool = False
    alert_level: AlertLevel | int | None = None
    alert_description: AlertDescription | int | None = None
    handshake_type: int | None = None  # first handshake message: 2 = ServerHello
    server_version: tuple[int, int] | None = None
    cipher_suite: int | None = None  # IANA number the ServerHello chose, e.g. 0x1302
    hello_retry_request: bool = False
    eof: bool = False
    reset: bool = False
    timed_out: bool = False


def first_answer_needs_more(data: bytes) -> bool:
    """Whether more bytes could change what :func:`parse_first_answer` says about ``data``.

    A reader loops ``while first_answer_needs_more(buffer)``, within its own time and size
    limits. A record is done once it is whole; text once its first line ended (or
    :data:`PREVIEW_LEN` bytes came); anything else as soon as it is recognisably neither.
    """
    if not data:
        return True
    if data[0] in _CONTENT_TYPES:
        if len(data) < RECORD_HEADER_LEN:
            return _could_be_record_header(data)
        length = record_length(data[:RECORD_HEADER_LEN])
        return length is not None and len(data) < RECORD_HEADER_LEN + length
    head = data[:PREVIEW_LEN]
    if not all(b in _TEXT_BYTES for b in head):
        return False
    return b"\n" not in head and len(data) < PREVIEW_LEN


def parse_first_answer(data: bytes, *, eof: bool = False, reset: bool = False, timed_out: bool = False) -> FirstAnswer:
    """Read a server's first answer: ``data`` is every byte received, the flags how it ended.

    Bytes decide the kind when there are any (an alert followed by a reset is an ALERT);
    with none, the ending does: RESET over EOF over SILENCE (no flag at all also reads as
    SILENCE: the caller stopped waiting). Pure; never raises, whatever ``data`` holds.
    """
    ending = {"eof": eof, "reset": reset, "timed_out": timed_out}
    data = bytes(data)
    if not data:
        kind = AnswerKind.RESET if reset else AnswerKind.EOF if eof else AnswerKind.SILENCE
        return FirstAnswer(kind, **ending)
    preview = data[:PREVIEW_LEN]
    if data[0] in _CONTENT_TYPES and _could_be_record_header(data[:RECORD_HEADER_LEN]):
        return _parse_record(data, preview, ending)
    if _is_text(preview):
        line = preview.split(b"\n", 1)[0].decode("ascii")  # _is_text vouched for ASCII
        text = line.replace("\t", " ").replace("\r", "").strip()
        return FirstAnswer(AnswerKind.PLAINTEXT, preview, text, **ending)
    return FirstAnswer(AnswerKind.GARBAGE, preview, **ending)


def find_plaintext_alert(data: bytes) -> tuple[AlertLevel | int, AlertDescription | int] | None:
    """The first alert among the plaintext records at the start of a server's byte stream.

    A failed handshake's bytes may hold a ServerHello and more before the alert (a TLS 1.2
    server that rejects the client's certificate). Alerts are plaintext only until the
    server's change_cipher_spec (TLS 1.2) or its first encrypted record (TLS 1.3, where
    every later record is disguised as application_data), so the walk stops there.
    Returns ``(level, description)`` or None.
    """
    offset = 0
    for _ in range(4096):  # bounded: each step consumes at least one header
        header = data[offset : offset + RECORD_HEADER_LEN]
        length = record_length(header)
        if length is None:
            return None
        payload = data[offset + RECORD_HEADER_LEN : offset + RECORD_HEADER_LEN + length]
        if header[0] == ContentType.ALERT:
            if len(payload) < 2:
                return None
            return _enum_or_int(AlertLevel, payload[0]), _enum_or_int(AlertDescription, payload[1])
        if header[0] != ContentType.HANDSHAKE:
            return None
        offset += RECORD_HEADER_LEN + length
    return None


def client_hello_versions(data: bytes) -> tuple[tuple[int, int], ...]:
    """The protocol versions a ClientHello (a whole first record) offers, highest first.

    A TLS 1.3-capable client lists them in ``supported_versions`` (RFC 8446 §4.2.1);
    older clients offer a range up to ``legacy_version``, which we report as that one
    version. GREASE values (RFC 8701, ``0x?a?a``) are left out. ``()`` if unreadable.
    """
    length = record_length(data[:RECORD_HEADER_LEN])
    if length is None or data[0] != ContentType.HANDSHAKE:
        return ()
    payload = data[RECORD_HEADER_LEN : RECORD_HEADER_LEN + length]
    body = _handshake_body(payload, _HANDSHAKE_CLIENT_HELLO)
    if body is None:
        return ()
    cursor = _Cursor(body)
    legacy = cursor.take(2)
    cursor.take(32)  # random
    cursor.take_vector(1)  # legacy_session_id
    cursor.take_vector(2)  # cipher_suites
    cursor.take_vector(1)  # legacy_compression_methods
    if legacy is None or cursor.failed:
        return ()
    extensions = _extensions(cursor)
    offered = extensions.get(_EXT_SUPPORTED_VERSIONS) if extensions is not None else None
    if offered is None:
        return (tuple(legacy),)  # type: ignore[return-value]
    inner = _Cursor(offered).take_vector(1)
    if inner is None:
        return ()
    pairs = [(inner[i], inner[i + 1]) for i in range(0, len(inner) - 1, 2)]
    return tuple(p for p in pairs if not (p[0] == p[1] and p[0] & 0x0F == 0x0A))


# -- helpers ----------------------------------------------------------------------------------

_CONTENT_TYPES = frozenset(int(t) for t in ContentType)


def _enum_or_int(enum: type[IntEnum], value: int) -> IntEnum | int:
    """The enum member for ``value``, or the bare int for values the enum does not name."""
    try:
        return enum(value)
    except ValueError:
        return value


def _could_be_record_header(prefix: bytes) -> bool:
    """Whether ``prefix`` (up to 5 bytes) is, or could still become, a record header."""
    if not prefix or prefix[0] not in _CONTENT_TYPES:
        return False
    if len(prefix) >= 2 and prefix[1] != 3:
        return False
    if len(prefix) >= 3 and prefix[2] > 4:
        return False
    if len(prefix) >= RECORD_HEADER_LEN:
        return record_length(prefix[:RECORD_HEADER_LEN]) is not None
    return True


def _is_text(head: bytes) -> bool:
    """A text protocol's greeting: its first line (all of ``head`` if it is blank) is printable."""
    line = head.split(b"\n", 1)[0]
    checked = line if line.strip() else head
    return bool(checked) and all(b in _TEXT_BYTES for b in checked)


def _parse_record(data: bytes, preview: bytes, ending: dict[str, bool]) -> FirstAnswer:
    record_type = ContentType(data[0])
    version = (data[1], data[2]) if len(data) >= 3 else None
    length = record_length(data[:RECORD_HEADER_LEN])  # None while the header is partial
    payload = data[RECORD_HEADER_LEN : RECORD_HEADER_LEN + length] if length is not None else b""
    truncated = length is None or len(payload) < length
    common = dict(preview=preview, record_type=record_type, record_version=version, record_length=length,
                  truncated=truncated, **ending)
    if record_type == ContentType.ALERT:
        # An alert is two bytes, level then description (RFC 8446 §6). A record that
        # announces another length is malformed, but its first two bytes still say a lot.
        level = _enum_or_int(AlertLevel, payload[0]) if len(payload) >= 1 else None
        description = _enum_or_int(AlertDescription, payload[1]) if len(payload) >= 2 else None
        return FirstAnswer(AnswerKind.ALERT, alert_level=level, alert_description=description, **common)
    if record_type != ContentType.HANDSHAKE:
        return FirstAnswer(AnswerKind.TLS_OTHER, **common)
    hello = _server_hello(payload)
    return FirstAnswer(AnswerKind.TLS_HANDSHAKE, **common, **hello)  # type: ignore[arg-type]


def _server_hello(payload: bytes) -> dict[str, object]:
    """Facts from a ServerHello at the start of a handshake record's payload.

    RFC 8446 §4.1.3 (TLS 1.2's, RFC 5246 §7.4.1.3, is the same up to the extensions):

        uint16 legacy_version; opaque random[32]; opaque legacy_session_id_echo<0..32>;
        uint16 cipher_suite; uint8 legacy_compression_method; Extension extensions<6..2^16-1>;

    A TLS 1.3 server says 3.3 in legacy_version and 3.4 in ``supported_versions``; a
    TLS 1.2 server may send no extensions at all.
    """
    facts: dict[str, object] = {"handshake_type": payload[0] if payload else None}
    body = _handshake_body(payload, _HANDSHAKE_SERVER_HELLO)
    if body is None:
        return facts
    cursor = _Cursor(body)
    legacy = cursor.take(2)
    random = cursor.take(32)
    cursor.take_vector(1)  # legacy_session_id_echo
    suite = cursor.take(2)
    cursor.take(1)  # legacy_compression_method
    if cursor.failed or legacy is None or random is None or suite is None:
        return facts
    version = (legacy[0], legacy[1])
    extensions = _extensions(cursor) if cursor.remaining else {}
    if extensions is None:
        return facts
    selected = extensions.get(_EXT_SUPPORTED_VERSIONS)
    if selected is not None and len(selected) == 2:
        version = (selected[0], selected[1])
    facts.update(
        server_version=version,
        cipher_suite=int.from_bytes(suite, "big"),
        hello_retry_request=random == HELLO_RETRY_REQUEST_RANDOM,
    )
    return facts


def _handshake_body(payload: bytes, msg_type: int) -> bytes | None:
    """The body of the first handshake message if it is ``msg_type`` and wholly present.

    A handshake message is one byte of type and three of length (RFC 8446 §4); it may
    span records, but hellos fit in one in practice, and partial ones are not parsed.
    """
    if len(payload) < 4 or payload[0] != msg_type:
        return None
    length = int.from_bytes(payload[1:4], "big")
    body = payload[4 : 4 + length]
    return body if len(body) == length else None


def _extensions(cursor: _Cursor) -> dict[int, bytes] | None:
    """Extensions by type (the first of each), from ``extensions<..2^16-1>``; None if malformed."""
    block = cursor.take_vector(2)
    if block is None:
        return None
    inner = _Cursor(block)
    found: dict[int, bytes] = {}
    while inner.remaining:  # bounded: every pass consumes at least four bytes or fails
        kind = inner.take(2)
        data = inner.take_vector(2)
        if kind is None or data is None:
            return None
        found.setdefault(int.from_bytes(kind, "big"), data)
    return found


class _Cursor:
    """A read position in bytes; every read returns None (and sets ``failed``) past the end."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0
        self.failed = False

    @property
    def remaining(self) -> int:
        return len(self.data) - self.offset

    def take(self, n: int) -> bytes | None:
        if self.failed or n > self.remaining:
            self.failed = True
            return None
        chunk = self.data[self.offset : self.offset + n]
        self.offset += n
        return chunk

    def take_vector(self, length_bytes: int) -> bytes | None:
        """A TLS variable-length vector: a ``length_bytes``-byte length, then that many bytes."""
        size = self.take(length_bytes)
        return None if size is None else self.take(int.from_bytes(size, "big"))

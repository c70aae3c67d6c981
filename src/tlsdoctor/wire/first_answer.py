"""A server's first answer to a ClientHello, read without a socket (the h11 way).

The first record a server sends after a ClientHello tells a lot: a ``handshake`` record
means TLS is alive, an ``alert`` record names why the server gave up, and bytes that are
not a record at all (``HTTP/``) mean the port does not speak TLS. The lab writes such
answers on purpose; diagnosis reads them.

The caller owns the socket and feeds bytes: :func:`first_answer_needs_more` says whether
more bytes could change the reading, and :func:`parse_first_answer` turns what arrived
(plus how the stream ended) into a :class:`FirstAnswer`. Both are pure and never raise,
whatever the peer sent.
"""

from __future__ import annotations

import re
from enum import Enum

import h11

from tlsdoctor.records import record
from tlsdoctor.wire.codec import enum_or_int, handshake_body
from tlsdoctor.wire.records import (
    _CONTENT_TYPES,
    RECORD_HEADER_LEN,
    AlertDescription,
    AlertLevel,
    ContentType,
    HandshakeType,
    record_length,
)
from tlsdoctor.wire.server_flight import parse_server_hello

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
#                           SMTP, SSH, ...: any printable greeting). Its status says who:
#                           an HTTP server that tried to parse the ClientHello as a request
#                           says 400 (or another "bad request" status); anything else (a 302
#                           to a login page, a 403 block page, a 200) was sent whatever the
#                           client said: a captive portal or a filter answering for the site.
#   (nothing, then FIN)     the server closed without a word;
#   (nothing, then RST)     something reset the connection (often a middlebox);
#   (nothing, ever)         the handshake stalls.
#
# Only the first record matters here: one whole record (at most 5 + 18432 bytes) is
# always enough to tell these apart.

PREVIEW_LEN = 64  # bytes of the answer kept verbatim, for people and reports
HTTP_HEAD_LEN = 4096  # bytes of a plain HTTP answer read for its status and Location

# Bytes that may appear in a text protocol's greeting: printable ASCII, tab, CR, LF.
_TEXT_BYTES = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}


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


#: Answers that only a TLS speaker gives: the peer speaks TLS, whatever it then says.
TLS_ANSWERS = frozenset({AnswerKind.TLS_HANDSHAKE, AnswerKind.ALERT, AnswerKind.TLS_OTHER})


@record
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
    # PLAINTEXT that is an HTTP response: its status, and a redirect's target as
    # scheme://host[:port]/path (query, fragment and userinfo dropped: they may carry the
    # URL the user asked for, with its tokens).
    http_status: int | None = None
    http_location: str | None = None


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
    if data.startswith(b"HTTP/"):  # an HTTP answer: its head, for the status and a Location
        return b"\r\n\r\n" not in data and b"\n\n" not in data and len(data) < HTTP_HEAD_LEN
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
        status, location = _http_head(data[:HTTP_HEAD_LEN]) if data.startswith(b"HTTP/") else (None, None)
        return FirstAnswer(AnswerKind.PLAINTEXT, preview, text, http_status=status, http_location=location,
                           **ending)
    return FirstAnswer(AnswerKind.GARBAGE, preview, **ending)


_STATUS_LINE = re.compile(rb"HTTP/\d(?:\.\d)? ([1-5]\d\d)\b")


def _http_head(data: bytes) -> tuple[int | None, str | None]:
    """The status and Location of a plain HTTP answer (h11 reads the head; a head it refuses
    still gives its status line). Never raises."""
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=HTTP_HEAD_LEN)
    try:
        conn.send(h11.Request(method="GET", target="/", headers=[("Host", "tlsdoctor")]))
        conn.receive_data(data)
        event = conn.next_event()
    except h11.ProtocolError:
        event = None
    if isinstance(event, (h11.Response, h11.InformationalResponse)):
        location = next((v for k, v in event.headers if k == b"location"), None)
        return event.status_code, _without_secrets(location.decode("latin-1")) if location else None
    found = _STATUS_LINE.match(data)
    return (int(found.group(1)) if found else None), None


def _without_secrets(url: str) -> str | None:
    """``scheme://host[:port]/path`` of a Location; None when it is not an absolute http(s) URL."""
    found = re.match(r"(https?)://(?:[^/?#@\s]*@)?([^/?#\s]{1,253})([^?#\s]{0,512})", url.strip(), re.IGNORECASE)
    if found is None:
        return None
    return f"{found.group(1).lower()}://{found.group(2)}{found.group(3) or '/'}"


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
            return enum_or_int(AlertLevel, payload[0]), enum_or_int(AlertDescription, payload[1])
        if header[0] != ContentType.HANDSHAKE:
            return None
        offset += RECORD_HEADER_LEN + length
    return None


# -- helpers ----------------------------------------------------------------------------------

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
        level = enum_or_int(AlertLevel, payload[0]) if len(payload) >= 1 else None
        description = enum_or_int(AlertDescription, payload[1]) if len(payload) >= 2 else None
        return FirstAnswer(AnswerKind.ALERT, alert_level=level, alert_description=description, **common)
    if record_type != ContentType.HANDSHAKE:
        return FirstAnswer(AnswerKind.TLS_OTHER, **common)
    hello = _server_hello(payload)
    return FirstAnswer(AnswerKind.TLS_HANDSHAKE, **common, **hello)  # type: ignore[arg-type]


def _server_hello(payload: bytes) -> dict[str, object]:
    """Facts from a ServerHello at the start of a handshake record's payload (whole only)."""
    facts: dict[str, object] = {"handshake_type": payload[0] if payload else None}
    body = handshake_body(payload, HandshakeType.SERVER_HELLO)
    hello = parse_server_hello(body) if body is not None else None
    if hello is not None:
        facts.update(server_version=hello.version, cipher_suite=hello.cipher_suite,
                     hello_retry_request=hello.hello_retry_request)
    return facts

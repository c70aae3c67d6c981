"""A server's first answer to a ClientHello, read from bytes alone (no sockets).

Each test is one thing a server (or whatever sits on its port) can send back: a
ServerHello, an alert, an HTTP error page, an SSH banner, SSLv2, a malformed record,
nothing. The records are built by hand, field by field, so the tests double as a
picture of the wire format; a few are real OpenSSL output, made in memory.
"""

from __future__ import annotations

import ssl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from OpenSSL import SSL

from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.tls import TlsServerConfig
from tlsdoctor.wire import (
    HELLO_RETRY_REQUEST_RANDOM,
    MAX_RECORD_LEN,
    PREVIEW_LEN,
    AlertDescription,
    AlertLevel,
    AnswerKind,
    ContentType,
    FirstAnswer,
    alert_record,
    client_hello_versions,
    find_plaintext_alert,
    first_answer_needs_more,
    parse_first_answer,
    version_name,
)

# -- building records by hand --------------------------------------------------------------


def record(content_type: int, payload: bytes, version: tuple[int, int] = (3, 3)) -> bytes:
    """A TLS record: type, version, 16-bit length, payload (RFC 8446 §5.1)."""
    return bytes([content_type, *version]) + len(payload).to_bytes(2, "big") + payload


def handshake(msg_type: int, body: bytes) -> bytes:
    """A handshake message: type, 24-bit length, body (RFC 8446 §4)."""
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def extension(ext_type: int, data: bytes) -> bytes:
    return ext_type.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data


def server_hello(
    legacy_version: tuple[int, int] = (3, 3),
    *,
    random: bytes = bytes(range(32)),
    session_id: bytes = b"",
    cipher_suite: int = 0x1302,
    extensions: bytes | None = None,
) -> bytes:
    """A ServerHello handshake message; ``extensions=None`` leaves the block out (TLS 1.2 may)."""
    body = (
        bytes(legacy_version) + random + bytes([len(session_id)]) + session_id
        + cipher_suite.to_bytes(2, "big") + b"\x00"
    )
    if extensions is not None:
        body += len(extensions).to_bytes(2, "big") + extensions
    return handshake(2, body)


SUPPORTED_VERSIONS_TLS13 = extension(43, b"\x03\x04")


# -- a ServerHello: TLS is alive --------------------------------------------------------------


def test_a_tls13_server_hello_names_tls13_in_supported_versions_not_in_legacy_version():
    answer = parse_first_answer(record(22, server_hello(extensions=SUPPORTED_VERSIONS_TLS13)))

    assert answer.kind is AnswerKind.TLS_HANDSHAKE
    assert answer.record_type is ContentType.HANDSHAKE
    assert answer.record_version == (3, 3)
    assert answer.handshake_type == 2
    assert answer.server_version == (3, 4)  # RFC 8446 §4.1.3: legacy_version says 3.3
    assert answer.cipher_suite == 0x1302  # TLS_AES_256_GCM_SHA384
    assert not answer.truncated and not answer.hello_retry_request


def test_a_tls12_server_hello_without_extensions_is_read_by_its_legacy_version():
    answer = parse_first_answer(record(22, server_hello((3, 3), cipher_suite=0xC02C, extensions=None)))
    assert answer.server_version == (3, 3)
    assert answer.cipher_suite == 0xC02C


def test_a_tls10_server_hello_in_a_tls10_record():
    answer = parse_first_answer(record(22, server_hello((3, 1), session_id=bytes(32), extensions=b""), (3, 1)))
    assert answer.record_version == (3, 1)
    assert answer.server_version == (3, 1)
    assert version_name(answer.server_version) == "TLS 1.0"


def test_a_hello_retry_request_is_a_server_hello_with_the_special_random():
    hrr = server_hello(random=HELLO_RETRY_REQUEST_RANDOM, extensions=SUPPORTED_VERSIONS_TLS13)
    answer = parse_first_answer(record(22, hrr))
    assert answer.kind is AnswerKind.TLS_HANDSHAKE
    assert answer.hello_retry_request


def test_a_server_hello_followed_by_more_messages_in_the_same_record_is_still_read():
    # TLS 1.2 servers pack ServerHello, Certificate, ... into one record.
    payload = server_hello(extensions=b"") + handshake(11, b"\x00\x00\x00")
    assert parse_first_answer(record(22, payload)).server_version == (3, 3)


def test_a_partial_server_hello_says_tls_but_no_version():
    whole = record(22, server_hello(extensions=SUPPORTED_VERSIONS_TLS13))
    answer = parse_first_answer(whole[:40], eof=True)
    assert answer.kind is AnswerKind.TLS_HANDSHAKE
    assert answer.truncated and answer.eof
    assert answer.server_version is None


def test_a_handshake_record_holding_another_message_first_has_no_server_version():
    answer = parse_first_answer(record(22, handshake(11, b"\x00\x00\x00")))
    assert answer.kind is AnswerKind.TLS_HANDSHAKE
    assert answer.handshake_type == 11 and answer.server_version is None


def test_a_server_hello_with_a_malformed_extension_block_has_no_server_version():
    broken = server_hello(extensions=b"\x00\x2b\x00\x09\x03")  # announces 9 bytes, holds 1
    answer = parse_first_answer(record(22, broken))
    assert answer.kind is AnswerKind.TLS_HANDSHAKE
    assert answer.server_version is None


def _openssl_server_hello(max_version: int) -> bytes:
    """The first flight of a real OpenSSL server, made in memory."""
    authorities = LabAuthorities.create("http://127.0.0.1:9")
    config = TlsServerConfig(authorities.intermediate.issue_cert("localhost"))
    server = SSL.Connection(config.build_context(), None)
    server.set_accept_state()
    client_ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    client_ctx.set_max_proto_version(max_version)
    client = SSL.Connection(client_ctx, None)
    client.set_connect_state()
    with pytest.raises(SSL.WantReadError):
        client.do_handshake()
    server.bio_write(client.bio_read(65536))
    with pytest.raises(SSL.WantReadError):
        server.do_handshake()
    return server.bio_read(65536)


def test_a_real_openssl_tls13_first_flight_reads_as_tls13():
    answer = parse_first_answer(_openssl_server_hello(SSL.TLS1_3_VERSION))
    assert answer.kind is AnswerKind.TLS_HANDSHAKE
    assert answer.server_version == (3, 4)


def test_a_real_openssl_tls12_first_flight_reads_as_tls12():
    answer = parse_first_answer(_openssl_server_hello(SSL.TLS1_2_VERSION))
    assert answer.server_version == (3, 3)


# -- an alert: the server refused, and says why ------------------------------------------------


def test_a_fatal_handshake_failure_alert():
    answer = parse_first_answer(alert_record(AlertDescription.HANDSHAKE_FAILURE))
    assert answer.kind is AnswerKind.ALERT
    assert answer.alert_level is AlertLevel.FATAL
    assert answer.alert_description is AlertDescription.HANDSHAKE_FAILURE
    assert answer.record_length == 2 and not answer.truncated


def test_a_fatal_close_notify_is_an_alert_with_description_zero_and_level_fatal():
    # The field case OpenSSL reports with an empty reason string: the bytes still say it.
    answer = parse_first_answer(alert_record(AlertDescription.CLOSE_NOTIFY), eof=True)
    assert answer.kind is AnswerKind.ALERT
    assert (answer.alert_level, answer.alert_description) == (AlertLevel.FATAL, AlertDescription.CLOSE_NOTIFY)


def test_an_alert_number_we_do_not_name_is_kept_as_a_number():
    answer = parse_first_answer(record(21, b"\x02\xc8"))
    assert answer.alert_description == 200 and not isinstance(answer.alert_description, AlertDescription)


def test_an_unknown_alert_level_is_kept_as_a_number():
    answer = parse_first_answer(record(21, b"\x07\x28"))
    assert answer.alert_level == 7 and answer.alert_description is AlertDescription.HANDSHAKE_FAILURE


@pytest.mark.parametrize(
    ("payload", "level", "description"),
    [
        pytest.param(b"\x02\x28\x00", AlertLevel.FATAL, AlertDescription.HANDSHAKE_FAILURE, id="three bytes"),
        pytest.param(b"\x02", AlertLevel.FATAL, None, id="one byte"),
        pytest.param(b"", None, None, id="empty"),
    ],
)
def test_an_alert_record_of_odd_length_still_gives_what_it_holds(payload: bytes, level, description):
    answer = parse_first_answer(record(21, payload))
    assert answer.kind is AnswerKind.ALERT
    assert answer.record_length == len(payload)
    assert (answer.alert_level, answer.alert_description) == (level, description)


def test_an_alert_cut_short_by_a_reset_keeps_its_level_and_says_it_was_truncated():
    answer = parse_first_answer(alert_record(AlertDescription.UNKNOWN_CA)[:6], reset=True)
    assert answer.kind is AnswerKind.ALERT
    assert answer.truncated and answer.reset
    assert answer.alert_level is AlertLevel.FATAL and answer.alert_description is None


def test_an_alert_followed_by_a_reset_is_an_alert_not_a_reset():
    answer = parse_first_answer(alert_record(AlertDescription.PROTOCOL_VERSION), reset=True)
    assert answer.kind is AnswerKind.ALERT and answer.reset


# -- partial record headers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        pytest.param(b"\x16", AnswerKind.TLS_HANDSHAKE, id="type only"),
        pytest.param(b"\x16\x03", AnswerKind.TLS_HANDSHAKE, id="type and major version"),
        pytest.param(b"\x15\x03\x03", AnswerKind.ALERT, id="alert, three bytes"),
        pytest.param(b"\x15\x03\x03\x00", AnswerKind.ALERT, id="alert, four bytes"),
    ],
)
def test_a_partial_header_then_eof_is_a_truncated_record(data: bytes, kind: AnswerKind):
    answer = parse_first_answer(data, eof=True)
    assert answer.kind is kind
    assert answer.truncated and answer.eof
    assert answer.record_length is None


def test_the_record_version_is_known_from_three_bytes_on():
    assert parse_first_answer(b"\x16\x03", eof=True).record_version is None
    assert parse_first_answer(b"\x16\x03\x01", eof=True).record_version == (3, 1)


# -- text: not TLS at all -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "line"),
    [
        pytest.param(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 400 Bad Request",
                     id="HTTP/1.1"),
        pytest.param(b"HTTP/1.0 400 Bad Request\r\n\r\n", "HTTP/1.0 400 Bad Request", id="HTTP/1.0"),
        pytest.param(b"SSH-2.0-OpenSSH_9.6\r\n", "SSH-2.0-OpenSSH_9.6", id="SSH banner"),
        pytest.param(b"220 mail.example.test ESMTP\r\n", "220 mail.example.test ESMTP", id="SMTP greeting"),
        pytest.param(b"<html><body>400</body></html>", "<html><body>400</body></html>", id="bare HTML"),
    ],
)
def test_printable_text_is_plaintext_and_its_first_line_is_kept(data: bytes, line: str):
    answer = parse_first_answer(data, eof=True)
    assert answer.kind is AnswerKind.PLAINTEXT
    assert answer.text_preview == line
    assert answer.record_type is None


def test_an_http_head_followed_by_a_binary_body_is_still_plaintext():
    answer = parse_first_answer(b"HTTP/1.1 400 Bad Request\r\nContent-Encoding: gzip\r\n\r\n\x1f\x8b\x08\x00")
    assert answer.kind is AnswerKind.PLAINTEXT


def test_a_long_first_line_is_cut_at_the_preview_length():
    answer = parse_first_answer(b"X" * 500)
    assert answer.kind is AnswerKind.PLAINTEXT
    assert answer.text_preview == "X" * PREVIEW_LEN
    assert answer.preview == b"X" * PREVIEW_LEN


# -- neither record nor text ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        # SSLv2 SERVER-HELLO: two-byte length with the top bit set, then message type 4.
        pytest.param(bytes.fromhex("802e 04 00 01 0002 0010 0003 0010") + bytes(16), id="SSLv2 server hello"),
        pytest.param(bytes.fromhex("16 0307 0002 0228"), id="handshake type, bogus version 3.7"),
        pytest.param(bytes.fromhex("15 0203 0002 0228"), id="alert type, major version 2"),
        pytest.param(bytes.fromhex("16 fefd 0010") + bytes(16), id="DTLS 1.2 record version"),
        pytest.param(bytes.fromhex("17 0303 ffff"), id="length beyond RFC 8446"),
        pytest.param(bytes.fromhex("18 0303 0002 0101"), id="content type 24"),
        pytest.param(b"\x00\x00\x00\x00", id="zeros"),
    ],
)
def test_bytes_that_are_neither_a_record_nor_text_are_garbage(data: bytes):
    answer = parse_first_answer(data, eof=True)
    assert answer.kind is AnswerKind.GARBAGE
    assert answer.preview == data[:PREVIEW_LEN]
    assert answer.text_preview == ""


def test_a_record_of_another_type_first_is_tls_but_not_a_handshake():
    answer = parse_first_answer(record(20, b"\x01"))
    assert answer.kind is AnswerKind.TLS_OTHER
    assert answer.record_type is ContentType.CHANGE_CIPHER_SPEC


# -- no bytes at all: the ending decides ----------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "kind"),
    [
        pytest.param({"eof": True}, AnswerKind.EOF, id="FIN"),
        pytest.param({"reset": True}, AnswerKind.RESET, id="RST"),
        pytest.param({"reset": True, "eof": True}, AnswerKind.RESET, id="RST wins over FIN"),
        pytest.param({"timed_out": True}, AnswerKind.SILENCE, id="timeout"),
        pytest.param({}, AnswerKind.SILENCE, id="caller stopped waiting"),
    ],
)
def test_no_bytes_the_ending_is_the_answer(flags: dict[str, bool], kind: AnswerKind):
    answer = parse_first_answer(b"", **flags)
    assert answer.kind is kind
    assert answer.preview == b"" and answer.text_preview == ""


# -- when has a reader read enough? ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "more"),
    [
        pytest.param(b"", True, id="nothing yet"),
        pytest.param(b"\x15\x03\x03", True, id="partial header"),
        pytest.param(alert_record(AlertDescription.HANDSHAKE_FAILURE)[:6], True, id="partial alert"),
        pytest.param(alert_record(AlertDescription.HANDSHAKE_FAILURE), False, id="whole alert"),
        pytest.param(alert_record(AlertDescription.HANDSHAKE_FAILURE) + b"\x16\x03", False, id="alert and more"),
        pytest.param(b"HTTP/1.1 400", True, id="text, no line end yet"),
        pytest.param(b"SSH-2.0-OpenSSH_9.2\r\n", False, id="text line complete"),
        pytest.param(b"HTTP/1.1 400 Bad Request\r\n", True, id="http head, not ended"),
        pytest.param(b"HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n", False, id="http head complete"),
        pytest.param(b"HTTP/1.1 200 OK\r\n" + b"X-Pad: aaaa\r\n" * 400, False, id="http head, bound reached"),
        pytest.param(b"A" * PREVIEW_LEN, False, id="text, preview full"),
        pytest.param(b"\x80\x2e\x04", False, id="binary, not a record"),
        pytest.param(b"\x16\x05", False, id="record type, impossible version"),
        pytest.param(bytes.fromhex("16 0303 ffff"), False, id="impossible length"),
    ],
)
def test_a_reader_needs_more_until_the_first_answer_is_decided(data: bytes, more: bool):
    assert first_answer_needs_more(data) is more


# -- plain HTTP: who sent it? -----------------------------------------------------------------------


@pytest.mark.parametrize(("data", "status", "location"), [
    pytest.param(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", 400, None, id="a server that tried"),
    pytest.param(b"HTTP/1.1 302 Found\r\nLocation: http://portal.example/login?continue=https%3A%2F%2Fbank%2F"
                 b"&session=SECRET#top\r\n\r\n", 302, "http://portal.example/login", id="portal: query dropped"),
    pytest.param(b"HTTP/1.1 307 Temporary Redirect\r\nlocation: HTTPS://user:pw@Gate.example:8443\r\n\r\n", 307,
                 "https://Gate.example:8443/", id="userinfo dropped, empty path"),
    pytest.param(b"HTTP/1.1 302 Found\r\nLocation: /login\r\n\r\n", 302, None, id="relative: no host to name"),
    pytest.param(b"HTTP/1.0 403 Forbidden\r\nthis line is no header\r\n\r\n", 403, None, id="head h11 refuses"),
    pytest.param(b"HTTP/1.1 451 Unavailable For Legal Reasons\r\n", 451, None, id="head cut short"),
])
def test_a_plain_http_answer_gives_its_status_and_a_redirect_target_without_secrets(
        data: bytes, status: int, location: str | None):
    answer = parse_first_answer(data, eof=True)
    assert (answer.kind, answer.http_status, answer.http_location) == (AnswerKind.PLAINTEXT, status, location)


def test_text_that_is_not_http_has_no_status():
    answer = parse_first_answer(b"220 mail.example ESMTP Postfix\r\n", eof=True)
    assert (answer.kind, answer.http_status) == (AnswerKind.PLAINTEXT, None)


@settings(max_examples=200, deadline=None)
@given(head=st.binary(max_size=600))
def test_any_bytes_after_an_http_status_line_are_read_without_raising(head: bytes):
    answer = parse_first_answer(b"HTTP/1.1 302 Found\r\n" + head, eof=True)
    location = answer.http_location
    if location is not None:  # never a query, a fragment or userinfo: they may carry the user's URL and tokens
        assert "?" not in location and "#" not in location
        assert "@" not in location.split("://", 1)[1].split("/", 1)[0]


# -- alerts later in the stream, and what clients offer ----------------------------------------------


def test_a_plaintext_alert_after_a_server_hello_is_found():
    data = record(22, server_hello(extensions=b"")) + alert_record(AlertDescription.UNKNOWN_CA)
    assert find_plaintext_alert(data) == (AlertLevel.FATAL, AlertDescription.UNKNOWN_CA)


def test_an_alert_after_change_cipher_spec_is_encrypted_and_not_read():
    data = record(22, server_hello(extensions=b"")) + record(20, b"\x01") + record(21, b"\x9a\x3f")
    assert find_plaintext_alert(data) is None


def test_no_alert_in_garbage_or_in_nothing():
    assert find_plaintext_alert(b"HTTP/1.1 400 Bad Request\r\n") is None
    assert find_plaintext_alert(b"") is None
    assert find_plaintext_alert(record(21, b"\x02")) is None


def _python_client_hello(maximum: ssl.TLSVersion) -> bytes:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # pinned: Debian's Python 3.11 build would offer 1.0 and 1.1 too
    context.maximum_version = maximum
    tls = context.wrap_bio(ssl.MemoryBIO(), outgoing := ssl.MemoryBIO())
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def test_a_tls13_client_hello_lists_its_versions_in_supported_versions():
    assert client_hello_versions(_python_client_hello(ssl.TLSVersion.TLSv1_3)) == ((3, 4), (3, 3))


def test_a_tls12_client_hello_offers_its_legacy_version():
    assert client_hello_versions(_python_client_hello(ssl.TLSVersion.TLSv1_2)) == ((3, 3),)


def test_grease_versions_are_not_offers():
    # RFC 8701 GREASE: clients offer made-up values like 0x7a7a to keep servers tolerant.
    extensions = extension(43, b"\x06\x7a\x7a\x03\x04\x03\x03")
    body = (b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
            + len(extensions).to_bytes(2, "big") + extensions)
    assert client_hello_versions(record(22, handshake(1, body), (3, 1))) == ((3, 4), (3, 3))


def test_a_server_hello_is_not_a_client_hello():
    assert client_hello_versions(record(22, server_hello(extensions=SUPPORTED_VERSIONS_TLS13))) == ()


# -- whatever arrives, reading never fails ---------------------------------------------------------

flags = st.fixed_dictionaries({"eof": st.booleans(), "reset": st.booleans(), "timed_out": st.booleans()})


def _check(answer: FirstAnswer, data: bytes) -> None:
    assert isinstance(answer.kind, AnswerKind)
    assert answer.preview == data[:PREVIEW_LEN]
    if data:
        assert answer.kind not in (AnswerKind.EOF, AnswerKind.RESET, AnswerKind.SILENCE)
    else:
        assert answer.kind in (AnswerKind.EOF, AnswerKind.RESET, AnswerKind.SILENCE)
    if answer.kind is not AnswerKind.PLAINTEXT:
        assert answer.text_preview == ""
    assert answer.text_preview.isprintable() or answer.text_preview == ""


@settings(max_examples=1000, deadline=None)
@given(data=st.binary(max_size=256), ending=flags)
def test_any_bytes_are_read_without_raising(data: bytes, ending: dict[str, bool]):
    _check(parse_first_answer(data, **ending), data)
    first_answer_needs_more(data)
    find_plaintext_alert(data)
    client_hello_versions(data)


@settings(max_examples=1000, deadline=None)
@given(
    content_type=st.sampled_from([20, 21, 22, 23]),
    minor=st.integers(0, 4),
    payload=st.binary(max_size=300),
    cut=st.integers(0, 400),
    ending=flags,
)
def test_any_record_shaped_bytes_are_read_without_raising(content_type, minor, payload, cut, ending):
    # Random record bodies reach the ServerHello and extension parsers; the cut makes
    # truncated records.
    data = record(content_type, payload, (3, minor))[:cut]
    answer = parse_first_answer(data, **ending)
    _check(answer, data)
    if len(data) >= 5:
        assert answer.record_type == content_type and answer.record_length == len(payload)
        assert answer.truncated is (cut < 5 + len(payload))
    client_hello_versions(data)


@settings(max_examples=500, deadline=None)
@given(
    body=st.binary(max_size=120),
    extensions=st.one_of(st.none(), st.binary(max_size=64)),
    cut=st.integers(0, 300),
)
def test_any_server_hello_shaped_bytes_are_read_without_raising(body: bytes, extensions: bytes | None, cut: int):
    hello = server_hello(random=body[:32].ljust(32, b"\0"), session_id=body[32:64], extensions=extensions)
    data = record(22, hello)[:cut]
    answer = parse_first_answer(data, eof=True)
    _check(answer, data)
    assert answer.record_length is None or answer.record_length <= MAX_RECORD_LEN

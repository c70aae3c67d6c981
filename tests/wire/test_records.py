"""The record layer: what a server's first bytes after a ClientHello look like, and how we read them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlsdoctor.wire import (
    MAX_RECORD_LEN,
    RECORD_HEADER_LEN,
    AlertDescription,
    AlertLevel,
    ContentType,
    alert_record,
    record_length,
)

# -- alert_record: the bytes a lab server writes instead of a ServerHello -------------------


def test_fatal_handshake_failure_alert_is_the_seven_bytes_on_the_wire():
    # type 21 (alert), version 3.3 (TLS 1.2, frozen by RFC 8446 §5.1), length 2, fatal(2), 40
    assert alert_record(AlertDescription.HANDSHAKE_FAILURE) == bytes.fromhex("15 0303 0002 02 28")


def test_fatal_close_notify_is_a_close_notify_with_the_fatal_level():
    # The field case: a server that "closes politely" before the handshake, with level 2.
    assert alert_record(AlertDescription.CLOSE_NOTIFY, AlertLevel.FATAL) == bytes.fromhex("15 0303 0002 02 00")


def test_warning_level_is_written_when_asked_for():
    assert alert_record(AlertDescription.CLOSE_NOTIFY, AlertLevel.WARNING) == bytes.fromhex("15 0303 0002 01 00")


def test_an_alert_record_announces_exactly_its_two_byte_payload():
    record = alert_record(AlertDescription.UNKNOWN_CA)
    assert record_length(record[:RECORD_HEADER_LEN]) == 2
    assert len(record) == RECORD_HEADER_LEN + 2


# -- record_length: is this a TLS record header, and how long is the payload? --------------


@pytest.mark.parametrize(
    ("header", "length"),
    [
        pytest.param(bytes.fromhex("16 0303 007a"), 0x7A, id="ServerHello in a TLS 1.2 record"),
        pytest.param(bytes.fromhex("16 0301 0200"), 0x200, id="record version 3.1, as in a first ClientHello"),
        pytest.param(bytes.fromhex("15 0303 0002"), 2, id="alert"),
        pytest.param(bytes.fromhex("14 0303 0001"), 1, id="change_cipher_spec"),
        pytest.param(bytes.fromhex("17 0303 0000"), 0, id="empty application_data"),
        pytest.param(b"\x17\x03\x03" + MAX_RECORD_LEN.to_bytes(2, "big"), MAX_RECORD_LEN, id="largest ciphertext"),
        pytest.param(bytes.fromhex("16 0303 0010") + b"payload follows", 0x10, id="header followed by payload"),
    ],
)
def test_valid_record_headers_give_their_payload_length(header: bytes, length: int):
    assert record_length(header) == length


def test_a_plain_http_answer_is_not_a_record():
    # The "HTTP on the TLS port" case: 'H' (0x48) is no content type.
    assert record_length(b"HTTP/") is None
    assert record_length(b"HTTP/1.1 400 Bad Request\r\n") is None


@pytest.mark.parametrize("short", [b"", b"\x16", b"\x16\x03\x03", b"\x16\x03\x03\x00"], ids=len)
def test_fewer_than_five_bytes_are_not_a_header(short: bytes):
    assert record_length(short) is None


def test_a_length_beyond_what_rfc_8446_allows_is_not_a_record():
    assert record_length(bytes.fromhex("17 0303") + (MAX_RECORD_LEN + 1).to_bytes(2, "big")) is None
    assert record_length(bytes.fromhex("16 0303 ffff")) is None


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(bytes.fromhex("18 0303 0010"), id="content type 24 (heartbeat, not ours)"),
        pytest.param(bytes.fromhex("16 0203 0010"), id="major version 2"),
        pytest.param(bytes.fromhex("16 0305 0010"), id="minor version beyond TLS 1.3"),
        pytest.param(bytes.fromhex("80 2e01 0003"), id="SSLv2-style header"),
    ],
)
def test_headers_with_a_foreign_type_or_version_are_not_records(header: bytes):
    assert record_length(header) is None


def test_every_content_type_is_recognised():
    for content_type in ContentType:
        assert record_length(bytes([content_type, 3, 3, 0, 9])) == 9


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64))
def test_record_length_never_raises_and_stays_in_range(data: bytes):
    length = record_length(data)
    assert length is None or 0 <= length <= MAX_RECORD_LEN


@settings(max_examples=200, deadline=None)
@given(
    content_type=st.sampled_from(list(ContentType)),
    minor=st.integers(0, 4),
    length=st.integers(0, MAX_RECORD_LEN),
    rest=st.binary(max_size=16),
)
def test_any_well_formed_header_is_read_back(content_type: ContentType, minor: int, length: int, rest: bytes):
    assert record_length(bytes([content_type, 3, minor]) + length.to_bytes(2, "big") + rest) == length

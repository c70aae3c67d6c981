"""Writing ClientHellos ourselves, so a probe can offer what the local TLS library will not.

OpenSSL 3/4 no longer offers NULL, export, RC4, 3DES or GOST suites (and offers CCM-8
only when asked): a server that accepts only those looks, through OpenSSL, like one
that accepts nothing. A ClientHello is just bytes (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2),
so we write it: any versions, any cipher-suite numbers, groups, signature schemes, SNI,
ALPN and (when TLS 1.3 is offered) key shares for the groups we can make keys for. The
probe that sends it never finishes the handshake: the server's plaintext answer (a
ServerHello, a HelloRetryRequest or an alert, read by :mod:`tlsdoctor.wire.server_flight`)
already says what it accepts. The torture tool builds its malformed hellos on the same
builder (``extra_extensions``, ``compression_methods``, ``record_version``).

    hello = ClientHello(versions=("1.2",), cipher_suites=(0x003B,), server_name="example.test")
    sock.sendall(hello.to_bytes())

Pure: no sockets, and the only randomness (``random``, the session id, key shares) can
be pinned by the caller.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from tlsdoctor.wire.cipher_suites import TLS12_SUITES, TLS13_SUITES
from tlsdoctor.wire.codec import Cursor, handshake_body, is_grease, parse_extensions, read_u16_list, u16_list, vector
from tlsdoctor.wire.extensions import ALL_SIGNATURE_SCHEMES, ExtensionType, NamedGroup
from tlsdoctor.wire.records import (
    MAX_PLAINTEXT_LEN,
    RECORD_HEADER_LEN,
    TLS_VERSIONS,
    ContentType,
    HandshakeType,
    handshake_message,
    record,
    record_length,
)

# What a broad probe offers by default: groups a server may pick, in a common order.
DEFAULT_GROUPS: tuple[int, ...] = (
    NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1, NamedGroup.SECP521R1, NamedGroup.X448,
    NamedGroup.FFDHE2048, NamedGroup.FFDHE3072, NamedGroup.FFDHE4096, NamedGroup.FFDHE6144, NamedGroup.FFDHE8192,
)
# Groups we can make a key share for (cryptography's X25519/X448 and NIST curves).
KEY_SHARE_GROUPS = (NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1, NamedGroup.SECP521R1,
                    NamedGroup.X448)


@dataclass(frozen=True)
class ClientHello:
    """A ClientHello to write. Defaults: a broad, well-formed TLS 1.2 + 1.3 hello.

    ``versions`` are "1.0".."1.3" (or raw (major, minor) pairs). With "1.3" among them
    the hello says legacy_version 3.3 and lists every version in ``supported_versions``
    (RFC 8446 §4.2.1); without it, legacy_version is the highest version and the server
    picks any version up to it (RFC 5246 Appendix E.1). ``cipher_suites`` are IANA
    numbers, offered as given (add 0x00FF for the renegotiation SCSV). ``key_share_groups``
    default to the first group of ``groups`` we can make a key for; an empty tuple sends
    an empty key_share, which makes a TLS 1.3 server answer with a HelloRetryRequest
    naming the group it prefers (a cheap way to ask). ``extra_extensions`` are appended
    raw, as given (type, body).
    """

    versions: tuple[str | tuple[int, int], ...] = ("1.3", "1.2")
    cipher_suites: tuple[int, ...] = TLS13_SUITES + TLS12_SUITES
    server_name: str | None = None
    alpn: tuple[str, ...] = ()
    groups: tuple[int, ...] = DEFAULT_GROUPS
    signature_algorithms: tuple[int, ...] = ALL_SIGNATURE_SCHEMES
    key_share_groups: tuple[int, ...] | None = None
    status_request: bool = False
    random: bytes | None = None
    session_id: bytes | None = None  # default: 32 random bytes when 1.3 is offered (RFC 8446 §D.4), else empty
    compression_methods: tuple[int, ...] = (0,)
    extra_extensions: tuple[tuple[int, bytes], ...] = ()
    record_version: tuple[int, int] = (3, 1)  # RFC 8446 §5.1: 3.1 in the first ClientHello, for old middleboxes
    pad: bool = True  # RFC 7685: keep the hello out of 256..511 bytes, which some load balancers drop
    _key_shares: dict[int, bytes] = field(default_factory=dict, compare=False, repr=False)

    @property
    def wire_versions(self) -> tuple[tuple[int, int], ...]:
        return tuple(TLS_VERSIONS[v] if isinstance(v, str) else tuple(v) for v in self.versions)  # type: ignore[misc]

    @property
    def offers_tls13(self) -> bool:
        return (3, 4) in self.wire_versions

    def handshake_message(self) -> bytes:
        """The ClientHello handshake message (type, length, body), without record framing."""
        versions = self.wire_versions
        if not versions:
            raise ValueError("a ClientHello offers at least one version")
        tls13 = self.offers_tls13
        legacy = (3, 3) if tls13 else max(versions)
        random = self.random if self.random is not None else os.urandom(32)
        if len(random) != 32:
            raise ValueError("the ClientHello random is 32 bytes")
        session_id = self.session_id if self.session_id is not None else (os.urandom(32) if tls13 else b"")
        body = (bytes(legacy) + random + vector(session_id, 1) + vector(u16_list(self.cipher_suites), 2)
                + vector(bytes(self.compression_methods), 1))
        extensions = b"".join(int(kind).to_bytes(2, "big") + vector(data, 2) for kind, data in self._extensions())
        message = handshake_message(HandshakeType.CLIENT_HELLO, body + vector(extensions, 2))
        if self.pad and 256 <= len(message) < 512:
            # RFC 7685 §4: a padding extension brings the hello to 512 bytes.
            missing = max(512 - len(message) - 4, 0)
            extensions += ExtensionType.PADDING.to_bytes(2, "big") + vector(bytes(missing), 2)
            message = handshake_message(HandshakeType.CLIENT_HELLO, body + vector(extensions, 2))
        return message

    def to_bytes(self) -> bytes:
        """The hello as records, ready to send (split at 2^14 bytes, RFC 8446 §5.1)."""
        message = self.handshake_message()
        return b"".join(record(ContentType.HANDSHAKE, message[i : i + MAX_PLAINTEXT_LEN], self.record_version)
                        for i in range(0, len(message), MAX_PLAINTEXT_LEN))

    def _extensions(self) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        if self.server_name:
            # RFC 6066 §3: server_name_list<1..2^16-1> of (name_type 0 = host_name, HostName<1..2^16-1>)
            name = self.server_name.encode("idna") if not self.server_name.isascii() else self.server_name.encode()
            out.append((ExtensionType.SERVER_NAME, vector(b"\x00" + vector(name, 2), 2)))
        if self.status_request:
            out.append((ExtensionType.STATUS_REQUEST, b"\x01\x00\x00\x00\x00"))  # ocsp, no responder ids, no exts
        if self.groups:
            out.append((ExtensionType.SUPPORTED_GROUPS, vector(u16_list(self.groups), 2)))
            out.append((ExtensionType.EC_POINT_FORMATS, vector(b"\x00", 1)))  # uncompressed (RFC 8422 §5.1.2)
        if self.signature_algorithms:
            out.append((ExtensionType.SIGNATURE_ALGORITHMS, vector(u16_list(self.signature_algorithms), 2)))
        if self.alpn:
            protocols = b"".join(vector(p.encode(), 1) for p in self.alpn)
            out.append((ExtensionType.ALPN, vector(protocols, 2)))
        out.append((ExtensionType.EXTENDED_MASTER_SECRET, b""))
        out.append((ExtensionType.RENEGOTIATION_INFO, b"\x00"))  # an empty renegotiated_connection (RFC 5746)
        if self.offers_tls13:
            listed = b"".join(bytes(v) for v in self.wire_versions)
            out.append((ExtensionType.SUPPORTED_VERSIONS, vector(listed, 1)))
            out.append((ExtensionType.PSK_KEY_EXCHANGE_MODES, vector(b"\x01", 1)))  # psk_dhe_ke
            shares = b"".join(int(g).to_bytes(2, "big") + vector(key_share(g, self._key_shares), 2)
                              for g in self._share_groups())
            out.append((ExtensionType.KEY_SHARE, vector(shares, 2)))
        out.extend(self.extra_extensions)
        return out

    def _share_groups(self) -> tuple[int, ...]:
        if self.key_share_groups is not None:
            return self.key_share_groups
        first = next((g for g in self.groups if g in KEY_SHARE_GROUPS), None)
        return (first,) if first is not None else ()


def with_fresh_random(hello: bytes) -> bytes:
    """``hello`` (records from :meth:`ClientHello.to_bytes`) with a new random and session id.

    A probe that sends the same hello many times builds it once and refreshes only these
    (record header 5 bytes, handshake header 4, legacy_version 2, then random[32] and
    legacy_session_id<0..32>): building a hello offering hundreds of suites costs far more
    than the 64 random bytes. Both fields are still fresh per connection, as a client's are.
    """
    start = RECORD_HEADER_LEN + 4 + 2
    if len(hello) < start + 33:
        raise ValueError("not a ClientHello record")
    sid_len = hello[start + 32]
    if sid_len > 32 or len(hello) < start + 33 + sid_len:
        raise ValueError("not a ClientHello record")
    fresh = os.urandom(32 + sid_len)
    return hello[:start] + fresh[:32] + hello[start + 32:start + 33] + fresh[32:] + hello[start + 33 + sid_len:]


def key_share(group: int, cache: dict[int, bytes] | None = None) -> bytes:
    """A valid public key for ``group`` (its key_exchange bytes, RFC 8446 §4.2.8.2).

    The private half is thrown away: a probe never completes the key exchange. Raises
    ValueError for groups we cannot make a key for (FFDHE, GOST, hybrids).
    """
    if cache is not None and group in cache:
        return cache[group]
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

    raw, point = serialization.Encoding.Raw, serialization.Encoding.X962
    if group == NamedGroup.X25519:
        data = x25519.X25519PrivateKey.generate().public_key().public_bytes(raw, serialization.PublicFormat.Raw)
    elif group == NamedGroup.X448:
        data = x448.X448PrivateKey.generate().public_key().public_bytes(raw, serialization.PublicFormat.Raw)
    elif group in (NamedGroup.SECP256R1, NamedGroup.SECP384R1, NamedGroup.SECP521R1):
        curve = {NamedGroup.SECP256R1: ec.SECP256R1(), NamedGroup.SECP384R1: ec.SECP384R1(),
                 NamedGroup.SECP521R1: ec.SECP521R1()}[NamedGroup(group)]
        data = ec.generate_private_key(curve).public_key().public_bytes(
            point, serialization.PublicFormat.UncompressedPoint)
    else:
        raise ValueError(f"no key share can be made for group {group}")
    if cache is not None:
        cache[group] = data
    return data


# -- reading a ClientHello (the lab and tests read what a client offered) ----------------------


@dataclass(frozen=True)
class OfferedHello:
    """What a ClientHello offered, read from its bytes."""

    legacy_version: tuple[int, int]
    versions: tuple[tuple[int, int], ...]  # supported_versions, else (legacy_version,); GREASE left out
    cipher_suites: tuple[int, ...]
    groups: tuple[int, ...]
    signature_algorithms: tuple[int, ...]
    server_name: str | None
    alpn: tuple[str, ...]
    key_share_groups: tuple[int, ...]
    extensions: tuple[int, ...]  # extension types in the order sent (first of each)


def parse_client_hello(data: bytes) -> OfferedHello | None:
    """Read a ClientHello from the records at the start of ``data``; None if it is not a whole one."""
    length = record_length(data[:RECORD_HEADER_LEN])
    if length is None or data[0] != ContentType.HANDSHAKE:
        return None
    payload = data[RECORD_HEADER_LEN : RECORD_HEADER_LEN + length]
    body = handshake_body(payload, HandshakeType.CLIENT_HELLO)
    if body is None:
        return None
    cursor = Cursor(body)
    legacy = cursor.take(2)
    cursor.take(32)  # random
    cursor.take_vector(1)  # legacy_session_id
    suites = cursor.take_vector(2)
    cursor.take_vector(1)  # legacy_compression_methods
    if legacy is None or suites is None or cursor.failed:
        return None
    extensions = parse_extensions(cursor) if cursor.remaining else {}
    if extensions is None:
        return None
    versions: tuple[tuple[int, int], ...] = ((legacy[0], legacy[1]),)
    listed = extensions.get(ExtensionType.SUPPORTED_VERSIONS)
    if listed is not None:
        inner = Cursor(listed).take_vector(1) or b""
        versions = tuple((inner[i], inner[i + 1]) for i in range(0, len(inner) - 1, 2)
                         if not is_grease(inner[i] << 8 | inner[i + 1]))
    groups = read_u16_list(Cursor(extensions.get(ExtensionType.SUPPORTED_GROUPS, b"")).take_vector(2) or b"")
    schemes = read_u16_list(Cursor(extensions.get(ExtensionType.SIGNATURE_ALGORITHMS, b"")).take_vector(2) or b"")
    return OfferedHello(
        legacy_version=(legacy[0], legacy[1]),
        versions=versions,
        cipher_suites=read_u16_list(suites),
        groups=tuple(g for g in groups if not is_grease(g)),
        signature_algorithms=schemes,
        server_name=_server_name(extensions.get(ExtensionType.SERVER_NAME)),
        alpn=_alpn(extensions.get(ExtensionType.ALPN)),
        key_share_groups=_share_groups(extensions.get(ExtensionType.KEY_SHARE)),
        extensions=tuple(extensions),
    )


def client_hello_versions(data: bytes) -> tuple[tuple[int, int], ...]:
    """The protocol versions a ClientHello (a whole first record) offers, highest first.

    A TLS 1.3-capable client lists them in ``supported_versions`` (RFC 8446 §4.2.1);
    older clients offer a range up to ``legacy_version``, which we report as that one
    version. GREASE values (RFC 8701, ``0x?a?a``) are left out. ``()`` if unreadable.
    """
    hello = parse_client_hello(data)
    return hello.versions if hello else ()


def _server_name(data: bytes | None) -> str | None:
    if not data:
        return None
    entries = Cursor(Cursor(data).take_vector(2) or b"")
    kind, name = entries.take(1), entries.take_vector(2)
    return name.decode("ascii", "replace") if kind == b"\x00" and name else None


def _alpn(data: bytes | None) -> tuple[str, ...]:
    inner = Cursor(Cursor(data or b"").take_vector(2) or b"")
    names = []
    while inner.remaining:  # bounded: each pass consumes at least one byte or fails
        name = inner.take_vector(1)
        if name is None:
            break
        names.append(name.decode("ascii", "replace"))
    return tuple(names)


def _share_groups(data: bytes | None) -> tuple[int, ...]:
    inner = Cursor(Cursor(data or b"").take_vector(2) or b"")
    groups = []
    while inner.remaining:
        group, _share = inner.take_int(2), inner.take_vector(2)
        if group is None or _share is None:
            break
        groups.append(group)
    return tuple(groups)

"""Reading a server's plaintext answer to a ClientHello: the hello, and what TLS 1.2 shows in clear.

What a server sends before encryption starts says what it accepted and what it wants:

- a **ServerHello**: the version and cipher suite it chose (and, in TLS 1.3, the group
  of the key share it answered); a **HelloRetryRequest** (a ServerHello with a special
  random, RFC 8446 §4.1.3) names the group it wants instead;
- in TLS 1.2, the rest of its flight is plaintext too: its **Certificate** list, a
  **ServerKeyExchange** (the finite-field DH prime, whose size decides OpenSSL's
  "dh key too small", or the curve of ECDHE), a **CertificateRequest** (it wants a client
  certificate) and ServerHelloDone;
- or an **alert** (level, description) instead of any of it.

TLS 1.3 encrypts everything after the ServerHello, so its CertificateRequest is not
readable here: :mod:`tlsdoctor.observe` learns it from a real handshake. The reader is
pure and never raises; :func:`server_flight_needs_more` tells a socket loop when to stop.
"""

from __future__ import annotations

from tlsdoctor.records import record
from tlsdoctor.wire.cipher_suites import suite_name
from tlsdoctor.wire.codec import Cursor, enum_or_int, parse_extensions, read_u16_list
from tlsdoctor.wire.extensions import ExtensionType
from tlsdoctor.wire.records import (
    RECORD_HEADER_LEN,
    AlertDescription,
    AlertLevel,
    ContentType,
    HandshakeType,
    iter_records,
    record_length,
)

# RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello whose random is SHA-256 of
# "HelloRetryRequest". A server sends it when none of the client's key shares suits it.
HELLO_RETRY_REQUEST_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

MAX_FLIGHT_BYTES = 256 * 1024  # a TLS 1.2 flight with a long chain; readers stop there


@record
class ServerHello:
    """The server's choice. ``version`` is supported_versions' when present, else legacy_version."""

    version: tuple[int, int]
    cipher_suite: int
    hello_retry_request: bool = False
    selected_group: int | None = None  # TLS 1.3: the key share's group (HRR: the group it asks for)
    alpn: str | None = None
    extensions: tuple[int, ...] = ()

    @property
    def cipher_suite_name(self) -> str:
        return suite_name(self.cipher_suite)


@record
class KeyExchange:
    """A TLS 1.2 ServerKeyExchange: the DH prime's size, or the ECDHE curve."""

    dh_prime_bits: int | None = None
    named_group: int | None = None


@record
class CertificateRequest:
    """A TLS 1.2 CertificateRequest (RFC 5246 §7.4.4): the server wants a client certificate."""

    certificate_types: tuple[int, ...]
    signature_algorithms: tuple[int, ...]
    authorities: int  # how many CA names it listed (the DER names themselves are not kept)


@record
class ServerFlight:
    """Everything readable in a server's plaintext answer; None/() for what did not come."""

    server_hello: ServerHello | None = None
    certificates: tuple[bytes, ...] = ()  # TLS 1.2 Certificate, DER, leaf first
    key_exchange: KeyExchange | None = None
    certificate_request: CertificateRequest | None = None
    hello_done: bool = False
    alert: tuple[AlertLevel | int, AlertDescription | int] | None = None
    encrypted: bool = False  # a change_cipher_spec or application_data record came: the rest is hidden
    malformed: str | None = None  # why reading stopped early, when the bytes were not TLS as expected

    @property
    def complete(self) -> bool:
        """Nothing more will be readable: an alert, ServerHelloDone, encryption, or TLS 1.3's hello."""
        hello = self.server_hello
        return bool(self.alert or self.hello_done or self.encrypted or self.malformed
                    or (hello is not None and (hello.version >= (3, 4) or hello.hello_retry_request)))


def read_server_flight(data: bytes) -> ServerFlight:
    """Read the plaintext records at the start of ``data`` (whole records only). Pure; never raises."""
    messages = bytearray()
    facts: dict[str, object] = {}
    for content_type, _version, payload in iter_records(data[:MAX_FLIGHT_BYTES]):
        if content_type == ContentType.ALERT:
            if len(payload) >= 2:
                facts["alert"] = (enum_or_int(AlertLevel, payload[0]), enum_or_int(AlertDescription, payload[1]))
            break
        if content_type != ContentType.HANDSHAKE:
            facts["encrypted"] = True
            break
        messages += payload
    if not facts.get("alert") and not facts.get("encrypted") and data and record_length(
            data[:RECORD_HEADER_LEN]) is None and len(data) >= RECORD_HEADER_LEN:
        facts["malformed"] = "the answer is not a TLS record"
    suite: int | None = None
    cursor = Cursor(bytes(messages))
    for _ in range(64):  # bounded: a flight has a handful of messages
        if cursor.remaining < 4:
            break
        msg_type, body = cursor.take_int(1), cursor.take_vector(3)
        if body is None:
            break  # a message still arriving
        if msg_type == HandshakeType.SERVER_HELLO:
            hello = parse_server_hello(body)
            if hello is None:
                facts["malformed"] = "the ServerHello does not parse"
                break
            facts["server_hello"], suite = hello, hello.cipher_suite
            if hello.version >= (3, 4) or hello.hello_retry_request:
                break  # everything after a TLS 1.3 ServerHello is encrypted
        elif msg_type == HandshakeType.CERTIFICATE:
            facts["certificates"] = _certificates(body)
        elif msg_type == HandshakeType.SERVER_KEY_EXCHANGE:
            facts["key_exchange"] = _key_exchange(body, suite)
        elif msg_type == HandshakeType.CERTIFICATE_REQUEST:
            facts["certificate_request"] = _certificate_request(body)
        elif msg_type == HandshakeType.SERVER_HELLO_DONE:
            facts["hello_done"] = True
            break
    return ServerFlight(**facts)  # type: ignore[arg-type]


def server_flight_needs_more(data: bytes, flight: ServerFlight | None = None) -> bool:
    """Whether more bytes could add to what :func:`read_server_flight` says about ``data``.

    ``flight``: that reading of ``data``, when the caller has it already (a reader that keeps
    each chunk's reading parses the bytes once, not twice).
    """
    if len(data) >= MAX_FLIGHT_BYTES:
        return False
    if data and (data[0] not in (20, 21, 22, 23) or (
            len(data) >= RECORD_HEADER_LEN and record_length(data[:RECORD_HEADER_LEN]) is None)):
        return False
    return not (flight if flight is not None else read_server_flight(data)).complete


def parse_server_hello(body: bytes) -> ServerHello | None:
    """A ServerHello's body (after type and length), RFC 8446 §4.1.3 / RFC 5246 §7.4.1.3:

        uint16 legacy_version; opaque random[32]; opaque legacy_session_id_echo<0..32>;
        uint16 cipher_suite; uint8 legacy_compression_method; Extension extensions<6..2^16-1>;

    A TLS 1.3 server says 3.3 in legacy_version and 3.4 in ``supported_versions``; a
    TLS 1.2 server may send no extensions at all.
    """
    cursor = Cursor(body)
    legacy, random = cursor.take(2), cursor.take(32)
    cursor.take_vector(1)  # legacy_session_id_echo
    suite = cursor.take_int(2)
    cursor.take(1)  # legacy_compression_method
    if cursor.failed or legacy is None or random is None or suite is None:
        return None
    extensions = parse_extensions(cursor) if cursor.remaining else {}
    if extensions is None:
        return None
    version = (legacy[0], legacy[1])
    selected = extensions.get(ExtensionType.SUPPORTED_VERSIONS)
    if selected is not None and len(selected) == 2:
        version = (selected[0], selected[1])
    share = extensions.get(ExtensionType.KEY_SHARE)
    group = int.from_bytes(share[:2], "big") if share is not None and len(share) >= 2 else None
    alpn = None
    if ExtensionType.ALPN in extensions:
        names = Cursor(Cursor(extensions[ExtensionType.ALPN]).take_vector(2) or b"").take_vector(1)
        alpn = names.decode("ascii", "replace") if names else None
    return ServerHello(version=version, cipher_suite=suite, hello_retry_request=random == HELLO_RETRY_REQUEST_RANDOM,
                       selected_group=group, alpn=alpn, extensions=tuple(extensions))


def _certificates(body: bytes) -> tuple[bytes, ...]:
    """TLS 1.2 Certificate: certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>."""
    inner = Cursor(Cursor(body).take_vector(3) or b"")
    certs = []
    for _ in range(64):
        if not inner.remaining:
            break
        cert = inner.take_vector(3)
        if cert is None:
            break
        certs.append(cert)
    return tuple(certs)


def _key_exchange(body: bytes, suite: int | None) -> KeyExchange | None:
    """TLS 1.2 ServerKeyExchange, by the chosen suite's key exchange (RFC 5246 §7.4.3, RFC 8422 §5.4)."""
    name = suite_name(suite) if suite is not None else ""
    cursor = Cursor(body)
    if "_ECDHE_" in name or "_ECDH_anon_" in name:
        curve_type, group = cursor.take_int(1), cursor.take_int(2)
        return KeyExchange(named_group=group) if curve_type == 3 and group is not None else None
    if "_DHE_" in name or "_DH_anon_" in name:
        prime = cursor.take_vector(2)  # dh_p, then dh_g and dh_Ys
        if not prime:
            return None
        return KeyExchange(dh_prime_bits=int.from_bytes(prime, "big").bit_length())
    return None


def _certificate_request(body: bytes) -> CertificateRequest | None:
    """TLS 1.2 CertificateRequest: certificate_types<1..2^8-1>, supported_signature_algorithms<2^16-2>,
    certificate_authorities<0..2^16-1> (RFC 5246 §7.4.4)."""
    cursor = Cursor(body)
    types = cursor.take_vector(1)
    schemes = cursor.take_vector(2)
    authorities = cursor.take_vector(2)
    if types is None:
        return None
    count = 0
    inner = Cursor(authorities or b"")
    for _ in range(1024):
        if not inner.remaining or inner.take_vector(2) is None:
            break
        count += 1
    return CertificateRequest(certificate_types=tuple(types), signature_algorithms=read_u16_list(schemes or b""),
                              authorities=count)

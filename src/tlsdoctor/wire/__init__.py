"""TLS on the wire, sans-IO: bytes in, facts out; facts in, bytes out. No sockets here.

- :mod:`~tlsdoctor.wire.records` — records, alerts, handshake framing (RFC 8446 §5-6);
- :mod:`~tlsdoctor.wire.first_answer` — what a server's first answer to a ClientHello was
  (a ServerHello, an alert, plain text, nothing);
- :mod:`~tlsdoctor.wire.client_hello` — writing (and reading) ClientHellos with any
  versions, suites, groups and extensions;
- :mod:`~tlsdoctor.wire.server_flight` — a server's plaintext flight: ServerHello,
  HelloRetryRequest, TLS 1.2 Certificate / ServerKeyExchange / CertificateRequest, alert;
- :mod:`~tlsdoctor.wire.cipher_suites`, :mod:`~tlsdoctor.wire.extensions` — the IANA numbers.

Diagnosis reads servers with it, the lab writes broken answers with it, the torture tool
writes hostile hellos with it. The names below are the package's public API.
"""

from tlsdoctor.wire.cipher_suites import (
    BY_NAME,
    CIPHER_SUITES,
    TLS12_SUITES,
    TLS13_SUITES,
    CipherSuite,
    suite_family,
    suite_name,
)
from tlsdoctor.wire.client_hello import (
    DEFAULT_GROUPS,
    ClientHello,
    OfferedHello,
    client_hello_versions,
    key_share,
    parse_client_hello,
)
from tlsdoctor.wire.extensions import (
    ALL_GROUPS,
    ALL_SIGNATURE_SCHEMES,
    ExtensionType,
    NamedGroup,
    SignatureScheme,
    group_name,
)
from tlsdoctor.wire.first_answer import (
    PREVIEW_LEN,
    AnswerKind,
    FirstAnswer,
    find_plaintext_alert,
    first_answer_needs_more,
    parse_first_answer,
)
from tlsdoctor.wire.records import (
    MAX_RECORD_LEN,
    RECORD_HEADER_LEN,
    TLS_VERSIONS,
    AlertDescription,
    AlertLevel,
    ContentType,
    HandshakeType,
    alert_record,
    handshake_message,
    iter_records,
    record,
    record_length,
    version_name,
)
from tlsdoctor.wire.server_flight import (
    HELLO_RETRY_REQUEST_RANDOM,
    CertificateRequest,
    KeyExchange,
    ServerFlight,
    ServerHello,
    parse_server_hello,
    read_server_flight,
    server_flight_needs_more,
)

__all__ = [
    "ALL_GROUPS", "ALL_SIGNATURE_SCHEMES", "BY_NAME", "CIPHER_SUITES", "DEFAULT_GROUPS", "HELLO_RETRY_REQUEST_RANDOM",
    "MAX_RECORD_LEN", "PREVIEW_LEN", "RECORD_HEADER_LEN", "TLS12_SUITES", "TLS13_SUITES", "TLS_VERSIONS",
    "AlertDescription", "AlertLevel", "AnswerKind", "CertificateRequest", "CipherSuite", "ClientHello",
    "ContentType", "ExtensionType", "FirstAnswer", "HandshakeType", "KeyExchange", "NamedGroup", "OfferedHello",
    "ServerFlight", "ServerHello", "SignatureScheme", "alert_record", "client_hello_versions",
    "find_plaintext_alert", "first_answer_needs_more", "group_name", "handshake_message", "iter_records",
    "key_share", "parse_client_hello", "parse_first_answer", "parse_server_hello", "read_server_flight", "record",
    "record_length", "server_flight_needs_more", "suite_family", "suite_name", "version_name",
]

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

from __future__ import annotations

import importlib
from typing import Any

# Each public name, and the module that defines it. Loaded on first use (PEP 562): a
# diagnosis of a healthy server reads first answers and server flights, and need not pay
# for the ClientHello writer's tables at start-up.
_WHERE: dict[str, str] = {
    **dict.fromkeys(('BY_NAME', 'CIPHER_SUITES', 'TLS12_SUITES', 'TLS13_SUITES', 'CipherSuite', 'suite_family', 'suite_name'), "cipher_suites"),
    **dict.fromkeys(('DEFAULT_GROUPS', 'ClientHello', 'OfferedHello', 'client_hello_versions', 'key_share', 'parse_client_hello', 'with_fresh_random'), "client_hello"),
    **dict.fromkeys(('ALL_GROUPS', 'ALL_SIGNATURE_SCHEMES', 'POST_QUANTUM_GROUPS', 'ExtensionType', 'NamedGroup', 'SignatureScheme', 'group_name'), "extensions"),
    **dict.fromkeys(('PREVIEW_LEN', 'TLS_ANSWERS', 'AnswerKind', 'FirstAnswer', 'find_plaintext_alert', 'first_answer_needs_more', 'parse_first_answer'), "first_answer"),
    **dict.fromkeys(('MAX_RECORD_LEN', 'RECORD_HEADER_LEN', 'TLS_VERSIONS', 'AlertDescription', 'AlertLevel', 'ContentType', 'HandshakeType', 'alert_record', 'handshake_message', 'iter_records', 'record', 'record_length', 'version_name'), "records"),
    **dict.fromkeys(('HELLO_RETRY_REQUEST_RANDOM', 'CertificateRequest', 'KeyExchange', 'ServerFlight', 'ServerHello', 'parse_server_hello', 'read_server_flight', 'server_flight_needs_more'), "server_flight"),
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    try:
        module = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module 'tlsdoctor.wire' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"tlsdoctor.wire.{module}"), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return __all__

"""Where raw attacks get their ClientHello bytes: the project's sans-IO builder.

Raw attacks (cut a ClientHello in half, stall after it, reset after it) need the bytes of
a real, well-formed ClientHello and never a socket: :class:`tlsdoctor.wire.ClientHello`
writes them (with real key shares, so a TLS 1.3 server answers with its whole flight and
then waits for ours, which is what a stalled client makes it do).
"""

from __future__ import annotations

import ipaddress

from tlsdoctor.wire.cipher_suites import TLS12_SUITES, TLS13_SUITES
from tlsdoctor.wire.client_hello import ClientHello

_SUITES = {"1.3": TLS13_SUITES, "1.2": TLS12_SUITES, None: TLS13_SUITES + TLS12_SUITES}


def client_hello(host: str, version: str | None = None) -> bytes:
    """One ClientHello record for ``host`` (SNI for a name, none for an IP address, RFC 6066
    section 3), offering ``version`` only, or TLS 1.3 and 1.2."""
    try:
        ipaddress.ip_address(host)
        server_name = None
    except ValueError:
        server_name = host
    versions = (version,) if version else ("1.3", "1.2")
    return ClientHello(versions=versions, cipher_suites=_SUITES[version], server_name=server_name,
                       alpn=("http/1.1",)).to_bytes()

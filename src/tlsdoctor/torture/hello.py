"""Where raw attacks get their ClientHello bytes: one small switchable interface.

Raw attacks (cut a ClientHello in half, stall after it, reset after it) need the bytes
of a real ClientHello, never a socket. :func:`client_hello` returns them: OpenSSL's own,
produced on a memory BIO (no connection is made). The project's sans-IO ClientHello
builder in ``tlsdoctor.wire`` is the intended source; this function is the one place to
switch.
"""

from __future__ import annotations

import functools
import ssl

_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


@functools.lru_cache(maxsize=16)
def client_hello(host: str, version: str | None = None) -> bytes:
    """One ClientHello record for ``host`` (SNI for a name, none for an IP address),
    offering ``version`` only, or both."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifying, as ever: it never gets that far
    ctx.set_alpn_protocols(["http/1.1"])
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = _VERSIONS[version]
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=host)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()

"""``scheme://host:port`` of a URL: the key of the broken-stack memory and all a report keeps.

Every request computes its origin, so this is on the request path: parsed once per distinct URL
(an LRU cache; applications call a handful of URLs many times), with ``urllib.parse`` rather
than a chain of regular expressions.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"https": 443, "http": 80}
# What a host may hold once urlsplit has taken userinfo off: names, IPv4, IPv6 (with a zone).
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_:%[]")


@functools.lru_cache(maxsize=1024)
def origin_of(url: str) -> str:
    """``scheme://host:port`` of ``url`` — the only part of a request a report keeps.

    The port is always written (the spec's example writes ``:443``) so that reports group by
    origin whether or not the caller spelled the default port. Userinfo, path, query and
    fragment are dropped, never redacted in place: there is nothing to learn from them. An
    unparseable URL, or a host with characters no host has, gives ``""``: nothing is safe to keep.
    """
    try:
        parts = urlsplit(str(url).strip())
        scheme, host = parts.scheme.lower(), parts.hostname or ""
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return ""
    if not scheme.isascii() or not scheme.isalnum() or not set(host) <= _HOST_CHARS or len(host) > 255:
        return ""
    try:
        port = parts.port
        if port is None:
            port = _DEFAULT_PORTS.get(scheme)
    except ValueError:  # an out-of-range or non-numeric port: keep scheme and host
        port = None
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" if port is None else f"{scheme}://{host}:{port}"

"""The stack interface: what the client needs from an HTTP implementation, and nothing more.

Like httpx's transports, a stack is a small object with two verbs, ``send`` and
``close``; pools, HTTP/2 and proxies hide behind it. The fallback logic talks only to this
interface, so a third stack (say, one on the platform's own HTTP API) is one class away.
:func:`load_stacks` builds the two shipped stacks that this machine can load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Protocol

# What connecting plus the TLS handshake may take of a request's budget, on each stack.
CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    timeout: float = 30.0

    @property
    def idempotent(self) -> bool:
        """RFC 9110 §9.2.2: safe to send twice."""
        return self.method.upper() in ("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE")


_new = object.__new__


def check_url(url: str) -> None:
    """Raise ``ValueError`` (one line, credentials redacted) for a URL no stack can send.

    A malformed URL is the application's mistake, not the network's: sent anyway, libcurl
    answers "URL rejected" (curl 3) and httpx something else, and neither is a finding a
    fallback or a report should carry. :func:`make_request` checks; the client builds one
    Request per distinct URL, so a repeated request pays nothing.
    """
    import urllib.parse

    from tlsdoctor.redact import redact_input

    def bad(why: str) -> ValueError:
        return ValueError(f"malformed URL {redact_input(url)!r}: {why}")

    if not isinstance(url, str) or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise bad("it holds spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as exc:
        raise bad(str(exc)) from None
    if parts.scheme.lower() not in ("https", "http"):
        raise bad("not an http(s) URL")
    if not parts.hostname:
        raise bad("no host")


def check_ca_file(path: str | Path) -> None:
    """Raise ``ValueError`` (one line) for an app CA file OpenSSL would read no certificate from.

    Each stack meets such a file differently (the native stack's ``ssl`` raises "no certificate
    or crl found", the curl stack merged with the OS store quietly drops it, and alone fails
    every request with curl 77), so both are refused the same way, with what the file is
    instead (UTF-16 text, DER, PKCS#7, a key: observe/pem.py reads it as OpenSSL does).
    """
    from tlsdoctor.observe.pem import certificate_blocks, not_pem_reason, read_ca_file_bytes

    data, error = read_ca_file_bytes(path)
    if data is not None and not data.strip():
        error = "empty file"
    elif data is not None and not certificate_blocks(data, max_entries=1)[0]:
        error = not_pem_reason(data)
    if error is not None:
        raise ValueError(f"CA file {path} is not usable: {error}")


def make_request(method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float) -> Request:
    """``Request(...)`` for the client's hot path: a frozen dataclass's ``__init__`` sets each
    field through ``object.__setattr__`` (~2 us for five; this is a third of that). The same
    object, equal to one built the usual way. A URL no stack can send raises ``ValueError``
    (:func:`check_url`): the client makes one Request per distinct URL and reuses it."""
    check_url(url)
    request = _new(Request)
    fields = request.__dict__
    fields["method"] = method
    fields["url"] = url
    fields["headers"] = headers
    fields["body"] = body
    fields["timeout"] = timeout
    return request


@dataclass(frozen=True)
class Response:
    """An HTTP answer. An error status is a response, not an exception: its body is readable."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    url: str  # the final URL, after redirects
    stack: str  # which stack answered
    http_version: str  # "1.1", "2"
    timings_ms: Mapping[str, float] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Stack(Protocol):
    """An HTTP implementation the client can send through."""

    name: str
    trust_source: str  # what it verifies certificates against: fallback needs to know if two differ

    def send(self, request: Request) -> Response:
        """Send; raise :class:`~tlsdoctor.client.errors.TransportError` for transport failures."""

    def close(self) -> None: ...


def load_stacks(*, ca_bundle: str | Path | None, trust_os_store: bool, proxy: str | None,
                connect_timeout: float = CONNECT_TIMEOUT) -> tuple[dict[str, Stack], dict[str, str]]:
    """The stacks this machine can run, and for each one that cannot load, the loader's message.

    Only a failure to *import* a stack's library, or a proxy kind only one stack speaks (httpx
    has no SOCKS4), makes it unavailable; a bad CA file or a malformed proxy raises as before,
    since that is the caller's configuration, not the machine.
    """
    if ca_bundle:
        check_ca_file(ca_bundle)
    stacks: dict[str, Stack] = {}
    unavailable: dict[str, str] = {}
    try:
        from tlsdoctor.client.curl_stack import CurlStack
    except Exception as exc:  # noqa: BLE001 - ImportError, OSError from the loader, pycurl's own errors
        unavailable["curl"] = f"{type(exc).__name__}: {exc}"
    else:
        stacks["curl"] = CurlStack(ca_bundle=ca_bundle, trust_os_store=trust_os_store, proxy=proxy,
                                   connect_timeout=connect_timeout)
    try:
        from tlsdoctor.client.native_stack import NativeStack
    except Exception as exc:  # noqa: BLE001
        unavailable["native"] = f"{type(exc).__name__}: {exc}"
    else:
        try:
            stacks["native"] = NativeStack(ca_bundle=ca_bundle, proxy=proxy, connect_timeout=connect_timeout)
        except ImportError as exc:  # httpx imports socksio only when given a socks5:// proxy
            unavailable["native"] = f"{type(exc).__name__}: {exc}"
        except ValueError as exc:  # a proxy scheme httpx does not speak (socks4://): libcurl does
            unavailable["native"] = f"this proxy is not one httpx speaks: {exc}"
    if not stacks:
        raise RuntimeError("no HTTP stack can load: " + "; ".join(f"{k}: {v}" for k, v in unavailable.items()))
    return stacks, unavailable

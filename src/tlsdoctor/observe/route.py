"""Target and route: what to connect to, and how (directly or through a proxy).

The first facts of any diagnosis: the URL taken apart (IDN names to A-labels, IPv6
literals, default port), the proxy the client would use (``--proxy``, else the usual
environment variables, honouring ``no_proxy``), every address the name resolves to, a TCP
connect to each, and — through a proxy — the status line the proxy gives to CONNECT.
:func:`open_stream` is the one way probes reach the origin, so that every probe takes the
same route a client would.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import socket
import time
import urllib.parse
from typing import Any, Callable, Mapping, Sequence

from tlsdoctor import aio, socket_stream
from tlsdoctor.observe.socks import SOCKS_SCHEMES, socks4_connect, socks5_connect
from tlsdoctor.observe.timing import elapsed_ms
from tlsdoctor.records import record
from tlsdoctor.redact import redact_input


class TargetError(ValueError):
    """The URL cannot be diagnosed (malformed, not https, no host)."""


@record
class Target:
    url: str
    host: str  # A-label form for names; bare address for IP literals
    port: int
    path: str  # path only: queries and fragments never leave this object
    is_ip: bool

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def server_name(self) -> str | None:
        """The SNI to send: names only (RFC 6066 §3 forbids IP literals)."""
        return None if self.is_ip else self.host

    @property
    def origin(self) -> str:
        return f"https://{self.authority}"


def parse_target(url: str) -> Target:
    """Parse a URL to diagnose; raises :class:`TargetError` with a one-line reason."""
    text = url.strip()
    if not text or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise TargetError(f"not a URL: {redact_input(url)!r}")
    if "://" not in text:
        text = "https://" + text  # "example.com" is what people type
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise TargetError(f"malformed URL {redact_input(url)!r}: {exc}") from None
    if parts.scheme.lower() != "https":
        raise TargetError(f"only https:// URLs can be diagnosed, not {parts.scheme or 'no'} scheme in {redact_input(url)!r}")
    raw_host = parts.hostname
    if not raw_host:
        raise TargetError(f"no host in URL {redact_input(url)!r}")
    try:
        address = ipaddress.ip_address(raw_host.split("%", 1)[0])
        host, is_ip = str(address), True
    except ValueError:
        import idna  # only for a host name: an address literal needs none

        try:
            host = idna.encode(raw_host.rstrip("."), uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise TargetError(f"invalid host name {raw_host!r}: {exc}") from None
        is_ip = False
    if port == 0:
        raise TargetError(f"port 0 in URL {redact_input(url)!r}")
    path = parts.path or "/"
    return Target(url=f"https://{_authority(host, port or 443)}{path}", host=host, port=port or 443,
                  path=path, is_ip=is_ip)


def redirect_target(base: str, location: str | None) -> str | None:
    """Where a redirect's ``Location`` leads, resolved against ``base``, as ``scheme://host:port/path``.

    Query, fragment and userinfo are dropped: they carry tokens, and what a diagnosis needs is
    which server a client that follows the redirect meets next. None for anything that is not
    an http(s) URL with a host.
    """
    if not location:
        return None
    try:
        parts = urllib.parse.urlsplit(urllib.parse.urljoin(base, location.strip()[:4096]))
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    authority = _authority(host, port) if port else (f"[{host}]" if ":" in host else host)
    return f"{parts.scheme.lower()}://{authority}{parts.path or '/'}"


def url_origin(url: str) -> str | None:
    """``scheme://host:port`` of an http(s) URL, the port always spelled (as :attr:`Target.origin`)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        return None
    return f"{scheme}://{_authority(host, port or (443 if scheme == 'https' else 80))}"


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@record
class Proxy:
    url: str  # credentials stripped
    host: str
    port: int
    source: str  # "option", "env:https_proxy", ...
    has_credentials: bool

    @property
    def socks(self) -> bool:
        """A SOCKS proxy (``socks5://`` and ``socks4://``: the client resolves names; ``socks5h://``
        and ``socks4a://``: the proxy does)."""
        return self.url.startswith(tuple(f"{scheme}://" for scheme in SOCKS_SCHEMES))

    @property
    def tls_to_proxy(self) -> bool:
        """An https:// proxy URL: the client speaks TLS to the proxy itself, then CONNECTs inside
        it (curl since 7.52, Python's urllib3 since 1.26). Set by mistake for plain HTTP proxies,
        because the variable that carries it is called ``https_proxy``."""
        return self.url.startswith("https://")

    @property
    def target(self) -> Target:
        """The proxy as a TLS server: what a ClientHello to it is addressed to (SNI for a name)."""
        return parse_target(self.url + "/")


@record
class Route:
    target: Target
    proxy: Proxy | None
    bypassed_by: str | None = None  # the no_proxy entry that made us go direct
    # Where to connect for the target on a direct route, in order: the addresses a client pins
    # (curl --resolve), or the one the observer saw answer among several. Empty: by name.
    addresses: tuple[str, ...] = ()

    @property
    def proxy_url(self) -> str | None:
        return self.proxy.url if self.proxy else None


_PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def discover_route(target: Target, proxy: str | None = None, env: Mapping[str, str] | None = None) -> Route:
    """The proxy a client would use: ``proxy`` if given, else the environment (as curl reads it)."""
    environ = os.environ if env is None else env
    if proxy:
        return Route(target, _parse_proxy(proxy, "option"))
    for name in _PROXY_VARS:
        value = environ.get(name, "").strip()
        if value:
            exempt = _no_proxy_match(target, environ.get("no_proxy") or environ.get("NO_PROXY") or "")
            if exempt:
                return Route(target, None, bypassed_by=exempt)
            return Route(target, _parse_proxy(value, f"env:{name}"))
    return Route(target, None)


def _parse_proxy(value: str, source: str) -> Proxy:
    text = value if "://" in value else "http://" + value
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise TargetError(f"malformed proxy URL {redact_input(value)!r}: {exc}") from None
    if parts.scheme not in ("http", "https", *SOCKS_SCHEMES):
        raise TargetError(f"unsupported proxy scheme {parts.scheme!r} in {redact_input(value)!r} "
                          "(http://, https://, socks5://, socks5h://, socks4:// and socks4a:// proxies only)")
    if not parts.hostname:
        raise TargetError(f"no host in proxy URL {redact_input(value)!r}")
    default = 443 if parts.scheme == "https" else 1080 if parts.scheme.startswith("socks") else 80
    host = parts.hostname
    # Credentials never appear in output: the URL we keep has none.
    return Proxy(f"{parts.scheme}://{_authority(host, port or default)}", host, port or default, source,
                 bool(parts.username or parts.password))


def _no_proxy_match(target: Target, no_proxy: str) -> str | None:
    for entry in (e.strip() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return entry
        host = entry.split(":", 1)[0] if entry.count(":") == 1 else entry
        host = host.lstrip(".").lower()
        if target.host == host or target.host.endswith("." + host):
            return entry
        try:
            if target.is_ip and ipaddress.ip_address(target.host) in ipaddress.ip_network(host, strict=False):
                return entry
        except ValueError:
            pass
    return None


# -- DNS and TCP ----------------------------------------------------------------------------


@record
class Resolution:
    host: str
    addresses: tuple[str, ...]
    error: str | None  # the resolver's message when it failed
    elapsed_ms: float
    pinned: bool = False  # the addresses were given (curl --resolve), not asked of the resolver


def parse_resolve(entries: Sequence[str], target: Target) -> tuple[str, ...]:
    """The addresses curl's ``--resolve HOST:PORT:ADDR[,ADDR]...`` entries pin for ``target``.

    curl's syntax: an IPv6 address in brackets, ``*`` for any host; entries for other hosts or
    ports are allowed and unused, as curl uses them only for the names it meets. Raises
    :class:`TargetError` for an entry that is not of that shape, or an address that is not one.
    """
    pinned: tuple[str, ...] = ()
    for entry in entries:
        found = re.fullmatch(r"\+?([^:\s]+):(\d{1,5}):(.+)", entry.strip())
        if found is None:
            raise TargetError(f"--resolve {entry!r}: expected HOST:PORT:ADDRESS[,ADDRESS]... (as curl)")
        host, port, listed = found.group(1).lower().rstrip("."), int(found.group(2)), found.group(3)
        addresses = []
        for item in listed.split(","):
            text = item.strip()
            text = text[1:-1] if text.startswith("[") and text.endswith("]") else text
            try:
                addresses.append(str(ipaddress.ip_address(text)))
            except ValueError:
                raise TargetError(f"--resolve {entry!r}: {item.strip()!r} is not an IP address") from None
        if not 0 < port < 65536:
            raise TargetError(f"--resolve {entry!r}: port {port} is out of range")
        if host in ("*", target.host.lower()) and port == target.port and not pinned:
            pinned = tuple(dict.fromkeys(addresses))
    return pinned


async def resolve(host: str, port: int, timeout: float) -> Resolution:
    started = time.perf_counter()
    try:
        # An address literal needs no resolver (and no resolver thread): it is its own answer.
        return Resolution(host, (str(ipaddress.ip_address(host)),), None, elapsed_ms(started))
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP), timeout
        )
    except socket.gaierror as exc:
        return Resolution(host, (), f"{exc.strerror or exc}", elapsed_ms(started))
    except asyncio.TimeoutError:
        return Resolution(host, (), f"no answer from the resolver within {timeout:g} s", elapsed_ms(started))
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    return Resolution(host, addresses, None, elapsed_ms(started))


@record
class TcpConnect:
    address: str
    port: int
    outcome: str  # "connected", "refused", "timed_out", "reset", "unreachable", "error"
    error: str | None
    elapsed_ms: float


async def tcp_connect(address: str, port: int, timeout: float) -> TcpConnect:
    started = time.perf_counter()
    try:
        _reader, writer = await aio.within(asyncio.open_connection(address, port), timeout)
    except asyncio.TimeoutError:
        return TcpConnect(address, port, "timed_out", f"no answer within {timeout:g} s", elapsed_ms(started))
    except OSError as exc:
        return TcpConnect(address, port, _errno_outcome(exc), str(exc), elapsed_ms(started))
    writer.close()
    try:
        await aio.within(writer.wait_closed(), 1.0)
    except (OSError, asyncio.TimeoutError):
        pass
    return TcpConnect(address, port, "connected", None, elapsed_ms(started))


def _errno_outcome(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, TimeoutError):
        return "timed_out"
    if exc.errno in (101, 113, 65, 51):  # ENETUNREACH, EHOSTUNREACH (Linux, BSD)
        return "unreachable"
    return "error"


# -- the route itself ------------------------------------------------------------------------


@record
class ConnectAnswer:
    """What the proxy said to ``CONNECT host:port``."""

    status: int | None  # None: no HTTP answer at all
    status_line: str
    headers: tuple[tuple[str, str], ...]
    error: str | None


class RouteError(Exception):
    """The route to the origin could not be opened; ``stage`` says where it broke."""

    def __init__(self, stage: str, message: str, answer: ConnectAnswer | None = None, *,
                 timed_out: bool = False) -> None:
        super().__init__(message)
        self.stage = stage  # "proxy-connect", "proxy-tunnel", "connect"
        self.answer = answer
        self.timed_out = timed_out  # nothing answered within the timeout (no refusal, no error)


Stream = tuple[Any, Any]  # (reader, writer): asyncio's StreamReader/StreamWriter, or one SocketStream as both

_MAX_CONNECT_HEAD = 16 * 1024


async def open_stream(route: Route, timeout: float, address: str | None = None,
                      on_connect_sent: Callable[[], object] | None = None) -> tuple[Stream, ConnectAnswer | None]:
    """A TCP stream to the origin, through the route's proxy when it has one.

    ``address`` picks one resolved address of the origin (direct routes only). Through a
    proxy, the proxy resolves the name, as curl lets it; ``on_connect_sent`` is called once
    the CONNECT request is handed to the kernel. The stream is a :class:`SocketStream`
    (as both reader and writer: a probe's few records cost a fraction of asyncio's
    transport machinery), or asyncio's own pair where the loop cannot wait on sockets
    (Windows' proactor loop); through an ``https://`` proxy, a :class:`TlsLayer` on it.
    """
    target = route.target
    connect = socket_stream.open_connection
    if route.proxy is None:
        host = address or (route.addresses[0] if route.addresses else target.host)
        try:
            stream = await aio.within(connect(host, target.port), timeout)
        except asyncio.TimeoutError:
            raise RouteError("connect", f"TCP connect to {host}:{target.port} timed out", timed_out=True) from None
        except OSError as exc:
            raise RouteError("connect", f"TCP connect to {host}:{target.port} failed: {exc}") from None
        return stream, None
    proxy = route.proxy
    try:
        reader, writer = await aio.within(connect(proxy.host, proxy.port), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        raise RouteError("proxy-connect", f"cannot reach the proxy {proxy.url}: {str(exc) or 'timed out'}",
                         timed_out=isinstance(exc, asyncio.TimeoutError)) from None
    if proxy.tls_to_proxy:
        from tlsdoctor.observe.tls_layer import TlsLayer

        try:
            reader = writer = await TlsLayer.open(reader, writer, proxy.target.server_name, timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            writer.transport.abort()
            raise RouteError("proxy-connect", f"no TLS with the proxy {proxy.url}: {str(exc) or 'timed out'}") from None
    if proxy.url.startswith("socks4"):
        answer = await socks4_connect(reader, writer, target.host, target.port, timeout,
                                      remote_dns=proxy.url.startswith("socks4a://"), on_sent=on_connect_sent)
    elif proxy.socks:
        answer = await socks5_connect(reader, writer, target.host, target.port, timeout,
                                      remote_dns=proxy.url.startswith("socks5h://"), on_sent=on_connect_sent)
    else:
        answer = await _connect_request(reader, writer, target, timeout, on_connect_sent)
    if answer.status != 200:
        writer.close()
        raise RouteError("proxy-tunnel", f"the proxy answered CONNECT with {answer.status_line or answer.error}",
                         answer)
    return (reader, writer), answer


async def _connect_request(
    reader: Any, writer: Any, target: Target, timeout: float,
    on_sent: Callable[[], object] | None = None,
) -> ConnectAnswer:
    # No Proxy-Authorization, ever: diagnosis sends no credentials.
    writer.write(
        f"CONNECT {target.authority} HTTP/1.1\r\nHost: {target.authority}\r\n"
        f"User-Agent: tlsdoctor\r\n\r\n".encode()
    )
    if on_sent is not None:
        on_sent()
    try:
        await aio.drained(writer, timeout)
        head = await aio.within(reader.readuntil(b"\r\n\r\n"), timeout)
    except asyncio.LimitOverrunError:
        return ConnectAnswer(None, "", (), "the proxy's answer to CONNECT is too long")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.startswith(b"HTTP/"):
            head = exc.partial
        else:
            return ConnectAnswer(None, "", (), "the proxy closed the connection without answering CONNECT")
    except (OSError, asyncio.TimeoutError) as exc:
        return ConnectAnswer(None, "", (), f"no answer to CONNECT: {str(exc) or 'timed out'}")
    lines = head[:_MAX_CONNECT_HEAD].decode("latin-1").split("\r\n")
    status_line = lines[0]
    parts = status_line.split(" ", 2)
    status = int(parts[1]) if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit() else None
    headers = tuple(
        (name.strip().lower(), value.strip())
        for name, sep, value in (line.partition(":") for line in lines[1:] if line)
        if sep
    )
    return ConnectAnswer(status, status_line, headers, None if status else "not an HTTP answer")


"""SOCKS for the probes: the tunnel a client opens through a ``socks5://`` (or ``socks4://``) proxy.

``ALL_PROXY=socks5h://localhost:1080`` (an SSH tunnel, a corporate SOCKS gateway, Tor) sends
every connection through a SOCKS5 proxy instead of an HTTP CONNECT one. The exchange is two
round trips: a greeting naming the authentication methods the client offers (tlsdoctor
offers none but "no authentication": it never sends credentials), then a CONNECT request
naming the destination, by name (``socks5h``: the proxy resolves it) or by the address the
client resolved (``socks5``, as curl does).

SOCKS4 (and its 4a extension) is the older protocol ``ssh -D`` and some gateways still
speak, and curl's ``socks4://`` / ``socks4a://``: one round trip, IPv4 only, no
authentication but an identd user name (tlsdoctor sends an empty one). ``socks4`` sends the
address the client resolved; ``socks4a`` the name, behind the reserved address 0.0.0.x.

The proxy's answer is returned as a :class:`~tlsdoctor.observe.route.ConnectAnswer`, its
refusals in HTTP's words (403 for "not allowed by ruleset", 407 when no method without
credentials is acceptable...), so that one set of route rules reads every kind of proxy.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any, Callable

from tlsdoctor import aio

SOCKS_SCHEMES = ("socks5", "socks5h", "socks4", "socks4a")

_VERSION = 5
_NO_AUTH, _NO_ACCEPTABLE = 0x00, 0xFF
_CONNECT = 1
_IPV4, _NAME, _IPV6 = 1, 3, 4

# RFC 1928 §6 replies, and what each is as an answer to an HTTP CONNECT.
_REPLIES = {1: "general SOCKS server failure", 2: "connection not allowed by ruleset", 3: "network unreachable",
            4: "host unreachable", 5: "connection refused", 6: "TTL expired", 7: "command not supported",
            8: "address type not supported"}
_AS_HTTP = {1: 502, 2: 403, 3: 502, 4: 502, 5: 502, 6: 504, 7: 405, 8: 400}


def connect_request(host: str, port: int, address: str | None) -> bytes:
    """The CONNECT request: to ``address`` when the client resolved the name, else to the name itself."""
    where = address or host
    try:
        ip = ipaddress.ip_address(where)
    except ValueError:
        name = where.encode("idna")[:255]
        destination = bytes([_NAME, len(name)]) + name
    else:
        destination = bytes([_IPV4 if ip.version == 4 else _IPV6]) + ip.packed
    return bytes([_VERSION, _CONNECT, 0]) + destination + port.to_bytes(2, "big")


async def socks5_connect(reader: Any, writer: Any, host: str, port: int, timeout: float, *, remote_dns: bool,
                         on_sent: Callable[[], object] | None = None) -> Any:
    """Greeting and CONNECT through a SOCKS5 proxy; the answer as a ConnectAnswer. Never raises
    for network outcomes."""
    from tlsdoctor.observe.route import ConnectAnswer

    def failed(error: str) -> ConnectAnswer:
        return ConnectAnswer(None, "", (), error)

    try:
        writer.write(bytes([_VERSION, 1, _NO_AUTH]))
        await aio.drained(writer, timeout)
        version, method = await aio.within(reader.readexactly(2), timeout)
        if version != _VERSION:
            return failed("not a SOCKS5 answer to the greeting")
        if method == _NO_ACCEPTABLE:
            return ConnectAnswer(407, "SOCKS5: no acceptable authentication method (reply FF to the greeting)",
                                 (), None)
        if method != _NO_AUTH:
            return failed(f"the proxy chose SOCKS5 method {method}, which was not offered")
        address = None
        if not remote_dns:  # socks5://: the client resolves the name itself, as curl does
            infos = await aio.within(asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM),
                                     timeout)
            address = str(infos[0][4][0]) if infos else None
        writer.write(connect_request(host, port, address))
        if on_sent is not None:
            on_sent()
        await aio.drained(writer, timeout)
        head = await aio.within(reader.readexactly(4), timeout)
        bound = {_IPV4: 4, _IPV6: 16}.get(head[3])
        if bound is None:
            bound = (await aio.within(reader.readexactly(1), timeout))[0] if head[3] == _NAME else 0
        await aio.within(reader.readexactly(bound + 2), timeout)
    except asyncio.IncompleteReadError:
        return failed("the proxy closed the connection during the SOCKS5 handshake")
    except (OSError, asyncio.TimeoutError, UnicodeError) as exc:
        return failed(f"no SOCKS5 answer: {str(exc) or 'timed out'}")
    if head[0] != _VERSION:
        return failed("not a SOCKS5 answer to CONNECT")
    reply = head[1]
    if reply == 0:
        return ConnectAnswer(200, "SOCKS5: succeeded", (), None)
    return ConnectAnswer(_AS_HTTP.get(reply, 502), f"SOCKS5 reply {reply}: {_REPLIES.get(reply, 'unknown')}", (), None)


# SOCKS4 replies (its protocol note, "SOCKS: A protocol for TCP proxy across firewalls"): 90
# granted; 91 rejected or failed; 92 and 93: the proxy wanted to confirm the user with the
# client's identd (RFC 1413) and could not, or the names differ: a credentials refusal.
_SOCKS4_REPLIES = {91: ("request rejected or failed", 403), 92: ("the proxy cannot reach the client's identd", 407),
                   93: ("identd reports a different user", 407)}


def socks4_request(port: int, address: str | None, host: str) -> bytes:
    """CONNECT (command 1) to ``address`` (socks4), or to ``host`` by name (socks4a: 0.0.0.1)."""
    if address is not None:
        return bytes([4, _CONNECT]) + port.to_bytes(2, "big") + ipaddress.IPv4Address(address).packed + b"\0"
    name = host.encode("idna")[:255]
    return bytes([4, _CONNECT]) + port.to_bytes(2, "big") + bytes([0, 0, 0, 1]) + b"\0" + name + b"\0"


async def socks4_connect(reader: Any, writer: Any, host: str, port: int, timeout: float, *, remote_dns: bool,
                         on_sent: Callable[[], object] | None = None) -> Any:
    """One CONNECT through a SOCKS4 (``remote_dns``: 4a) proxy; the answer as a ConnectAnswer.
    Never raises for network outcomes."""
    from tlsdoctor.observe.route import ConnectAnswer

    def failed(error: str) -> ConnectAnswer:
        return ConnectAnswer(None, "", (), error)

    try:
        address = None
        if not remote_dns:  # socks4://: an IPv4 address the client resolved (the protocol has no other)
            infos = await aio.within(asyncio.get_running_loop().getaddrinfo(host, port, family=socket.AF_INET,
                                                                            type=socket.SOCK_STREAM), timeout)
            if not infos:
                return failed(f"SOCKS4 needs an IPv4 address, and {host} has none")
            address = str(infos[0][4][0])
        writer.write(socks4_request(port, address, host))
        if on_sent is not None:
            on_sent()
        await aio.drained(writer, timeout)
        answer = await aio.within(reader.readexactly(8), timeout)
    except asyncio.IncompleteReadError:
        return failed("the proxy closed the connection during the SOCKS4 request")
    except socket.gaierror as exc:
        return failed(f"SOCKS4 needs an IPv4 address, and {host} has none: {exc.strerror or exc}")
    except (OSError, asyncio.TimeoutError, UnicodeError, ValueError) as exc:
        return failed(f"no SOCKS4 answer: {str(exc) or 'timed out'}")
    if answer[0] != 0:
        return failed("not a SOCKS4 answer to CONNECT")
    reply = answer[1]
    if reply == 90:
        return ConnectAnswer(200, "SOCKS4: request granted", (), None)
    words, status = _SOCKS4_REPLIES.get(reply, ("unknown reply", 502))
    return ConnectAnswer(status, f"SOCKS4 reply {reply}: {words}", (), None)

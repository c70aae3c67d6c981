"""A SOCKS5 proxy (RFC 1928): the honest tunnel, and the two refusals the field meets.

``ALL_PROXY=socks5h://localhost:1080`` is what an SSH tunnel (``ssh -D``), a SOCKS gateway
or a privacy tool gives a machine. The exchange, in the order a client meets it:

1. *Greeting*: the client lists the authentication methods it can do (``05 n m1..mn``;
   curl and tlsdoctor offer 00, no authentication); the proxy picks one, or answers FF,
   "no acceptable methods", when it wants a username and password (method 02, RFC 1929)
   the client did not offer. libcurl: 97, "No authentication method was acceptable".
2. *CONNECT*: by name (``socks5h``: the proxy resolves it) or by address (``socks5``: the
   client resolved it). The proxy answers with a reply code: 00 succeeded, 02 "connection
   not allowed by ruleset" (a policy refusal), 05 "connection refused" (the destination
   refused the proxy)... libcurl: 97, "cannot complete SOCKS5 connection to HOST. (2)".
3. The tunnel: bytes relayed untouched; TLS runs end to end inside it.

The same port speaks SOCKS4 and 4a (``socks4://``, ``socks4a://``: the version byte says
which): one request naming an IPv4 address (4a: 0.0.0.x and the name after the user id),
and one 8-byte answer: 90 granted, 91 rejected, 92/93 the user could not be confirmed with
the client's identd (``reply`` and ``wants_credentials`` choose those refusals).

Only loopback destinations are tunnelled (02, or 91, for any other): the lab never becomes a
path off the machine.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Any

from tlsdoctor.lab.proxy import relay_plain

NO_ACCEPTABLE_METHODS = 0xFF
SOCKS4_GRANTED, SOCKS4_REJECTED, SOCKS4_IDENTD_FAILED = 90, 91, 92
NOT_ALLOWED_BY_RULESET = 2
CONNECTION_REFUSED = 5
_LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")
_HEARD_MAX = 64


@dataclass
class Socks5Proxy:
    """One SOCKS5 proxy. ``reply`` refuses every CONNECT with that code (0: tunnel);
    ``wants_credentials`` accepts no method without a username and password (it answers the
    greeting with FF, as a gateway with RFC 1929 authentication does to a client offering
    none). ``heard`` keeps the requests' destinations, (address type, address), bounded."""

    reply: int = 0
    wants_credentials: bool = False
    heard: list[tuple[int, str]] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        async def take(n: int) -> bytes:
            return await asyncio.wait_for(reader.readexactly(n), timeout)

        async def answer(data: bytes) -> None:
            writer.write(data)
            await asyncio.wait_for(writer.drain(), timeout)

        version, methods = await take(2)
        if version == 4:  # SOCKS4: the command byte came where SOCKS5's method count would be
            await self._socks4(take, answer, reader, writer, timeout)
            return
        await take(methods)
        await answer(bytes([5, NO_ACCEPTABLE_METHODS if self.wants_credentials else 0]))
        if self.wants_credentials:
            return
        _v, _cmd, _rsv, kind = await take(4)
        if kind == 1:
            address = socket.inet_ntop(socket.AF_INET, await take(4))
        elif kind == 4:
            address = socket.inet_ntop(socket.AF_INET6, await take(16))
        else:
            address = (await take((await take(1))[0])).decode("ascii", "replace")
        port = int.from_bytes(await take(2), "big")
        if len(self.heard) < _HEARD_MAX:
            self.heard.append((kind, address))
        refused = self.reply or (0 if address in _LOOPBACK_NAMES else NOT_ALLOWED_BY_RULESET)
        if refused:
            await answer(bytes([5, refused, 0, 1]) + bytes(6))
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout)
        except (OSError, asyncio.TimeoutError):
            await answer(bytes([5, CONNECTION_REFUSED, 0, 1]) + bytes(6))
            return
        await answer(bytes([5, 0, 0, 1]) + bytes(6))
        await relay_plain(reader, writer, up_reader, up_writer, timeout)

    async def _socks4(self, take: Any, answer: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      timeout: float) -> None:
        port = int.from_bytes(await take(2), "big")
        ip = await take(4)
        await self._zero_terminated(take)  # the user id (tlsdoctor and curl send an empty one)
        if ip[:3] == b"\0\0\0" and ip[3]:  # 4a: the name follows
            kind, address = 3, (await self._zero_terminated(take)).decode("ascii", "replace")
        else:
            kind, address = 1, socket.inet_ntop(socket.AF_INET, ip)
        if len(self.heard) < _HEARD_MAX:
            self.heard.append((kind, address))
        refused = (SOCKS4_IDENTD_FAILED if self.wants_credentials else SOCKS4_REJECTED if self.reply
                   else 0 if address in _LOOPBACK_NAMES else SOCKS4_REJECTED)
        if refused:
            await answer(bytes([0, refused]) + bytes(6))
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout)
        except (OSError, asyncio.TimeoutError):
            await answer(bytes([0, SOCKS4_REJECTED]) + bytes(6))
            return
        await answer(bytes([0, SOCKS4_GRANTED]) + bytes(6))
        await relay_plain(reader, writer, up_reader, up_writer, timeout)

    @staticmethod
    async def _zero_terminated(take: Any) -> bytes:
        data = b""
        for _ in range(256):  # bounded: a user id or a name, never longer
            byte = await take(1)
            if byte == b"\0":
                break
            data += byte
        return data

"""The one server a torture run may contact, and the rules for choosing it.

Every connection of a run (attacks and sanity requests alike) goes to the single address
resolved here, so no attack ever reaches anything but the target, even if the name would
resolve elsewhere a second later. Loopback needs nothing; any other address needs
``allow_remote``: only a server you own may be tortured.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import certifi


class TargetError(ValueError):
    """The target cannot be tortured: bad URL, unresolvable, remote without consent, down."""


@dataclass(frozen=True)
class Target:
    url: str  # scheme, host, port and path; never a query string or credentials
    host: str  # as written in the URL: the TLS server name and the Host header
    address: str  # the one IP address every connection goes to
    port: int
    path: str
    ca_file: Path

    @property
    def server_name(self) -> str | None:
        """SNI: a name, never an IP literal (RFC 6066 section 3)."""
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return self.host
        return None

    @property
    def is_loopback(self) -> bool:
        return ipaddress.ip_address(self.address).is_loopback

    @property
    def sockaddr(self) -> tuple[str, int]:
        return (self.address, self.port)

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 443 else f"{host}:{self.port}"

    def connect(self, timeout: float) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self.sockaddr)
        except BaseException:
            sock.close()
            raise
        return sock


def resolve_target(url: str, *, ca_file: str | Path | None = None, allow_remote: bool = False) -> Target:
    """Parse and resolve ``url``; raises :class:`TargetError` with a one-line reason."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme.lower() != "https":
        raise TargetError(f"only https:// URLs can be tortured, not {parts.scheme or 'a bare name'!r}")
    if parts.username or parts.password:
        raise TargetError("the URL carries credentials; torture requests never send any")
    try:
        host, port = parts.hostname, parts.port or 443
    except ValueError as exc:
        raise TargetError(f"bad port in URL: {exc}") from None
    if not host:
        raise TargetError("the URL has no host")
    ca = Path(ca_file) if ca_file is not None else Path(certifi.where())
    if not ca.is_file():
        raise TargetError(f"CA file not found: {ca}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetError(f"cannot resolve {host}: {exc}") from None
    addresses = [info[4][0] for info in infos]
    loopback = [a for a in addresses if ipaddress.ip_address(a).is_loopback]
    if not allow_remote and len(loopback) < len(addresses):
        raise TargetError(
            f"{host} is not loopback ({', '.join(sorted(set(addresses)))}); torture only a server you own, "
            "and say so with --allow-remote"
        )
    path = parts.path or "/"
    return Target(f"https://{parts.netloc.rsplit('@', 1)[-1]}{path}", host, (loopback or addresses)[0], port, path, ca)

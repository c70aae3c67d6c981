"""Misbehaving clients' connections: raw sockets and a scriptable TLS client.

Attacks need what well-behaved clients never do: close with a FIN or an RST at an exact
point, skip close_notify, send a fatal alert, renegotiate. :class:`TlsClient` is
pyOpenSSL on memory BIOs over a socket with a timeout: OpenSSL decides what bytes mean,
we decide when they leave and how the connection ends. Every wait is bounded by the
socket's timeout and every loop by a count.

Attack connections verify the server's chain against the user's CA file too, so that a
handshake ends the way the attack says and not in an accidental alert (only
``alert-after-handshake`` sets up a client that must fail verification: that is its point).
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Literal

from OpenSSL import SSL

from tlsdoctor.openssl_policy import apply_protocol_policy
from tlsdoctor.torture.target import Target

Close = Literal["fin", "rst"]
_CHUNK = 64 * 1024


def close_socket(sock: socket.socket, how: Close) -> None:
    """End a connection with a FIN, or with an RST (SO_LINGER 0).

    The RST matters: a peer's RST that arrives before the server's next write turns that
    write into EPIPE, and into a SIGPIPE that kills a process which does not ignore it.
    """
    try:
        if how == "rst":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        sock.close()


class RateLimit:
    """A cap on new connections per second, shared by every attack of a run (thread-safe)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            time.sleep(delay)


class TlsClient:
    """One client-side TLS connection we script step by step."""

    def __init__(
        self,
        target: Target,
        *,
        version: str | None,
        timeout: float,
        alpn: tuple[bytes, ...] = (b"http/1.1",),
        trust: Path | None | Literal["target"] = "target",
        sock: socket.socket | None = None,
        reject_certificate: bool = False,
    ) -> None:
        ctx = SSL.Context(SSL.TLS_METHOD)
        apply_protocol_policy(ctx, min_version=version, max_version=version)
        # reject_certificate: a client that refuses what it is shown (OpenSSL then sends a
        # fatal alert), for the alert attack only.
        ctx.set_verify(SSL.VERIFY_PEER, (lambda *_: False) if reject_certificate else None)
        ca = target.ca_file if trust == "target" else trust
        if ca is not None:
            ctx.load_verify_locations(str(ca))
        if alpn:
            ctx.set_alpn_protos(list(alpn))
        self.sock = sock if sock is not None else target.connect(timeout)
        self.conn = SSL.Connection(ctx, None)
        self.conn.set_connect_state()
        if target.server_name:
            self.conn.set_tlsext_host_name(target.server_name.encode("idna"))
        # The chain is verified (VERIFY_PEER); the name is not: an attack connection
        # carries nothing to protect, it only must not turn into an alert by accident.

    # -- the TLS state machine, pumped over the socket ----------------------------------

    def _flush(self) -> None:
        out = b""
        for _ in range(1024):
            try:
                out += self.conn.bio_read(_CHUNK)
            except SSL.WantReadError:
                break
        if out:
            self.sock.sendall(out)

    def _fill(self) -> bool:
        data = self.sock.recv(_CHUNK)
        if not data:
            self.conn.bio_shutdown()
            return False
        self.conn.bio_write(data)
        return True

    def _pump(self, step):  # type: ignore[no-untyped-def]
        for _ in range(256):
            try:
                result = step()
            except SSL.WantReadError:
                self._flush()
                if not self._fill():
                    return step()  # let OpenSSL name the EOF (SysCallError / ZeroReturnError)
                continue
            self._flush()
            return result
        raise SSL.Error("too many rounds")

    def handshake(self) -> None:
        self._pump(self.conn.do_handshake)

    @property
    def alpn(self) -> str | None:
        proto = self.conn.get_alpn_proto_negotiated()
        return proto.decode() if proto else None

    @property
    def version(self) -> str:
        return self.conn.get_protocol_version_name()

    def send(self, data: bytes) -> None:
        self.conn.sendall(data)
        self._flush()

    def recv(self) -> bytes:
        """Some plaintext; ``b""`` once the server closed (cleanly or not)."""
        try:
            return self._pump(lambda: self.conn.recv(_CHUNK))
        except (SSL.ZeroReturnError, SSL.SysCallError):
            return b""

    def read_response(self, limit: int = 1 << 20) -> bytes:
        """Read until a whole HTTP/1.1 response (by Content-Length) arrived, or close, or ``limit``."""
        data = b""
        for _ in range(1024):
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = _content_length(head)
                if length is not None and len(body) >= length:
                    return data
            if len(data) >= limit:
                return data
            chunk = self.recv()
            if not chunk:
                return data
            data += chunk
        return data

    def renegotiate(self) -> bool:
        """Ask for a renegotiation (TLS 1.2) and drive it; False when the server refused it."""
        if not self.conn.renegotiate():
            return False
        try:
            self._pump(self.conn.do_handshake)
        except SSL.Error:
            return False
        return True

    def close_notify(self) -> None:
        try:
            self.conn.shutdown()
            self._flush()
        except (SSL.Error, OSError):
            pass

    def drop(self, how: Close) -> None:
        """Close the TCP connection with no close_notify: what curl >= 8.9 does."""
        close_socket(self.sock, how)

    def close(self) -> None:
        self.close_notify()
        close_socket(self.sock, "fin")


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


def http_request(target: Target, method: str = "GET") -> bytes:
    """A minimal, credential-free HTTP/1.1 request for the target's path."""
    return f"{method} {target.path} HTTP/1.1\r\nHost: {target.authority}\r\nUser-Agent: tlsdoctor-torture\r\n\r\n".encode()


def random_bytes(n: int) -> bytes:
    return os.urandom(n)

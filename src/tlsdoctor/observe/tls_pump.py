"""Moving TLS bytes between an asyncio stream and a pyOpenSSL connection over memory BIOs.

The probes drive OpenSSL themselves (the h11 way, as :mod:`tlsdoctor.lab.tls` does for the
lab's servers): OpenSSL decides what the bytes mean, :class:`TlsPump` decides how long to
wait and how much to read, and keeps the server's first bytes (``tap``) so that an alert
OpenSSL leaves unnamed can still be read. :class:`TlsAppStream` is the reader/writer pair an
HTTP exchange expects, as application data over a pumped connection. Every wait has a
deadline; every loop a cap on rounds.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Callable

from OpenSSL import SSL

from tlsdoctor import aio
from tlsdoctor.observe.alerts import alert_from_openssl_reason
from tlsdoctor.socket_stream import read_within

_MAX_ROUNDS = 1024  # reads; a handshake takes a handful
_TAP_BYTES = 64 * 1024  # the server's first bytes, kept to read alerts OpenSSL leaves unnamed
_CHUNK = 64 * 1024
_FLUSH_TIMEOUT = 1.0


class TlsPump:
    """Moves bytes between an asyncio stream and an OpenSSL client until the handshake ends."""

    def __init__(
        self, conn: SSL.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float,
        max_bytes: int, on_sent: Callable[[], object] | None = None,
    ) -> None:
        self.conn = conn
        self.max_bytes = max_bytes
        self._on_sent = on_sent
        self.reader = reader
        self.writer = writer
        self.timeout = timeout
        self.ok = False
        self.error: str | None = None  # "" when OpenSSL failed without a reason string
        self.alert: int | None = None
        self.tap = bytearray()
        self.received = 0
        self.peer_closed = False
        self.reset = False
        self.timed_out = False

    async def drive(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        for _ in range(_MAX_ROUNDS):
            try:
                self.conn.do_handshake()
            except (SSL.WantReadError, SSL.WantWriteError):
                if not await self.flush() or not await self._fill(deadline - loop.time()):
                    return
                continue
            except SSL.ZeroReturnError:
                # A close_notify at warning level, mid-handshake: the server hung up politely.
                self.error, self.alert = "the server sent close_notify during the handshake", 0
            except SSL.SysCallError as exc:
                # pyOpenSSL's (-1, 'Unexpected EOF'): the stream ended with no alert.
                self.error = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
            except SSL.Error as exc:
                self.error = openssl_reason(exc)
                self.alert = alert_from_openssl_reason(self.error)
            else:
                self.ok = True
                return
            await self.flush(quiet=True)  # our own alert, if OpenSSL queued one
            return
        self.error = f"the handshake did not complete in {_MAX_ROUNDS} reads"

    async def flush(self, *, quiet: bool = False) -> bool:
        """Send what OpenSSL queued; False (with the reason recorded) if the peer is gone."""
        chunks = []
        for _ in range(_MAX_ROUNDS):
            try:
                chunks.append(self.conn.bio_read(_CHUNK))
            except SSL.WantReadError:
                break
        if not chunks:
            return True
        try:
            self.writer.write(b"".join(chunks))
            if self._on_sent is not None:
                # Handed to the kernel: the server sees this hello before any connection made now.
                self._on_sent, on_sent = None, self._on_sent
                on_sent()
            await aio.drained(self.writer, _FLUSH_TIMEOUT if quiet else self.timeout)
        except asyncio.TimeoutError:
            if not quiet:
                self.timed_out, self.error = True, f"could not send to the server within {self.timeout:g} s"
            return False
        except (ConnectionError, OSError) as exc:
            if not quiet:
                self.reset, self.error = True, _os_reason(exc)
            return False
        return True

    async def _fill(self, remaining: float) -> bool:
        """Feed the next bytes to OpenSSL; False (with the reason recorded) if none will come."""
        if self.peer_closed:
            self.error = "the server closed the connection"
            return False
        if remaining <= 0:
            self.timed_out, self.error = True, f"the handshake did not complete within {self.timeout:g} s"
            return False
        try:
            data = await read_within(self.reader, _CHUNK, remaining)
        except asyncio.TimeoutError:
            self.timed_out, self.error = True, f"the handshake did not complete within {self.timeout:g} s"
            return False
        except (ConnectionError, OSError) as exc:
            self.reset, self.error = isinstance(exc, ConnectionError), _os_reason(exc)
            return False
        if not data:
            # Let OpenSSL see the EOF: it then says whether an alert came first.
            self.peer_closed = True
            self.conn.bio_shutdown()
            return True
        self.received += len(data)
        if len(self.tap) < _TAP_BYTES:
            self.tap += data[: _TAP_BYTES - len(self.tap)]
        if self.received > self.max_bytes:
            self.error = f"the server sent more than {self.max_bytes} bytes without completing the handshake"
            return False
        self.conn.bio_write(data)
        return True


class TlsAppStream:
    """The reader/writer pair an HTTP exchange expects, as application data over the pyOpenSSL session.

    Errors surface as :class:`OSError` or :class:`ssl.SSLError`, what the HTTP helpers
    catch from asyncio's own TLS streams; the caller's deadline bounds every wait.
    """

    def __init__(self, run: TlsPump) -> None:
        self.run = run

    def write(self, data: bytes) -> None:
        try:
            self.run.conn.sendall(data)  # into the memory BIO: never blocks
        except SSL.Error as exc:
            raise ssl.SSLError(openssl_reason(exc) or "TLS write failed") from None

    async def drain(self) -> None:
        if not await self.run.flush(quiet=True):
            raise ConnectionResetError("the server is gone")

    async def read(self, n: int) -> bytes:
        conn, reader = self.run.conn, self.run.reader
        for _ in range(_MAX_ROUNDS):
            try:
                return conn.recv(n)
            except SSL.WantReadError:
                pass
            except SSL.ZeroReturnError:
                return b""  # close_notify
            except SSL.SysCallError:
                return b""  # the stream ended without close_notify
            except SSL.Error as exc:
                # A fatal alert after the handshake: TLS 1.3's certificate_required comes here.
                raise ssl.SSLError(openssl_reason(exc) or "TLS error after the handshake") from None
            await self.drain()  # TLS 1.3 may answer post-handshake messages
            data = await reader.read(_CHUNK)
            if data:
                conn.bio_write(data)
            else:
                conn.bio_shutdown()
        raise ConnectionError(f"no application data in {_MAX_ROUNDS} reads")


def openssl_reason(exc: SSL.Error) -> str:
    """OpenSSL's reason text from a pyOpenSSL error: the last non-empty one, as Python's ssl reports."""
    if not (exc.args and isinstance(exc.args[0], list)):
        return str(exc)
    reasons = [entry[2] for entry in exc.args[0] if isinstance(entry, tuple) and len(entry) == 3 and entry[2]]
    return str(reasons[-1]) if reasons else ""


def _os_reason(exc: OSError) -> str:
    return exc.strerror.lower() if exc.strerror else (str(exc) or type(exc).__name__)

"""A whole-request deadline for httpx, which has none of its own.

httpx bounds each read and each write, not a request: a server that trickles its answer a
byte a second, or a proxy that does, keeps every single read short and a request alive for
as long as it likes (30 s against a 1.5 s budget, tests/adversarial/test_invalid_answers.py).
The client promises that ``timeout`` is the whole request's budget, fallback included, so
the native stack gives httpcore a network backend whose streams cut every read, write and
TLS handshake to what is left of the calling thread's deadline.

Each request sets the deadline of its own thread (httpx's sync client does its I/O in the
caller's thread), so one backend serves every thread of a shared client.
"""

from __future__ import annotations

import threading
import time
import typing

import httpcore

_monotonic = time.monotonic


class Deadlines(threading.local):
    """The monotonic time each thread's current request must end by (None: no deadline)."""

    at: float | None = None


def _left(deadlines: Deadlines, timeout: float | None, late: type[Exception]) -> float | None:
    at = deadlines.at
    if at is None:
        return timeout
    left = at - _monotonic()
    if left <= 0:
        raise late("the request's whole budget is spent")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadlines: Deadlines) -> None:
        self._inner = inner
        self._deadlines = deadlines

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(self._deadlines, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(self._deadlines, timeout, httpcore.WriteTimeout))

    def start_tls(self, ssl_context: typing.Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname, _left(self._deadlines, timeout,
                                                                        httpcore.ConnectTimeout))
        return _Stream(tls, self._deadlines)

    def close(self) -> None:
        self._inner.close()

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, with every stream bounded by the thread's deadline."""

    def __init__(self, deadlines: Deadlines) -> None:
        self._inner = httpcore.SyncBackend()
        self._deadlines = deadlines

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _left(self._deadlines, timeout, httpcore.ConnectTimeout),
                                         local_address, socket_options)
        return _Stream(stream, self._deadlines)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, _left(self._deadlines, timeout, httpcore.ConnectTimeout),
                                                 socket_options)
        return _Stream(stream, self._deadlines)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

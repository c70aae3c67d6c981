"""Python: ``ssl``, requests, urllib3, httpx/httpcore, aiohttp, pip.

Python's ``ssl`` errors are OpenSSL's words (openssl.py reads them); what Python adds is its
exception names, ``[Errno N] message`` (read by the message, so that ``[Errno 61] Connection
refused`` from a Mac reads as ECONNREFUSED on Linux, where 61 is something else) and
``[WinError 10061]``, and each library's wrappers around them.
"""

from __future__ import annotations

import errno as _errno
import os
import re

from tlsdoctor.explain.recognisers.base import (
    BUNDLE_MISSING, CLOSED, HANDSHAKE_TIMEOUT, NO_ANSWER, NO_NAME, PROXY_UNREACHABLE, REFUSED, RESET, TIMED_OUT, WRAPPER,
    Means, Pattern, Recogniser,
)

_ERRNO_BY_MESSAGE = {os.strerror(number).lower(): name for number, name in _errno.errorcode.items()}
_WINSOCK = {10061: "ECONNREFUSED", 10060: "ETIMEDOUT", 10054: "ECONNRESET", 10065: "EHOSTUNREACH",
            10051: "ENETUNREACH", 10053: "ECONNABORTED"}
_GAI = {-2: NO_NAME, -3: NO_NAME, -5: NO_NAME, 8: NO_NAME, 11001: NO_NAME, 11002: NO_NAME}  # EAI_*, WSAHOST_*


def _errno_bracket(match: re.Match[str]) -> Means | None:
    number = int(match[1])
    message = match[2].strip().rstrip(".:,").lower()
    if "name" in message and ("known" in message or "resolution" in message) or "getaddrinfo" in message:
        return NO_NAME
    name = _ERRNO_BY_MESSAGE.get(message) if message else _errno.errorcode.get(number)
    if name:
        return Means(errno=name)
    return _GAI.get(number)


def _winerror(match: re.Match[str]) -> Means | None:
    number = int(match[1])
    name = _WINSOCK.get(number)
    return Means(errno=name) if name else _GAI.get(number)


def _os_error(match: re.Match[str]) -> Means | None:
    """Rust's "(os error 111)": the number is the platform's errno (or a WSA code)."""
    number = int(match[1])
    name = _WINSOCK.get(number) or _errno.errorcode.get(number)
    return Means(errno=name) if name else None


ERRNO_PATTERNS = (
    Pattern(re.compile(r"\[Errno (-?\d{1,5})\][ \t]{0,4}([^\]'\"\n(]{0,80})"), "[errno", read=_errno_bracket),
    Pattern(re.compile(r"\[WinError (\d{1,5})\]"), "[winerror", read=_winerror),
    Pattern(re.compile(r"\(os error (\d{1,5})\)"), "os error", read=_os_error),
)

RECOGNISER = Recogniser(
    ecosystem="python",
    title="Python (ssl, requests, urllib3, httpx, aiohttp, pip)",
    covers="CPython 3.8–3.13 ssl exceptions, `[Errno N]`/`[WinError N]`, requests/urllib3 2.x wrappers, "
           "httpx/httpcore, aiohttp 3.x ClientConnector*Error, pip's retry and index messages",
    phrases={
        "the handshake operation timed out": HANDSHAKE_TIMEOUT,
        "_ssl.c:1000: the handshake operation timed out": HANDSHAKE_TIMEOUT,
        "eof occurred in violation of protocol": CLOSED,
        "tls/ssl connection has been closed (eof)": CLOSED,
        "connection aborted.', remotedisconnected": NO_ANSWER,
        "remote end closed connection without response": NO_ANSWER,
        "there was a problem confirming the ssl certificate": Means(condition="cert_rejected", trust=WRAPPER),
        "could not find a suitable tls ca certificate bundle": BUNDLE_MISSING,
        "temporary failure in name resolution": NO_NAME,
        "name or service not known": NO_NAME,
        "nodename nor servname provided, or not known": NO_NAME,
        "getaddrinfo failed": NO_NAME,
        "failed to resolve '": NO_NAME,  # urllib3 2's NameResolutionError
        "unable to connect to proxy": PROXY_UNREACHABLE,
        "cannot connect to proxy": PROXY_UNREACHABLE,
        "server disconnected": NO_ANSWER,
    },
    names={
        "SSLZeroReturnError": CLOSED,
        "SSLEOFError": CLOSED,
        "ConnectionResetError": RESET,
        "ConnectionRefusedError": REFUSED,
        "ConnectTimeoutError": TIMED_OUT,
        "ConnectTimeout": TIMED_OUT,
        "NameResolutionError": NO_NAME,
        "gaierror": NO_NAME,
        "ServerDisconnectedError": NO_ANSWER,
        "ClientConnectorCertificateError": Means(condition="cert_rejected", trust=WRAPPER),
        "SSLCertVerificationError": Means(condition="cert_rejected", trust=WRAPPER),
        "ClientProxyConnectionError": PROXY_UNREACHABLE,
        "ProxyError": Means(condition="proxy_failed", trust=WRAPPER),
        "RemoteDisconnected": NO_ANSWER,
    },
    patterns=ERRNO_PATTERNS,
    markers=("traceback (most recent call last)", "requests.exceptions", "urllib3", "httpx", "aiohttp", "pip"),
)

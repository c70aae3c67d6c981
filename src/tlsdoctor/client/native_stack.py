"""The platform stack: httpx with a truststore context, i.e. the OS's own certificate trust.

It stands for what the app used before libcurl: the OS trust store (plus the app's CA
file, so both stacks accept the app's own private CAs), HTTP/1.1. Because its trust
source differs from the curl stack's, a certificate failure on one is worth retrying on
the other.
"""

from __future__ import annotations

import errno as errno_module
import re
import socket
import ssl
import time
from pathlib import Path

import httpx
import truststore

from tlsdoctor.client.deadline import DeadlineBackend, Deadlines
from tlsdoctor.client.errors import ANSWER_LATE, TransportError, transport_error
from tlsdoctor.client.stack import Request, Response


class NativeStack:
    name = "native"

    def __init__(self, *, ca_bundle: str | Path | None = None, proxy: str | None = None,
                 http2: bool = False, connect_timeout: float = 10.0) -> None:
        context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if ca_bundle:
            context.load_verify_locations(cafile=str(ca_bundle))
        self.trust_source = "OS store" + (f" + {ca_bundle}" if ca_bundle else "")
        self._proxied = bool(proxy)  # with a proxy, every TCP connection this stack opens is to the proxy
        self._connect_timeout = connect_timeout
        self._timeouts: dict[float, httpx.Timeout] = {}
        self._client = httpx.Client(verify=context, http2=http2, proxy=proxy, follow_redirects=True,
                                    timeout=httpx.Timeout(30.0, connect=connect_timeout))
        # httpx bounds each read, not a request: the whole budget is enforced by the network
        # backend (client/deadline.py). httpx takes no backend, so its pool gets one (httpcore 1.x).
        self._deadlines = Deadlines()
        for transport in (self._client._transport, *self._client._mounts.values()):
            pool = getattr(transport, "_pool", None)
            if pool is not None:
                pool._network_backend = DeadlineBackend(self._deadlines)

    def send(self, request: Request) -> Response:
        started = time.perf_counter()
        self._deadlines.at = time.monotonic() + request.timeout
        try:
            reply = self._client.request(request.method, request.url, headers=dict(request.headers),
                                         content=request.body, timeout=self._timeout(request.timeout))
        except httpx.HTTPError as exc:
            raise _translate(exc, proxied=self._proxied) from None
        finally:
            self._deadlines.at = None
        total = round((time.perf_counter() - started) * 1000, 2)
        return Response(
            status=reply.status_code,
            headers=tuple((k.lower(), v) for k, v in reply.headers.multi_items()),
            body=reply.content,
            url=str(reply.url),
            stack=self.name,
            http_version="2" if reply.http_version == "HTTP/2" else reply.http_version.removeprefix("HTTP/"),
            timings_ms={"total": total},
        )

    def _timeout(self, seconds: float) -> httpx.Timeout:
        """One ``httpx.Timeout`` per budget, made once (an application uses a handful). Connect
        covers the TLS handshake too (httpcore), so a stalled handshake ends at connect_timeout,
        as on curl."""
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            if len(self._timeouts) >= 64:
                self._timeouts.clear()
            timeout = self._timeouts[seconds] = httpx.Timeout(seconds, connect=min(self._connect_timeout, seconds))
        return timeout

    def close(self) -> None:
        self._client.close()


_LINK_CHARS = 512


# An OS error on connecting: through a proxy, the connection refused or unreachable is the proxy's.
_UNREACHABLE = frozenset({"ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT"})


def _translate(exc: httpx.HTTPError, *, proxied: bool = False) -> TransportError:
    """httpx's exception → the client's one, through the classification table."""
    verify_result = None
    errno_name = None
    tls_error = unresolved = False
    cause: BaseException | None = exc
    # Each link of the chain is cut: a hostile status line must not crowd out the ssl error below it.
    texts = [str(exc)[:_LINK_CHARS]]
    for _ in range(8):  # walk the cause chain (bounded) for the ssl/OS error underneath
        cause = cause.__cause__ or cause.__context__ if cause else None
        if cause is None:
            break
        texts.append(str(cause)[:_LINK_CHARS])
        tls_error = tls_error or isinstance(cause, ssl.SSLError)
        unresolved = unresolved or isinstance(cause, socket.gaierror)  # getaddrinfo's own failure
        if isinstance(cause, ssl.SSLCertVerificationError):
            verify_result = cause.verify_code
        if isinstance(cause, OSError) and cause.errno is not None:
            errno_name = errno_module.errorcode.get(cause.errno)
    message = " | ".join(dict.fromkeys(t for t in texts if t))
    if isinstance(exc, httpx.ReadTimeout):
        message += f" ({ANSWER_LATE})"  # httpcore's TLS handshake is part of connecting: a read times out after it
    connect_status = None
    if isinstance(exc, httpx.ProxyError):
        status = re.search(r"\b([1-5]\d\d)\b", message)
        connect_status = int(status.group(1)) if status else None
        message = f"proxy: {message}"
    sent = isinstance(exc, (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError))
    # httpx's words for an answer that is not HTTP, or none ("Server disconnected without sending a
    # response."), or whose body does not decode, in the shared vocabulary: its texts vary with
    # h11's, h2's and zlib's own.
    condition = "no_http_answer" if isinstance(exc, (httpx.RemoteProtocolError, httpx.DecodingError)) else None
    if isinstance(exc, httpx.ConnectTimeout) and errno_name is None and not tls_error \
            and "handshake" not in message.lower():
        # httpcore's connect covers TCP and TLS; its TLS stall says "handshake operation timed
        # out", and a TCP connect that got no answer only "timed out".
        errno_name = "ETIMEDOUT"
    unreachable = isinstance(exc, httpx.ConnectError) or (isinstance(exc, httpx.ConnectTimeout) and errno_name)
    if proxied and unreachable and errno_name in _UNREACHABLE and not tls_error:
        condition = "proxy_unreachable"  # httpx says "Connection refused", not whose
    elif proxied and isinstance(exc, httpx.ConnectError) and unresolved:
        # Through a proxy the client resolves only the proxy's name (the proxy resolves the
        # origin's, and reports its failure as an HTTP status or a SOCKS reply).
        condition = "proxy_unresolvable"
    return transport_error(message or type(exc).__name__, stack="native", verify_result=verify_result,
                           errno=errno_name, connect_status=connect_status, condition=condition,
                           may_have_reached_server=sent)

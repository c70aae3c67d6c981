"""The libcurl stack (pycurl): HTTP/2 by ALPN, keep-alive, the app's CA file plus the OS store.

Trust is the field's main trap when shipping libcurl: libcurl with OpenSSL reads only the
CA file it is given, so an antivirus or corporate CA that the OS store holds is unknown to
it, and users behind such products get curl 60 where the platform stack works. So this
stack trusts the configured bundle *and* the OS store: through CURLSSLOPT_NATIVE_CA where
libcurl supports it (Windows), and elsewhere by merging the system CA file into the blob
it verifies with. Verification is never turned off.
"""

from __future__ import annotations

import functools
import ssl
import sys
import threading
from pathlib import Path
from typing import Any

import certifi
import pycurl

from tlsdoctor.client.errors import ANSWER_LATE, ANSWER_RESET, AT_PROXY, transport_error
from tlsdoctor.client.origin import origin_of
from tlsdoctor.client.stack import Request, Response

_DEBUG_LIMIT = 16 * 1024
_DEBUG_CHUNKS = 512  # callbacks kept per request: a large download's data chunks must not pile up
_DEBUG_KINDS = frozenset({pycurl.INFOTYPE_TEXT, pycurl.INFOTYPE_HEADER_IN, pycurl.INFOTYPE_HEADER_OUT})
_RESPONSE_CODE = pycurl.RESPONSE_CODE
# Whether anyone but the handle's state still holds its last response: a reference count
# (the state's, the caller's local and getrefcount's argument make 3) costs a third of a weak
# reference per request (bench/client_bench.py). Without getrefcount (not CPython), every
# response counts as held and is settled, which is correct and only slower.
_refcount = getattr(sys, "getrefcount", lambda _: 1 << 30)
_UNHELD = 3
_HTTP_VERSIONS = {pycurl.CURL_HTTP_VERSION_1_0: "1.0", pycurl.CURL_HTTP_VERSION_1_1: "1.1",
                  pycurl.CURL_HTTP_VERSION_2_0: "2"}


def system_ca_file() -> Path | None:
    """The OS store as OpenSSL on this machine reads it (honours SSL_CERT_FILE)."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


class CurlStack:
    name = "curl"

    def __init__(self, *, ca_bundle: str | Path | None = None, trust_os_store: bool = True,
                 proxy: str | None = None, http2: bool = True, connect_timeout: float = 10.0,
                 capture_debug: str | bool = "failures") -> None:
        bundle = Path(ca_bundle) if ca_bundle else Path(certifi.where())
        # libcurl's debug text is what makes a failure readable; captured cheaply (one tuple per
        # callback) and assembled only for failures; on by default (bench/client_bench.py).
        # "failures": verbose only where a failure is likely to happen, i.e. where a connection is
        # set up (the first request to an origin on a handle, and every request after a failure);
        # a warm keep-alive connection runs quiet. libcurl's verbose mode costs ~20% of requests/s
        # against nginx by itself (it formats a line per TLS record), so "always" is opt-in.
        if capture_debug is True:
            capture_debug = "always"
        elif capture_debug is False:
            capture_debug = "never"
        if capture_debug not in ("failures", "always", "never"):
            raise ValueError(f"capture_debug must be failures, always or never, not {capture_debug!r}")
        self._capture_debug = capture_debug
        blob = bundle.read_bytes()
        self._native_ca = False
        os_file = None
        if trust_os_store:
            if sys.platform == "win32":
                self._native_ca = True
            else:
                os_file = system_ca_file()
                if os_file is not None:
                    blob += b"\n" + os_file.read_bytes()
        self._ca_blob = blob
        # Without a merge, libcurl gets the file's path: it then caches the parsed store between
        # connections (CURLOPT_CA_CACHE_TIMEOUT, libcurl >= 7.87), where a blob is parsed again
        # for every new connection (~1 ms of CPU per handshake in bench/client_bench.py).
        self._ca_file = None if os_file is not None else str(bundle)
        self.trust_source = f"{bundle}" + (" + OS store" if trust_os_store else "")
        self._proxy = proxy
        self._http2 = http2
        self._connect_timeout = connect_timeout
        self._local = threading.local()  # a pycurl handle is not thread-safe: one per thread
        self._states: list[_HandleState] = []
        self._lock = threading.Lock()

    def _state(self) -> _HandleState:
        state: _HandleState | None = getattr(self._local, "state", None)
        if state is None:
            state = _HandleState(pycurl.Curl())
            self._configure(state)
            self._local.state = state  # kept alive between requests: connection reuse
            with self._lock:
                self._states.append(state)
        return state

    def _configure(self, state: _HandleState) -> None:
        """What every request on this handle shares, set once: re-setting options per request is
        what made the client cost ~30% of bare pycurl's rate against nginx (bench/client_bench.py)."""
        handle = state.curl
        handle.setopt(pycurl.NOSIGNAL, 1)
        handle.setopt(pycurl.FOLLOWLOCATION, 1)
        handle.setopt(pycurl.MAXREDIRS, 10)
        state.verbose = self._capture_debug != "never"
        handle.setopt(pycurl.VERBOSE, 1 if state.verbose else 0)  # feeds the debug callback only
        handle.setopt(pycurl.HTTP_VERSION,
                      pycurl.CURL_HTTP_VERSION_2TLS if self._http2 else pycurl.CURL_HTTP_VERSION_1_1)
        # Trust: always verifying (peer and host), never a code path that turns it off.
        handle.setopt(pycurl.SSL_VERIFYPEER, 1)
        handle.setopt(pycurl.SSL_VERIFYHOST, 2)
        # The presented chain, which libcurl keeps even when verification fails: a trust failure's
        # report names the CA that signed it (an antivirus, a corporate proxy; report/issuer.py).
        handle.setopt(pycurl.OPT_CERTINFO, 1)
        if self._ca_file is not None:
            handle.setopt(pycurl.CAINFO, self._ca_file)
        else:
            handle.setopt(pycurl.CAINFO_BLOB, self._ca_blob)
        if self._native_ca:
            handle.setopt(pycurl.SSL_OPTIONS, pycurl.SSLOPT_NATIVE_CA)
        if self._proxy is not None:
            handle.setopt(pycurl.PROXY, self._proxy)
            if self._ca_file is not None:
                handle.setopt(pycurl.PROXY_CAINFO, self._ca_file)
            else:
                handle.setopt(pycurl.PROXY_CAINFO_BLOB, self._ca_blob)
        # Callbacks bound once to buffers that live as long as the handle (cleared per request).
        handle.setopt(pycurl.WRITEFUNCTION, state.chunks.append)
        handle.setopt(pycurl.HEADERFUNCTION, state.header_lines.append)
        if self._capture_debug != "never":
            # The cheapest capture there is: one tuple per callback, no decoding, no filtering;
            # the text is only assembled (and redacted, when read) for a failure.
            append, chunks = state.debug.append, state.debug

            def on_debug(kind: int, data: bytes) -> None:
                if len(chunks) < _DEBUG_CHUNKS:
                    append((kind, data))

            handle.setopt(pycurl.DEBUGFUNCTION, on_debug)

    def send(self, request: Request) -> Response:
        # The hot path (bench/client_bench.py): every line here runs once per request, so the
        # common case (the very Request the handle last succeeded with, on a warm connection, quiet)
        # is one identity check, one perform and one getinfo; everything else is in _prepare.
        try:
            state: _HandleState = self._local.state
        except AttributeError:
            state = self._state()
        last = state.last
        if last is not None and _refcount(last) > _UNHELD:
            state.settle_last()  # held by someone: its facts leave the handle before it is reused
        if state.debug:
            state.debug.clear()
        ready = request is state.ready
        if not ready:
            self._prepare(state, request)
        try:
            state.curl.perform()
        except pycurl.error as exc:
            state.ready = state.warm_origin = state.last = None
            state.chunks.clear()
            state.header_lines.clear()
            raise self._failure(state, request, exc) from None
        if not ready:
            self._succeeded(state, request)
        # The response, built inline (a helper's call was measurable here): status and copies of
        # body and header lines now, the rest from the handle when read (see _CurlResponse).
        response = _new(_CurlResponse)
        fields = response.__dict__
        fields["status"] = state.curl.getinfo(_RESPONSE_CODE)
        fields["body"] = b"".join(state.chunks)  # one chunk (a small body): that very object, no copy
        state.chunks.clear()
        fields["_header_lines"] = tuple(state.header_lines)
        state.header_lines.clear()
        fields["_state"] = state
        state.last = response
        return response

    def _prepare(self, state: _HandleState, request: Request) -> None:
        """Bring the handle to ``request``: its options, and libcurl's verbose mode where a
        connection may be set up. Runs for any request but a repeat of the last success's."""
        if (request.url != state.url or request.method != state.method or request.body is not None
                or state.had_body or request.timeout != state.timeout or request.headers != state.headers):
            self._apply(state, request)
        if self._capture_debug == "failures":
            # Verbose only where a connection is set up: a new origin, or any request after a failure.
            verbose = origin_of(request.url) != state.warm_origin
            if verbose != state.verbose:
                state.curl.setopt(pycurl.VERBOSE, 1 if verbose else 0)
                state.verbose = verbose

    def _succeeded(self, state: _HandleState, request: Request) -> None:
        """After a success: the origin is warm, and a repeat of this request, if libcurl is quiet
        (or its verbosity never changes), needs nothing from :meth:`_prepare`."""
        state.warm_origin = origin_of(request.url)
        state.ready = request if not (state.verbose and self._capture_debug == "failures") else None

    def _apply(self, state: _HandleState, request: Request) -> None:
        """Set what differs from the handle's previous request (and only that)."""
        handle = state.curl
        if request.url != state.url:
            handle.setopt(pycurl.URL, request.url)
            state.url = request.url
        method = request.method.upper()
        if method != state.method or request.body is not None or state.had_body:
            # The handle is reused, so a request states its method fully: GET resets a past POST.
            handle.setopt(pycurl.HTTPGET, 1)
            handle.setopt(pycurl.NOBODY, 1 if method == "HEAD" else 0)
            if request.body is not None:
                handle.setopt(pycurl.POSTFIELDS, request.body)
            if method in ("GET", "HEAD") or (method == "POST" and request.body is not None):
                handle.unsetopt(pycurl.CUSTOMREQUEST)
            else:
                handle.setopt(pycurl.CUSTOMREQUEST, method)
            # Stored as the request spelled it, so the hot path's comparison needs no upper().
            state.method, state.had_body = request.method, request.body is not None
        if request.headers != state.headers:
            handle.setopt(pycurl.HTTPHEADER, [f"{k}: {v}" for k, v in request.headers.items()])
            state.headers = dict(request.headers)
        if request.timeout != state.timeout:
            handle.setopt(pycurl.TIMEOUT_MS, max(1, int(request.timeout * 1000)))
            handle.setopt(pycurl.CONNECTTIMEOUT_MS,
                          max(1, int(min(self._connect_timeout, request.timeout) * 1000)))
            state.timeout = request.timeout

    def _failure(self, state: _HandleState, request: Request, exc: pycurl.error) -> Exception:
        handle = state.curl
        code, message = exc.args[0], exc.args[1]
        verify = handle.getinfo(pycurl.SSL_VERIFYRESULT) if code == 60 else None
        if code == 60 and not verify and self._proxy and handle.getinfo(pycurl.PROXY_SSL_VERIFYRESULT):
            # The server was never reached: the HTTPS proxy's own certificate failed.
            verify = handle.getinfo(pycurl.PROXY_SSL_VERIFYRESULT)
            message += f" ({AT_PROXY})"
        connected = handle.getinfo(pycurl.CONNECT_TIME) > 0
        https = request.url.startswith("https:")
        # Whether the request was on its way: TCP up, and TLS too for https. Not PRETRANSFER_TIME
        # alone: libcurl 8 sets it on a connect that timed out too (to the whole time spent).
        started_transfer = connected and (not https or handle.getinfo(pycurl.APPCONNECT_TIME) > 0) \
            and handle.getinfo(pycurl.PRETRANSFER_TIME) > 0
        if code == 28 and connected and https and handle.getinfo(pycurl.APPCONNECT_TIME) == 0:
            # TCP was up and TLS never finished: libcurl's text does not say which phase stalled.
            message += " (TCP connected; the TLS handshake timed out)"
        elif code == 28 and started_transfer:
            message += f" ({ANSWER_LATE})"  # connected, TLS done, request on its way: the answer was late
        elif code in (55, 56) and ("reset" in message.lower() or "broken pipe" in message.lower()) and started_transfer:
            message += f" ({ANSWER_RESET})"  # "Recv failure: Connection reset by peer" after TLS: not tcp.reset
        return transport_error(message, stack=self.name, curl_code=code, verify_result=verify,
                               debug=_debug_text(state.debug), may_have_reached_server=started_transfer,
                               presented_chain=_presented_chain(handle) if code == 60 else ())

    def close(self) -> None:
        with self._lock:
            for state in self._states:
                state.settle_last()  # a response still held keeps its URL, version and timings
                state.curl.close()
            self._states.clear()


def _presented_chain(handle: pycurl.Curl) -> tuple[dict[str, str], ...]:
    """What CURLINFO_CERTINFO holds of the chain the peer presented, bounded (report/issuer.py
    keeps the names and PEM of the first certificates; the reporter's thread parses them)."""
    from tlsdoctor.client.report.issuer import keep_chain

    try:
        return keep_chain(handle.getinfo(pycurl.INFO_CERTINFO))
    except pycurl.error:
        return ()


def _parse_headers(lines: tuple[bytes, ...]) -> tuple[tuple[str, str], ...]:
    """The last response's headers (redirects and 1xx responses come first). Bytes operations,
    one decode per field: this runs for every response whose headers are read."""
    start = 0
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith(b"HTTP/"):
            start = index + 1
            break
    headers = []
    for raw in lines[start:]:
        name, colon, value = raw.partition(b":")
        if colon:
            headers.append((name.strip().lower().decode("latin-1"), value.strip().decode("latin-1")))
    return tuple(headers)


_new = object.__new__


class _CurlResponse(Response):
    """A :class:`Response` whose headers, final URL, HTTP version and timings are shaped on first
    access.

    Per request, the handle is asked only for the status (each ``getinfo`` is ~0.5-1.5 us of
    Python call, and seven of them were a fifth of the client's own CPU against nginx,
    bench/client_bench.py). The other facts stay in the handle until someone reads them, or
    until the handle's thread sends its next request: :meth:`_HandleState.settle_last` then
    copies them out first, if anyone else still holds this response (its reference count tells;
    a response nobody holds any more costs nothing). Body and raw header lines are copied at once.
    Properties on the class take precedence over the dataclass's instance attributes, so
    equality, ``repr`` and ``dataclasses.replace`` see the shaped values.
    """

    def __init__(self, status: int, headers: tuple[tuple[str, str], ...] | None = None, body: bytes = b"",
                 url: str = "", stack: str = "curl", http_version: str = "1.1",
                 timings_ms: dict[str, float] | None = None, *, header_lines: tuple[bytes, ...] = (),
                 seconds: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)) -> None:
        # Built from values (dataclasses.replace passes every field): nothing left in a handle.
        fields = {"status": status, "body": body, "stack": stack, "_header_lines": header_lines,
                  "_facts": (url, http_version, seconds), "_state": None}
        if headers is not None:
            fields["headers"] = headers
        if timings_ms is not None:
            fields["timings_ms"] = timings_ms
        self.__dict__.update(fields)

    # What every curl response shares, as class attributes: not stored per response.
    stack = "curl"
    _facts: tuple[str, str, tuple[float, float, float, float]] | None = None

    def _handle_facts(self) -> tuple[str, str, tuple[float, float, float, float]]:
        fields = self.__dict__
        facts = fields.get("_facts")
        if facts is None:
            state = fields["_state"]
            with state.lock:  # against the handle's thread settling this response at the same moment
                if fields.get("_facts") is None:
                    # Still unsettled, so the handle has not been reused since this response.
                    fields["_facts"] = _read_facts(state.curl)
            facts = fields["_facts"]
        return facts

    def _settle(self) -> None:
        """Called with the state's lock held, before the handle is reused or closed."""
        fields = self.__dict__
        if fields.get("_facts") is None:
            fields["_facts"] = _read_facts(fields["_state"].curl)

    @functools.cached_property
    def headers(self) -> tuple[tuple[str, str], ...]:  # type: ignore[override]
        return _parse_headers(self.__dict__["_header_lines"])

    @functools.cached_property
    def url(self) -> str:  # type: ignore[override]
        return self._handle_facts()[0]

    @functools.cached_property
    def http_version(self) -> str:  # type: ignore[override]
        return self._handle_facts()[1]

    @functools.cached_property
    def timings_ms(self) -> dict[str, float]:  # type: ignore[override]
        dns, connect, tls, total = self._handle_facts()[2]
        return {"dns": round(dns * 1000, 2), "connect": round(connect * 1000, 2), "tls": round(tls * 1000, 2),
                "total": round(total * 1000, 2)}

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # A plain Response: the handle state (a lock, a pycurl handle) does not travel.
        return Response, (self.status, self.headers, self.body, self.url, self.stack, self.http_version,
                          dict(self.timings_ms))


def _read_facts(handle: pycurl.Curl) -> tuple[str, str, tuple[float, float, float, float]]:
    info = handle.getinfo
    return (info(pycurl.EFFECTIVE_URL), _HTTP_VERSIONS.get(info(pycurl.INFO_HTTP_VERSION), "1.1"),
            (info(pycurl.NAMELOOKUP_TIME), info(pycurl.CONNECT_TIME), info(pycurl.APPCONNECT_TIME),
             info(pycurl.TOTAL_TIME)))


class _HandleState:
    """One thread's pycurl handle, the buffers its callbacks fill, and the options last set on it."""

    __slots__ = ("curl", "chunks", "header_lines", "debug", "url", "method", "had_body", "headers", "timeout",
                 "verbose", "warm_origin", "last", "lock", "ready")

    def __init__(self, curl: pycurl.Curl) -> None:
        self.curl = curl
        self.chunks: list[bytes] = []  # the body as libcurl hands it over
        self.header_lines: list[bytes] = []
        self.debug: list[tuple[int, bytes]] = []
        self.url: str | None = None
        self.method: str | None = None
        self.had_body = False
        self.headers: dict[str, str] | None = None
        self.timeout: float | None = None
        self.verbose = False
        self.warm_origin: str | None = None  # the last request here succeeded on this origin
        self.last: _CurlResponse | None = None  # the last response: its facts are still in the handle
        self.lock = threading.Lock()
        # The last successful Request, when repeating it needs no option and no verbosity change:
        # the client hands the very same object for identical requests (client.py), so the hot
        # path's only check is ``is``.
        self.ready: Request | None = None

    def settle_last(self) -> None:
        """Copy the last response's facts out of the handle, which is about to be reused or closed."""
        response, self.last = self.last, None
        if response is not None:
            with self.lock:
                response._settle()


def _debug_text(chunks: list[tuple[int, bytes]]) -> str:
    """libcurl's informational lines and headers (not bodies, not TLS records), bounded; raw:
    :attr:`TransportError.debug` redacts it when someone reads it."""
    kept, size = [], 0
    for kind, data in chunks:
        if kind in _DEBUG_KINDS and size < _DEBUG_LIMIT:
            kept.append(data[:2048])
            size += len(data)
    return b"".join(kept).decode("utf-8", errors="replace")[:_DEBUG_LIMIT]

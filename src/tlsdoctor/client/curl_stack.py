"""The libcurl stack (pycurl): HTTP/2 by ALPN, keep-alive, the app's CA file plus the OS store.

Trust is the field's main trap when shipping libcurl: libcurl with OpenSSL reads only the
CA file it is given, so an antivirus or corporate CA that the OS store holds is unknown to
it, and users behind such products get curl 60 where the platform stack works. So this
stack trusts the configured bundle *and* the OS store: through CURLSSLOPT_NATIVE_CA where
libcurl supports it (Windows), and elsewhere by merging the system CA file into the blob
it verifies with. Verification is never turned off.
"""

from __future__ import annotations

import io
import ssl
import sys
import threading
from pathlib import Path

import certifi
import pycurl

from tlsdoctor.client.errors import transport_error
from tlsdoctor.client.stack import Request, Response
from tlsdoctor.observe.curl import http_version_name, timings_ms

_DEBUG_LIMIT = 16 * 1024


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
                 capture_debug: bool = True) -> None:
        bundle = Path(ca_bundle) if ca_bundle else Path(certifi.where())
        # libcurl's debug text is what makes a failure report readable, but producing it
        # costs ~5% of requests/s on a fast network (bench/client_bench.py): on by default.
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
        self.trust_source = f"{bundle}" + (" + OS store" if trust_os_store else "")
        self._proxy = proxy
        self._http2 = http2
        self._connect_timeout = connect_timeout
        self._local = threading.local()  # a pycurl handle is not thread-safe: one per thread
        self._handles: list[pycurl.Curl] = []
        self._lock = threading.Lock()

    def _handle(self) -> pycurl.Curl:
        handle = getattr(self._local, "handle", None)
        if handle is None:
            handle = pycurl.Curl()
            self._configure(handle)
            self._local.handle = handle  # kept alive between requests: connection reuse
            with self._lock:
                self._handles.append(handle)
        return handle

    def _configure(self, handle: pycurl.Curl) -> None:
        """What every request on this handle shares, set once (re-setting it per request cost ~10%)."""
        handle.setopt(pycurl.NOSIGNAL, 1)
        handle.setopt(pycurl.FOLLOWLOCATION, 1)
        handle.setopt(pycurl.MAXREDIRS, 10)
        handle.setopt(pycurl.VERBOSE, 1 if self._capture_debug else 0)  # feeds the debug callback only
        handle.setopt(pycurl.HTTP_VERSION,
                      pycurl.CURL_HTTP_VERSION_2TLS if self._http2 else pycurl.CURL_HTTP_VERSION_1_1)
        # Trust: always verifying (peer and host), never a code path that turns it off.
        handle.setopt(pycurl.SSL_VERIFYPEER, 1)
        handle.setopt(pycurl.SSL_VERIFYHOST, 2)
        handle.setopt(pycurl.CAINFO_BLOB, self._ca_blob)
        if self._native_ca:
            handle.setopt(pycurl.SSL_OPTIONS, pycurl.SSLOPT_NATIVE_CA)
        if self._proxy is not None:
            handle.setopt(pycurl.PROXY, self._proxy)
            handle.setopt(pycurl.PROXY_CAINFO_BLOB, self._ca_blob)

    def send(self, request: Request) -> Response:
        handle = self._handle()
        body, header_lines, debug = io.BytesIO(), [], []
        debug_size = [0]

        def on_debug(kind: int, data: bytes) -> None:
            if kind in (pycurl.INFOTYPE_TEXT, pycurl.INFOTYPE_HEADER_IN, pycurl.INFOTYPE_HEADER_OUT) \
                    and debug_size[0] < _DEBUG_LIMIT:
                debug.append(data[:2048])
                debug_size[0] += len(data)

        method = request.method.upper()
        handle.setopt(pycurl.URL, request.url)
        # The handle is reused, so each request states its method fully: GET resets a past POST.
        handle.setopt(pycurl.HTTPGET, 1)
        handle.setopt(pycurl.NOBODY, 1 if method == "HEAD" else 0)
        if request.body is not None:
            handle.setopt(pycurl.POSTFIELDS, request.body)
        if method in ("GET", "HEAD") or (method == "POST" and request.body is not None):
            handle.unsetopt(pycurl.CUSTOMREQUEST)
        else:
            handle.setopt(pycurl.CUSTOMREQUEST, method)
        handle.setopt(pycurl.HTTPHEADER, [f"{k}: {v}" for k, v in request.headers.items()])
        handle.setopt(pycurl.WRITEDATA, body)
        handle.setopt(pycurl.HEADERFUNCTION, header_lines.append)
        handle.setopt(pycurl.DEBUGFUNCTION, on_debug)
        handle.setopt(pycurl.TIMEOUT_MS, int(request.timeout * 1000))
        handle.setopt(pycurl.CONNECTTIMEOUT_MS, int(min(self._connect_timeout, request.timeout) * 1000))
        try:
            handle.perform()
        except pycurl.error as exc:
            code, message = exc.args[0], exc.args[1]
            verify = handle.getinfo(pycurl.SSL_VERIFYRESULT) if code == 60 else None
            if code == 28 and handle.getinfo(pycurl.CONNECT_TIME) > 0 and handle.getinfo(pycurl.APPCONNECT_TIME) == 0 \
                    and request.url.startswith("https:"):
                # TCP was up and TLS never finished: libcurl's text does not say which phase stalled.
                message += " (TCP connected; the TLS handshake timed out)"
            started_transfer = handle.getinfo(pycurl.PRETRANSFER_TIME) > 0
            raise transport_error(message, stack=self.name, curl_code=code, verify_result=verify,
                                  debug=_debug_text(debug), may_have_reached_server=started_transfer) from None
        return Response(
            status=handle.getinfo(pycurl.RESPONSE_CODE),
            headers=_parse_headers(header_lines),
            body=body.getvalue(),
            url=handle.getinfo(pycurl.EFFECTIVE_URL),
            stack=self.name,
            http_version=http_version_name(handle) or "1.1",
            timings_ms=timings_ms(handle),
        )

    def close(self) -> None:
        with self._lock:
            for handle in self._handles:
                handle.close()
            self._handles.clear()


def _parse_headers(lines: list[bytes]) -> tuple[tuple[str, str], ...]:
    """The last response's headers (redirects and 1xx responses come first)."""
    block: list[tuple[str, str]] = []
    for raw in lines:
        line = raw.decode("iso-8859-1").rstrip("\r\n")
        if line.startswith("HTTP/"):
            block = []
        elif ":" in line:
            name, _, value = line.partition(":")
            block.append((name.strip().lower(), value.strip()))
    return tuple(block)


def _debug_text(chunks: list[bytes]) -> str:
    """The raw debug text; :attr:`TransportError.debug` redacts it when someone reads it."""
    return b"".join(chunks).decode("utf-8", errors="replace")[:_DEBUG_LIMIT]

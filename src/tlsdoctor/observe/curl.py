"""What libcurl says: one real pycurl request, recorded as facts.

Field reports quote libcurl ("curl: (35)", "curl 60"), so the most useful single
observation is what libcurl itself returns for the same URL, trust and proxy. This probe
makes one request (HEAD by default: credential-free, bodiless) with verification *on*,
and records the curl code, libcurl's error text, OpenSSL's verify result, the HTTP
status and version, and timings. It judges nothing.
"""

from __future__ import annotations

import io
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

from tlsdoctor.records import record

if TYPE_CHECKING:
    import pycurl

# pycurl (and libcurl with it) is imported on first use, not with this module: the
# result types are needed by every command that reads diagnoses, the library only by the
# one attempt, which runs in a worker thread while the other probes wait on the network.
_TLS_MAX = {"1.0": "SSLVERSION_MAX_TLSv1_0", "1.1": "SSLVERSION_MAX_TLSv1_1",
            "1.2": "SSLVERSION_MAX_TLSv1_2", "1.3": "SSLVERSION_MAX_TLSv1_3"}
_HTTP_VERSIONS = {
    "2": "CURL_HTTP_VERSION_2TLS",  # h2 by ALPN, HTTP/1.1 when the server declines
    "1.1": "CURL_HTTP_VERSION_1_1",
}


@record
class CurlAttempt:
    """How to make the attempt: the trust and route a client of the app would use."""

    url: str
    ca_file: Path | None = None
    proxy: str | None = None
    crl_file: Path | None = None
    cert_status: bool = False  # require a stapled OCSP response (curl --cert-status)
    max_tls: str | None = None
    http_version: str = "2"
    method: str = "HEAD"
    timeout: float = 5.0
    connect_timeout: float = 3.0
    resolve: tuple[str, ...] = ()  # CURLOPT_RESOLVE entries, "HOST:PORT:ADDR[,ADDR]" (curl --resolve)


@record
class CurlResult:
    """What libcurl reported."""

    curl_code: int
    error: str
    verify_result: int | None
    http_status: int | None
    http_version: str | None
    elapsed_ms: float
    timings_ms: dict[str, float] = field(default_factory=dict)
    # The answer's Date and Server headers, as sent (the origin's, not a proxy's CONNECT
    # answer): with an answer over the protocol ALPN chose, the diagnosis needs no HEAD of its own.
    date_header: str | None = None
    server_header: str | None = None
    redirect_url: str | None = None  # where a 3xx leads (libcurl's CURLINFO_REDIRECT_URL, not followed)

    @property
    def ok(self) -> bool:
        return self.curl_code == 0


def curl_attempt(attempt: CurlAttempt) -> CurlResult:
    """Run one request through libcurl. Never raises for network outcomes."""
    import pycurl

    handle = pycurl.Curl()
    body = io.BytesIO()
    headers = _Headers()
    try:
        handle.setopt(pycurl.URL, attempt.url)
        handle.setopt(pycurl.HEADERFUNCTION, headers.line)
        handle.setopt(pycurl.NOSIGNAL, 1)
        handle.setopt(pycurl.TIMEOUT_MS, int(attempt.timeout * 1000))
        handle.setopt(pycurl.CONNECTTIMEOUT_MS, int(attempt.connect_timeout * 1000))
        handle.setopt(pycurl.WRITEDATA, body)
        handle.setopt(pycurl.HTTP_VERSION, getattr(pycurl, _HTTP_VERSIONS[attempt.http_version]))
        # The environment must not decide the route or trust behind our back.
        handle.setopt(pycurl.PROXY, attempt.proxy or "")
        handle.setopt(pycurl.NOPROXY, "" if attempt.proxy else "*")
        if attempt.resolve:
            handle.setopt(pycurl.RESOLVE, list(attempt.resolve))
        if attempt.method == "HEAD":
            handle.setopt(pycurl.NOBODY, 1)
        elif attempt.method != "GET":
            handle.setopt(pycurl.CUSTOMREQUEST, attempt.method)
        if attempt.ca_file is not None:
            handle.setopt(pycurl.CAINFO, str(attempt.ca_file))
            handle.setopt(pycurl.CAPATH, "")
        if attempt.proxy:
            # An intercepting proxy presents its own chain: the same trust applies to it.
            handle.setopt(pycurl.PROXY_CAINFO, str(attempt.ca_file)) if attempt.ca_file else None
        if attempt.crl_file is not None:
            handle.setopt(pycurl.CRLFILE, str(attempt.crl_file))
        if attempt.cert_status:
            handle.setopt(pycurl.SSL_VERIFYSTATUS, 1)
        if attempt.max_tls:
            handle.setopt(pycurl.SSLVERSION, pycurl.SSLVERSION_DEFAULT | getattr(pycurl, _TLS_MAX[attempt.max_tls]))
        code, error = 0, ""
        try:
            handle.perform()
        except pycurl.error as exc:
            code, error = exc.args[0], exc.args[1]
        return _result(handle, code, error, headers)
    finally:
        handle.close()


class _Headers:
    """Keeps the Date and Server of the last response head (a proxy's CONNECT answer comes first)."""

    _MAX_LINES = 200  # a hostile server's endless head costs nothing past this

    def __init__(self) -> None:
        self.date: str | None = None
        self.server: str | None = None
        self.lines = 0

    def line(self, raw: bytes) -> None:
        self.lines += 1
        if self.lines > self._MAX_LINES:
            return
        if raw.startswith(b"HTTP/"):
            self.date = self.server = None  # a new response head
            return
        name, sep, value = raw.partition(b":")
        if not sep:
            return
        key = name.strip().lower()
        if key == b"date":
            self.date = value.strip()[:100].decode("latin-1")
        elif key == b"server":
            self.server = value.strip()[:200].decode("latin-1")


_VERSION_NAMES = {"CURL_HTTP_VERSION_1_0": "1.0", "CURL_HTTP_VERSION_1_1": "1.1", "CURL_HTTP_VERSION_2_0": "2"}


def http_version_name(handle: pycurl.Curl) -> str | None:
    """The HTTP version of the last transfer, as tlsdoctor writes it ("1.1", "2")."""
    import pycurl

    version = handle.getinfo(pycurl.INFO_HTTP_VERSION)
    return next((name for const, name in _VERSION_NAMES.items() if getattr(pycurl, const) == version), None)


def timings_ms(handle: pycurl.Curl) -> dict[str, float]:
    """libcurl's cumulative phase times of the last transfer, in milliseconds."""
    import pycurl

    return {
        "dns": round(handle.getinfo(pycurl.NAMELOOKUP_TIME) * 1000, 2),
        "connect": round(handle.getinfo(pycurl.CONNECT_TIME) * 1000, 2),
        "tls": round(handle.getinfo(pycurl.APPCONNECT_TIME) * 1000, 2),
        "total": round(handle.getinfo(pycurl.TOTAL_TIME) * 1000, 2),
    }


def _result(handle: pycurl.Curl, code: int, error: str, headers: _Headers | None = None) -> CurlResult:
    import pycurl

    status = handle.getinfo(pycurl.RESPONSE_CODE) or None
    timings = timings_ms(handle)
    return CurlResult(
        curl_code=code,
        error=error,
        verify_result=handle.getinfo(pycurl.SSL_VERIFYRESULT),
        http_status=status,
        http_version=http_version_name(handle) if status else None,
        elapsed_ms=timings["total"],
        timings_ms=timings,
        date_header=headers.date if headers is not None and status else None,
        server_header=headers.server if headers is not None and status else None,
        redirect_url=_redirect(handle) if status and 300 <= status < 400 else None,
    )


def _redirect(handle: "pycurl.Curl") -> str | None:
    import pycurl

    from tlsdoctor.observe.route import redirect_target

    url = handle.getinfo(pycurl.REDIRECT_URL)
    return redirect_target(url, url) if url else None

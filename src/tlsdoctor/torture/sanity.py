"""The sanity request: one fresh, correct HTTPS request through libcurl, verification on.

tlsfuzzer ends every conversation with a sanity conversation that must still succeed;
the field case's test was four requests in a row. Torture makes one of these after every
round of every attack (and while held attacks hold), on a new connection each time (a
reused one would hide a server that only fails new clients), pinned to the target's one
address, with the user's CA file, never through a proxy. Bodies are read up to a bound and
only their digest is kept: the report never carries a body.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import pycurl

from tlsdoctor.observe.curl import http_version_name
from tlsdoctor.torture.target import Target

MAX_BODY = 1 << 20  # bytes digested per response; the rest is read and counted


@dataclass(frozen=True)
class SanityResult:
    """What one sanity request got. Judged later, against the baseline."""

    curl_code: int
    error: str
    status: int | None
    body_sha256: str | None
    latency: float  # seconds, wall time of the whole request
    http_version: str | None
    at: float  # time.monotonic() when it finished

    @property
    def answered(self) -> bool:
        return self.curl_code == 0 and self.status is not None

    def to_dict(self) -> dict[str, object]:
        return {
            "curl_code": self.curl_code,
            "error": self.error or None,
            "status": self.status,
            "latency_ms": round(self.latency * 1000, 2),
            "http_version": self.http_version,
        }


def sanity_request(target: Target, timeout: float) -> SanityResult:
    """One GET of the target URL on a new connection. Never raises for network outcomes."""
    handle = pycurl.Curl()
    digest = hashlib.sha256()
    received = 0

    def write(chunk: bytes) -> None:
        nonlocal received
        if received < MAX_BODY:
            digest.update(chunk[: MAX_BODY - received])
        received += len(chunk)

    try:
        handle.setopt(pycurl.URL, target.url)
        handle.setopt(pycurl.NOSIGNAL, 1)
        handle.setopt(pycurl.TIMEOUT_MS, int(timeout * 1000))
        handle.setopt(pycurl.CONNECTTIMEOUT_MS, int(timeout * 1000))
        handle.setopt(pycurl.FORBID_REUSE, 1)
        handle.setopt(pycurl.FRESH_CONNECT, 1)
        # The one address of the run, whatever DNS says now; never a proxy.
        handle.setopt(pycurl.RESOLVE, [f"{target.host.strip('[]')}:{target.port}:{target.address}"])
        handle.setopt(pycurl.PROXY, "")
        handle.setopt(pycurl.NOPROXY, "*")
        handle.setopt(pycurl.CAINFO, str(target.ca_file))
        handle.setopt(pycurl.CAPATH, "")
        handle.setopt(pycurl.WRITEFUNCTION, write)
        handle.setopt(pycurl.USERAGENT, "tlsdoctor-torture sanity")
        code, error = 0, ""
        begin = time.perf_counter()
        try:
            handle.perform()
        except pycurl.error as exc:
            code, error = exc.args[0], exc.args[1]
        latency = time.perf_counter() - begin
        status = handle.getinfo(pycurl.RESPONSE_CODE) or None
        return SanityResult(
            curl_code=code,
            error=error,
            status=status,
            body_sha256=digest.hexdigest() if code == 0 else None,
            latency=latency,
            http_version=http_version_name(handle) if status else None,
            at=time.monotonic(),
        )
    finally:
        handle.close()

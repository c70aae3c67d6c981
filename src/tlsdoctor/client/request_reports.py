"""What a :class:`~tlsdoctor.client.Client` reports about its own requests.

The client files a ``tlsdoctor.report/1`` event for every failure, fallback, sampled success
and shadow validation (:mod:`.report` builds, scrubs and delivers them). This module holds the
client's side of that: the raw facts of one request's outcome, taken on the request thread
(:func:`pending_report`; scrubbing waits for the reporter's thread), the machine's facts every
event carries (:func:`environment_facts`), the install id as reports carry it
(:func:`salted_install_id`), and :class:`BackgroundDiagnoses`, which can replace a failure's
first reading with a diagnosis's verdict before the event is delivered.
"""

from __future__ import annotations

import os
import platform
import threading
from typing import TYPE_CHECKING, Any, Callable, Mapping

from tlsdoctor import __version__

if TYPE_CHECKING:
    from tlsdoctor.client.errors import TransportError
    from tlsdoctor.client.report import PendingReport
    from tlsdoctor.client.stack import Request, Response

_PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def salted_install_id(install_id: str) -> str:
    """The install id as reports and usage documents carry it: salted and hashed, so reports
    cannot be joined with anything else that might hold the raw id (the rollout's hashing
    attribute). The fleet simulator uses it too."""
    import hashlib

    return hashlib.sha256(b"tlsdoctor.report/1:" + install_id.encode()).hexdigest()[:16]


def environment_facts(*, proxy: str | None, with_curl: bool) -> dict[str, Any]:
    """The machine's facts for reports. They do not change while the process runs: the client
    computes them once and hands each event a copy."""
    env_proxy = next((name for name in _PROXY_VARIABLES if os.environ.get(name)), None)
    tls_library = libcurl = None
    if with_curl:
        try:
            import pycurl

            curl = pycurl.version_info()
            tls_library, libcurl = curl[5], curl[1]
        except Exception:  # noqa: BLE001 - the facts are optional, the report is not
            pass
    return {
        "proxy_configured": bool(proxy or env_proxy),
        "proxy_source": "option" if proxy else (f"env:{env_proxy}" if env_proxy else None),
        "os": f"{platform.system()}-{platform.release()}",
        "tls_library": tls_library,
        "libcurl": libcurl,
        "clock_offset_s": None,
        "tlsdoctor": __version__,
    }


def pending_report(kind: str, stack: str, cohort: Mapping[str, Any] | None, request: Request, *,
                   error: TransportError | None, fallback: dict[str, Any] | None, response: Response | None,
                   environment: dict[str, Any], install: str, app_version: str) -> PendingReport:
    """One request's outcome as raw facts: building and scrubbing happen on the reporter's thread."""
    from tlsdoctor.client.report import PendingReport

    if error is not None:
        outcome = {"ok": False, "code": error.code, "curl_code": error.curl_code, "nel_type": error.nel_type,
                   "message": error.message, "presented_chain": error.presented_chain}
    else:
        outcome = {"ok": True, "code": "ok", "curl_code": 0, "nel_type": "ok",
                   "message": f"HTTP {response.status}" if response else ""}
    return PendingReport(
        kind=kind, stack=stack, cohort=dict(cohort) if cohort is not None else None, method=request.method,
        url=request.url, http_version=response.http_version if response else None, outcome=outcome,
        fallback=fallback, environment=environment, timings_ms=dict(response.timings_ms) if response else {},
        install=install, app_version=app_version,
    )


def unavailable_report(stack: str, message: str, *, environment: dict[str, Any], install: str,
                       app_version: str) -> PendingReport:
    """The one ``failure`` report for a stack whose library did not load, with the loader's text."""
    from tlsdoctor.client.report import PendingReport

    return PendingReport(
        kind="failure", stack=stack, cohort=None, method="OTHER", url="", http_version=None,
        outcome={"ok": False, "code": None, "message": f"stack unavailable: {message}", "stack_unavailable": True},
        fallback=None, environment=environment, timings_ms={}, install=install, app_version=app_version)


class BackgroundDiagnoses:
    """Diagnoses a failed request's URL on a daemon thread, one at a time, and puts the
    verdict into the failure's event before it is delivered.

    One at a time: a burst of failures (a network down) must not start a burst of diagnoses;
    a failure that finds one running keeps its first reading and is delivered at once.
    """

    def __init__(self, *, ca_bundle: str | None, proxy: str | None) -> None:
        self._ca_bundle = ca_bundle
        self._proxy = proxy
        self._running = threading.Lock()

    def start(self, event: PendingReport, url: str, deliver: Callable[[PendingReport], None]) -> bool:
        """Diagnose ``url`` and then ``deliver(event)``; ``False`` (nothing started, nothing
        delivered) when a diagnosis is already running."""
        if not self._running.acquire(blocking=False):
            return False
        try:
            threading.Thread(target=self._run, args=(event, url, deliver), daemon=True,
                             name="tlsdoctor-diagnose").start()
        except BaseException:
            self._running.release()
            raise
        return True

    def _run(self, event: PendingReport, url: str, deliver: Callable[[PendingReport], None]) -> None:
        try:
            from tlsdoctor.diagnosis import diagnose

            diagnosis = diagnose(url, ca_bundle=self._ca_bundle, proxy=self._proxy, timeout=5.0, deadline=20.0)
            if not diagnosis.ok:
                event.diagnosis = {"code": diagnosis.verdict.code, "nel_type": diagnosis.verdict.nel_type}
        except Exception:  # noqa: BLE001 - without a diagnosis, the first reading stands
            pass
        finally:
            try:
                deliver(event)
            finally:
                # Released after the report is queued: wait() then a flush sees it.
                self._running.release()

    def wait(self, timeout: float = 30.0) -> bool:
        """For tests and shutdown: wait (bounded) until no diagnosis runs."""
        if self._running.acquire(timeout=timeout):
            self._running.release()
            return True
        return False

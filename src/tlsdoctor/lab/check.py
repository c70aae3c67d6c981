"""A live check of the lab: does each scenario fail exactly as its catalogue entry says?

For every scenario, one real libcurl request (:mod:`tlsdoctor.observe.curl`) with the
scenario's client set-up; the curl code, OpenSSL's verify result and the HTTP status are
compared with what the catalogue declares. ``clock-skew`` needs the client's clock
shifted, which libcurl only honours from outside the process: it runs in a child process
under ``faketime`` (skipped, and said so, when faketime is not installed).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from tlsdoctor.lab.runner import LabScenario
from tlsdoctor.observe.curl import CurlAttempt, CurlResult, curl_attempt


@dataclass(frozen=True)
class CheckResult:
    scenario: LabScenario
    result: CurlResult | None
    elapsed_ms: float
    skipped: str = ""  # why the check could not run here

    @property
    def matches(self) -> bool:
        if self.result is None:
            return False
        expected = self.scenario.scenario
        if self.result.curl_code != expected.curl_code:
            return False
        if expected.curl_verify_result is not None and self.result.curl_code in (0, 60):
            if self.result.verify_result != expected.curl_verify_result:
                return False
        return expected.http_status is None or self.result.http_status == expected.http_status


def attempt_for(entry: LabScenario, timeout: float = 2.5) -> CurlAttempt:
    """The libcurl request a client set up as the scenario says would make."""
    client = entry.scenario.client
    return CurlAttempt(
        url=entry.url,
        ca_file=entry.ca_file,
        proxy=entry.proxy,
        crl_file=entry.crl_file,
        cert_status=client.cert_status,
        max_tls=client.max_tls,
        timeout=timeout,
        connect_timeout=min(timeout, 2.0),
    )


def check(entry: LabScenario, timeout: float = 2.5) -> CheckResult:
    started = time.perf_counter()
    attempt = attempt_for(entry, timeout)
    if entry.scenario.client.clock_offset is None:
        result = curl_attempt(attempt)
        return CheckResult(entry, result, (time.perf_counter() - started) * 1000)
    if shutil.which("faketime") is None:
        return CheckResult(entry, None, 0.0, skipped="needs the faketime tool")
    argv = entry.command([sys.executable, "-m", "tlsdoctor.lab.check", json.dumps(_attempt_json(attempt))])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 20, check=False)
    if done.returncode != 0:
        return CheckResult(entry, None, 0.0, skipped=f"child failed: {done.stderr.strip()[-200:]}")
    result = CurlResult(**json.loads(done.stdout))
    return CheckResult(entry, result, (time.perf_counter() - started) * 1000)


def check_all(entries: list[LabScenario], timeout: float = 2.5,
              on_done: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Check every scenario concurrently (libcurl releases the GIL while it waits).

    ``on_done`` hears each result as it comes (a progress bar); the list is in input order.
    """

    def one(entry: LabScenario) -> CheckResult:
        result = check(entry, timeout)
        if on_done is not None:
            on_done(result)
        return result

    with ThreadPoolExecutor(max_workers=min(16, max(1, len(entries)))) as pool:
        return list(pool.map(one, entries))


def _attempt_json(attempt: CurlAttempt) -> dict[str, object]:
    data = asdict(attempt)
    for key in ("ca_file", "crl_file"):
        data[key] = str(data[key]) if data[key] else None
    return data


def _child(argv: list[str]) -> int:
    """Child-process entry: run one attempt described as JSON, print the result as JSON."""
    data = json.loads(argv[0])
    for key in ("ca_file", "crl_file"):
        data[key] = Path(data[key]) if data[key] else None
    print(json.dumps(asdict(curl_attempt(CurlAttempt(**data)))))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))

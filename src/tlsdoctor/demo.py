"""The demo: the lab's every scenario, diagnosed concurrently, verdict against expectation.

Each scenario's client set-up becomes diagnose options: its CA file, its proxy, its TLS
cap, and for ``clock-skew`` a client clock shifted through the injectable clock (the test
suite also runs the real thing under ``faketime``). The interception scenario is diagnosed
three times, as the field meets it: the interceptor's CA (a) trusted nowhere, (b) only in
the OS store, (c) in the client's own CA file (a working, intercepted connection).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tlsdoctor.clock import ShiftedClock
from tlsdoctor.diagnosis import Diagnosis, diagnose_async
from tlsdoctor.lab.runner import Lab, LabScenario


@dataclass(frozen=True)
class DemoCase:
    name: str
    entry: LabScenario
    expected: str  # the verdict a correct diagnosis reaches
    expected_warnings: tuple[str, ...]
    options: dict[str, Any]


@dataclass(frozen=True)
class DemoResult:
    case: DemoCase
    diagnosis: Diagnosis | None
    error: str | None
    elapsed_ms: float

    @property
    def verdict(self) -> str:
        return self.diagnosis.verdict.code if self.diagnosis else "error"

    @property
    def matches(self) -> bool:
        if self.diagnosis is None or self.verdict != self.case.expected:
            return False
        codes = {f.code for f in self.diagnosis.findings}
        return all(w in codes for w in self.case.expected_warnings)


def cases(lab: Lab, timeout: float = 2.0) -> list[DemoCase]:
    run_dir = lab.run_dir
    lab_root = run_dir / "ca-lab.pem"
    with_interception = run_dir / "ca-lab-interception.pem"
    out = []
    for entry in lab:
        options = options_for(entry, os_store=entry.os_store_file or lab_root, timeout=timeout)
        out.append(DemoCase(entry.id, entry, entry.code, entry.scenario.warnings, options))
        if entry.id == "intercepting-proxy":
            os_only = options_for(entry, os_store=with_interception, timeout=timeout)
            out.append(DemoCase("intercepting-proxy (CA in OS store)", entry, "trust.interception",
                                ("trust.store_mismatch",), os_only))
            trusted = {**options, "ca_bundle": with_interception}
            out.append(DemoCase("intercepting-proxy (CA in client's file)", entry, "ok",
                                ("trust.interception",), trusted))
    return out


def options_for(entry: LabScenario, *, os_store: Path, timeout: float = 2.0) -> dict[str, Any]:
    """diagnose() options for a client set up as the scenario says."""
    client = entry.scenario.client
    options: dict[str, Any] = {
        "ca_bundle": entry.ca_file,
        "proxy": entry.proxy,
        "max_tls": client.max_tls,
        "timeout": timeout,
        "deadline": 4 * timeout + 2,
        "env": {},  # proxies come from the scenario only, never from this machine
        "os_store_env": {"SSL_CERT_FILE": str(os_store), "SSL_CERT_DIR": ""},
        "require_status": client.cert_status,
    }
    if client.clock_offset:
        options["clock"] = ShiftedClock(client.clock_offset)
    return options


async def run_cases(demo_cases: list[DemoCase], concurrency: int = 12,
                    on_done: Callable[[DemoResult], None] | None = None) -> list[DemoResult]:
    """Diagnose every case, at most ``concurrency`` at a time; ``on_done`` hears each as it ends."""
    slots = asyncio.Semaphore(concurrency)

    async def one(case: DemoCase) -> DemoResult:
        async with slots:
            started = time.perf_counter()
            try:
                diagnosis = await diagnose_async(case.entry.url, **case.options)
                result = DemoResult(case, diagnosis, None, (time.perf_counter() - started) * 1000)
            except Exception as exc:  # noqa: BLE001 - shown as a failed row, never a traceback
                result = DemoResult(case, None, f"{type(exc).__name__}: {exc}", (time.perf_counter() - started) * 1000)
        if on_done is not None:
            on_done(result)
        return result

    return list(await asyncio.gather(*(one(c) for c in demo_cases)))

"""A synthetic fleet, written through the client's own writers: for tests, demos and benchmarks.

``tlsdoctor fleet simulate --installs N --days D --seed S OUT/`` makes N installs with random
ids, puts each in its cohort with the *real* rollout (the GrowthBook SDK evaluating the payload
``tlsdoctor rollout make`` writes, hash version 2 on the install id), gives each an environment
drawn from the mix below, and lets them run for D days. Every report goes through
:func:`tlsdoctor.client.report.build_report` into a :class:`~tlsdoctor.client.report.JsonLinesSink`
and every usage document through a :class:`~tlsdoctor.client.usage.UsageWriter`, exactly as an
application's client writes them: the fleet tools are tested against the client's real output,
not against a second serializer that could drift from it.

The environment mix (shares of installs, drawn independently per install; see docs/fleet.md):

============================  ======  ==================================================================
environment                   share   what it does per active day
============================  ======  ==================================================================
TLS-inspecting antivirus      6%      curl: ``trust.interception`` on the first request with p=0.3,
                                      rescued by the native stack (its CA is only in the OS store)
wrong clock                   1.5%    both stacks: ``clock.skewed`` on each request with p=0.2, visible
proxy that breaks HTTP/2      4%      curl: ``http2.negotiation_failed`` on the first request with
                                      p=0.9, rescued (proxy configured)
corrupt CA file               1%      curl: ``trust.bundle_corrupt`` on the first request, rescued
NTLM-only proxy               0.5%      native: ``proxy.auth_required`` on the first request with p=0.8,
                                      visible (libcurl speaks NTLM, the native stack does not)
other proxies                 10%     proxy configured, no failure of their own
everyone                      100%    ``tcp.timed_out`` p=0.0005 and ``tls.abrupt_close`` p=0.0003
                                      per request, visible
============================  ======  ==================================================================

A TLS-inspecting antivirus is one of three products, whose root CA signs what the client sees
(their reports' ``outcome.presented_issuer``, from the chain the stack kept, as a real client's):
Avast Web/Mail Shield Root 50%, Kaspersky Anti-Virus Personal Root Certificate 30%, ESET SSL
Filter CA 20% (the product follows from the install id, so adding it drew nothing new from the
generator: a seed writes the fleet it wrote before, now with the names).

Installs run on a day with p=0.8 and make Poisson(25) requests when they run; operating systems
and app versions (with their libcurl) follow fixed shares. A regression (``--regress
trust.interception:2``) adds the named code, visible, on the first request of every active day
to a further ``points``% of the treatment cohort's installs (drawn among the TLS-inspecting ones
for ``trust.interception``, the case the issue names). Everything is drawn from one seeded
generator in a fixed order: the same seed writes the same files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from tlsdoctor.client.client import salted_install_id
from tlsdoctor.client.report import JsonLinesSink, build_report
from tlsdoctor.client.rollout import evaluate, rollout_payload
from tlsdoctor.client.usage import UsageWriter
from tlsdoctor.findings import FINDING_CODES

FEATURE = "http-stack"
DEFAULT_START = date(2026, 11, 2)
ACTIVE_DAY_P = 0.8
REQUESTS_PER_DAY = 25

#: name → (share of installs, proxy configured)
ENVIRONMENTS: dict[str, tuple[float, bool]] = {
    "interceptor": (0.06, False),
    "wrong-clock": (0.015, False),
    "h2-breaking-proxy": (0.04, True),
    "corrupt-ca-file": (0.01, False),
    "ntlm-proxy": (0.005, True),
    "plain-proxy": (0.10, True),
}
#: Failures on the first request of an active day: env → (stack, code, probability, rescued)
FIRST_REQUEST_FAILURES: dict[str, tuple[str, str, float, bool]] = {
    "interceptor": ("curl", "trust.interception", 0.3, True),
    "h2-breaking-proxy": ("curl", "http2.negotiation_failed", 0.9, True),
    "corrupt-ca-file": ("curl", "trust.bundle_corrupt", 1.0, True),
    "ntlm-proxy": ("native", "proxy.auth_required", 0.8, False),
}
#: Failures any request may meet: env (None = everyone) → [(code, per-request probability)], visible
PER_REQUEST_FAILURES: dict[str | None, list[tuple[str, float]]] = {
    None: [("tcp.timed_out", 0.0005), ("tls.abrupt_close", 0.0003)],
    "wrong-clock": [("clock.skewed", 0.2)],
}
#: TLS-inspecting products: (the issuer of what the client sees as OpenSSL prints it, share).
INTERCEPTION_PRODUCTS: tuple[tuple[str, float], ...] = (
    ("C = CZ, L = Prague, O = AVAST Software s.r.o., OU = Software Development, CN = Avast Web/Mail Shield Root", 0.5),
    ("O = AO Kaspersky Lab, CN = Kaspersky Anti-Virus Personal Root Certificate", 0.3),
    ("C = SK, O = ESET spol. s r. o., CN = ESET SSL Filter CA", 0.2),
)
OPERATING_SYSTEMS = (("Windows-10", 0.45), ("Windows-11", 0.35), ("Darwin-24.1.0", 0.12), ("Linux-6.1", 0.08))
APP_VERSIONS = (("7.2.4", "8.9.1", 0.4), ("7.2.5", "8.11.0", 0.6))
TLS_LIBRARY = "OpenSSL/3.0.15"


@dataclass(frozen=True)
class Regression:
    """``points`` more percent of the ``stack`` cohort's installs see ``code`` (visible) every active day."""

    code: str
    points: float
    stack: str = "curl"

    @classmethod
    def parse(cls, text: str) -> "Regression":
        """``CODE:POINTS[:STACK]``, e.g. ``trust.interception:2``."""
        parts = text.split(":")
        if len(parts) not in (2, 3) or parts[0] not in FINDING_CODES:
            raise ValueError(f"--regress wants CODE:POINTS[:STACK] with a finding code, not {text!r}")
        try:
            points = float(parts[1])
        except ValueError:
            raise ValueError(f"--regress: points must be a number, not {parts[1]!r}") from None
        if not 0 < points <= 100:
            raise ValueError("--regress: points must be in (0, 100]")
        stack = parts[2] if len(parts) == 3 else "curl"
        if stack not in ("curl", "native"):
            raise ValueError(f"--regress: stack must be curl or native, not {stack!r}")
        return cls(parts[0], points, stack)


@dataclass
class Install:
    raw_id: str
    install: str  # as reports carry it (salted)
    cohort: dict[str, Any]
    stack: str
    environment: str
    os: str
    app_version: str
    libcurl: str
    regressed: str | None = None  # the code a regression adds to this install

    def presented_chain(self, code: str) -> tuple[dict[str, str], ...]:
        """The chain this install's stack is shown when ``code`` fails it, as libcurl's CERTINFO
        gives it (printed names; a real client also keeps the PEM): an interceptor's leaf."""
        if code != "trust.interception" or self.environment != "interceptor":
            return ()
        u, cumulative = int(self.raw_id[:8], 16) / 2**32, 0.0
        for issuer, share in INTERCEPTION_PRODUCTS:
            cumulative += share
            if u < cumulative:
                break
        return ({"Subject": "CN = api.example.com", "Issuer": issuer},)

    def env_fields(self) -> dict[str, Any]:
        proxy = ENVIRONMENTS.get(self.environment, (0.0, False))[1]
        return {"proxy_configured": proxy, "proxy_source": "env:HTTPS_PROXY" if proxy else None, "os": self.os,
                "tls_library": TLS_LIBRARY, "libcurl": self.libcurl, "clock_offset_s": None}


@dataclass
class Truth:
    """What the simulation put in, for tests and docs to compare the fleet tools' findings with."""

    installs: int
    days: int
    seed: int
    coverage: float
    start: str
    cohorts: dict[str, int] = field(default_factory=dict)
    environments: dict[str, int] = field(default_factory=dict)
    regressed: int = 0
    regression: dict[str, Any] | None = None
    usage_documents: int = 0
    usage_lost: int = 0
    reports: int = 0
    reports_dropped: int = 0


class _DaySinks:
    """Routes each line to ``OUT/<day>/<reports|usage>.jsonl`` (one JsonLinesSink per file), losing
    a seeded share of usage documents in transit when asked to (seq gaps for the gate to find)."""

    def __init__(self, out: Path, lose_usage: float, rng: np.random.Generator) -> None:
        self.out, self.lose_usage, self.rng = out, lose_usage, rng
        self.sinks: dict[tuple[str, str], JsonLinesSink] = {}
        self.lost = 0
        self.written = 0

    def _sink(self, day: str, usage: bool) -> JsonLinesSink:
        key = (day, "usage" if usage else "reports")
        sink = self.sinks.get(key)
        if sink is None:
            cls = UsageSinkForDay if usage else JsonLinesSink
            sink = self.sinks[key] = cls(self.out / day, max_bytes=1 << 40, backups=0)
        return sink

    def write(self, event: Mapping[str, Any]) -> None:
        if event.get("schema") == "tlsdoctor.usage/1":
            if self.lose_usage and self.rng.random() < self.lose_usage:
                self.lost += 1
                return
            self._sink(event["period"]["start"][:10], True).write(event)
            self.written += 1
        else:
            self._sink(event["ts"][:10], False).write(event)

    def flush(self, timeout: float = 0.0) -> None: ...

    def close(self) -> None:
        for sink in self.sinks.values():
            sink.close()


class UsageSinkForDay(JsonLinesSink):
    FILENAME = "usage.jsonl"


def _choice(rng: np.random.Generator, options: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    weights = np.array([o[-1] for o in options], dtype=float)
    return options[int(rng.choice(len(options), p=weights / weights.sum()))]


def make_installs(n: int, rng: np.random.Generator, payload: Mapping[str, Any],
                  regression: Regression | None) -> list[Install]:
    names = list(ENVIRONMENTS)
    shares = np.array([ENVIRONMENTS[name][0] for name in names])
    installs = []
    for _ in range(n):
        raw_id = rng.bytes(16).hex()
        cohort = evaluate(payload, FEATURE, raw_id)  # the GrowthBook SDK, as installs evaluate it
        u = rng.random()
        cumulative = np.cumsum(shares)
        index = int(np.searchsorted(cumulative, u, side="right"))
        environment = names[index] if index < len(names) else "clean"
        os_name = _choice(rng, OPERATING_SYSTEMS)[0]
        app_version, libcurl, _ = _choice(rng, APP_VERSIONS)
        installs.append(Install(raw_id, salted_install_id(raw_id),
                                {"feature": cohort.feature, "value": cohort.value, "rule": cohort.rule},
                                cohort.value, environment, os_name, app_version, libcurl))
    if regression is not None:
        pool = [i for i in installs if i.stack == regression.stack]
        if regression.code == "trust.interception":
            # The case: TLS inspection. Draw the regressed installs among the inspected ones
            # so that they make `points`% of the cohort (capped by how many are inspected).
            inspected = [i for i in pool if i.environment == "interceptor"]
            p = min(1.0, regression.points / 100 * len(pool) / max(1, len(inspected)))
            candidates = inspected
        else:
            p, candidates = regression.points / 100, pool
        for install in candidates:
            if rng.random() < p:
                install.regressed = regression.code
    return installs


def simulate(
    out: str | Path,
    *,
    installs: int,
    days: int,
    seed: int,
    coverage: float = 0.5,
    regression: Regression | None = None,
    start: date = DEFAULT_START,
    lose_usage: float = 0.0,
    drop_reports: float = 0.0,
    progress: Any = None,
) -> Truth:
    """Write the fleet under ``out`` (``<day>/reports.jsonl``, ``<day>/usage.jsonl``,
    ``payload.json``, ``truth.json``) and return what was put in."""
    if installs < 1 or days < 1:
        raise ValueError("installs and days must be at least 1")
    if not 0 <= coverage <= 1 or not 0 <= lose_usage < 1 or not 0 <= drop_reports < 1:
        raise ValueError("coverage must be in [0, 1]; --lose-usage and --drop-reports in [0, 1)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    payload = rollout_payload(coverage, feature=FEATURE, seed=FEATURE)
    fleet = make_installs(installs, rng, payload, regression)
    sinks = _DaySinks(out, lose_usage, np.random.default_rng([seed, 1]))
    truth = Truth(installs, days, seed, coverage, start.isoformat(),
                  regression=None if regression is None else vars(regression))
    for install in fleet:
        truth.cohorts[install.stack] = truth.cohorts.get(install.stack, 0) + 1
        truth.environments[install.environment] = truth.environments.get(install.environment, 0) + 1
        truth.regressed += install.regressed is not None
    try:
        for number, install in enumerate(fleet):
            _run_install(install, rng, sinks, truth, start, days, drop_reports)
            if progress is not None and number % 200 == 0:
                progress(number, len(fleet))
    finally:
        sinks.close()
    truth.usage_documents = sinks.written
    truth.usage_lost = sinks.lost
    (out / "payload.json").write_text(json.dumps(payload, indent=2) + "\n")
    (out / "truth.json").write_text(json.dumps(vars(truth), indent=2, sort_keys=True) + "\n")
    return truth


def _run_install(install: Install, rng: np.random.Generator, sinks: _DaySinks, truth: Truth,
                 start: date, days: int, drop_reports: float) -> None:
    env = install.env_fields()
    other = "native" if install.stack == "curl" else "curl"
    seq = 0
    for day in range(days):
        if rng.random() >= ACTIVE_DAY_P:
            continue  # the app did not run: no document (absence means that, not "no failures")
        day_start = datetime.combine(start + timedelta(days=day), datetime.min.time(), UTC)
        now = [day_start.timestamp() + float(rng.integers(0, 3600 * 8))]
        # One process run per active day: a new writer whose period starts now, seq carried on.
        usage = UsageWriter(None, period=None, sinks=[sinks], clock=lambda: now[0], install=install.install,
                            app_version=install.app_version, cohort=lambda: install.cohort,
                            environment=lambda: env, first_seq=seq)
        requests = int(rng.poisson(REQUESTS_PER_DAY))
        failures = _day_failures(install, rng, requests)
        if requests > len(failures):
            usage.record_request(install.stack, None, count=requests - len(failures))
        for index, (code, rescued) in sorted(failures.items()):
            fallback_ok = True if rescued else None
            usage.record_request(install.stack, code, fallback_ok)
            ts = datetime.fromtimestamp(now[0] + index * 60.0, UTC)
            report = build_report(
                kind="fallback" if rescued else "failure", stack=install.stack, cohort=install.cohort,
                method="GET", url="https://api.example.com/v1/sync", http_version="2" if install.stack == "curl" else "1.1",
                outcome={"ok": False, "code": code, "curl_code": FINDING_CODES[code].curl_code,
                         "nel_type": FINDING_CODES[code].nel_type, "message": f"simulated {code}",
                         "presented_chain": install.presented_chain(code)},
                fallback={"stack": other, "ok": True} if rescued else None, environment=env,
                timings_ms={"total": 40}, install=install.install, app_version=install.app_version, ts=ts,
            )
            if drop_reports and rng.random() < drop_reports:
                usage.record_report(False)  # the bounded queue was full: counted, not written
                truth.reports_dropped += 1
                continue
            usage.record_report(True)
            sinks.write(report)
            truth.reports += 1
        now[0] += max(requests, 1) * 60.0 + 600.0
        usage.write_now()
        seq += 1


def _day_failures(install: Install, rng: np.random.Generator, requests: int) -> dict[int, tuple[str, bool]]:
    """Which of the day's requests fail, with which code, and whether the fallback rescued them."""
    failures: dict[int, tuple[str, bool]] = {}
    if requests == 0:
        return failures
    for env in (None, install.environment):
        for code, p in PER_REQUEST_FAILURES.get(env, []):
            hits = np.nonzero(rng.random(requests) < p)[0]
            for index in hits.tolist():
                failures.setdefault(index, (code, False))
    first = FIRST_REQUEST_FAILURES.get(install.environment)
    if first is not None:
        stack, code, p, rescued = first
        if stack == install.stack and rng.random() < p:
            failures[0] = (code, rescued)
    if install.regressed is not None:
        failures[0] = (install.regressed, False)
    return failures

"""Diagnose one URL: run the probes, judge their observations, return the verdict.

    import tlsdoctor
    d = tlsdoctor.diagnose("https://example.test/", ca_bundle="app/ca-bundle.crt")
    d.verdict.code, d.verdict.summary, d.verdict.remedy

Probes run in three stages, concurrently within a stage, each with its own timeout and
the whole diagnosis under one deadline:

1. **Route**: DNS (origin, or proxy), a TCP connect to each address.
2. **Wire**: the raw first answer to a ClientHello, a handshake that captures the chain
   (verification off: we observe), HTTP/1.1 and h2 HEADs (the server's Date), one real
   libcurl attempt with the client's trust; and, only when the handshake fails, the
   capability probe; through a proxy, the same handshake directly, to compare chains.
3. **Trust**: the presented chain against every trust source at local time, without the
   name, at the server's time; OpenSSL's own verdict; the CA-file linter; revocation.

Then :mod:`tlsdoctor.judge.rules` turns the facts into findings, and the verdict is the
finding that explains the others (:mod:`tlsdoctor.judge.verdict`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

from tlsdoctor.clock import SYSTEM_CLOCK, Clock
from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.rules import judge
from tlsdoctor.wire import AnswerKind
from tlsdoctor.observe.ca_file_lint import lint_ca_file, without_broken_entries
from tlsdoctor.observe.capabilities import probe_capabilities
from tlsdoctor.observe.curl import CurlAttempt, curl_attempt
from tlsdoctor.observe.first_answer import probe_first_answer
from tlsdoctor.observe.handshake import probe_handshake
from tlsdoctor.observe.http import probe_http
from tlsdoctor.observe.observations import ClientProfile, Observations, TrustObservation
from tlsdoctor.observe.openssl_verify import openssl_verify
from tlsdoctor.observe.revocation import probe_revocation
from tlsdoctor.observe.route import Route, TargetError, discover_route, parse_target, resolve, tcp_connect
from tlsdoctor.observe.trust import (
    TrustSource,
    default_ca_bundle,
    load_ca_file,
    os_trust_store,
    verify_presented_chain,
)


class DiagnoseError(ValueError):
    """The diagnosis could not start: bad URL, unreadable CA file... (a usage error)."""


@dataclass(frozen=True)
class Diagnosis:
    """The outcome: the verdict, every finding (verdict first) and the facts behind them."""

    url: str
    route: Route
    verdict: Finding
    findings: tuple[Finding, ...]
    observations: Observations
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        return self.verdict.code == "ok"


async def diagnose_async(
    url: str,
    *,
    proxy: str | None = None,
    ca_bundle: str | Path | None = None,
    extra_ca: Sequence[str | Path] = (),
    max_tls: str | None = None,
    timeout: float = 5.0,
    deadline: float = 20.0,
    clock: Clock = SYSTEM_CLOCK,
    env: Mapping[str, str] | None = None,
    os_store_env: Mapping[str, str] | None = None,
    libcurl: bool = True,
    require_status: bool = False,
) -> Diagnosis:
    """Diagnose ``url`` as a client with this trust and route would meet it.

    ``env`` is where proxies are discovered (default ``os.environ``); ``os_store_env`` is
    where the OS trust store is discovered (``SSL_CERT_FILE``...; default ``os.environ``).
    ``clock`` is the client's idea of now: tests and the demo shift it. ``require_status``
    says the client hard-fails without a certificate status (curl ``--cert-status``).
    Raises :class:`DiagnoseError` for bad input; never for network outcomes.
    """
    started = time.perf_counter()
    try:
        target = parse_target(url)
        route = discover_route(target, proxy, env)
    except TargetError as exc:
        raise DiagnoseError(str(exc)) from None
    if max_tls not in (None, "1.0", "1.1", "1.2", "1.3"):
        raise DiagnoseError(f"unknown TLS version {max_tls!r} (use 1.0, 1.1, 1.2 or 1.3)")
    client = ClientProfile(
        ca_bundle=str(ca_bundle) if ca_bundle else None, extra_ca=tuple(str(p) for p in extra_ca), max_tls=max_tls,
        require_status=require_status,
    )
    sources = _trust_sources(client, os_store_env)
    observer = _Observer(route, client, sources, timeout, clock, libcurl)
    try:
        observations = await asyncio.wait_for(observer.run(), deadline)
    except asyncio.TimeoutError:
        observations = observer.so_far(note=f"the diagnosis deadline ({deadline:g} s) cut some probes short")
    findings, verdict = judge(observations)
    return Diagnosis(target.url, route, verdict, tuple(findings), observations,
                     round((time.perf_counter() - started) * 1000, 1))


def diagnose(url: str, **options: Any) -> Diagnosis:
    """The synchronous twin of :func:`diagnose_async`."""
    return asyncio.run(diagnose_async(url, **options))


def _trust_sources(client: ClientProfile, os_store_env: Mapping[str, str] | None) -> tuple[TrustSource, ...]:
    if client.ca_bundle:
        bundle = load_ca_file(client.ca_bundle, name="ca-bundle", description=f"the client's CA file ({client.ca_bundle})")
        if bundle.error and not Path(client.ca_bundle).is_file():
            raise DiagnoseError(f"cannot read CA file {client.ca_bundle}: {bundle.error}")
        if bundle.error and not bundle.certificates:
            raise DiagnoseError(f"CA file {client.ca_bundle} is not usable: {bundle.error}")
    else:
        bundle = default_ca_bundle()
    extras = []
    for path in client.extra_ca:
        extra = load_ca_file(path, name="extra-ca", description=f"extra CA file ({path})")
        if extra.error and not extra.certificates:
            raise DiagnoseError(f"extra CA file {path} is not usable: {extra.error}")
        extras.append(extra)
    return (bundle, os_trust_store(os_store_env), *extras)


class _Observer:
    """Runs the probes and keeps what it saw, so a deadline loses only what was unfinished."""

    def __init__(self, route: Route, client: ClientProfile, sources: tuple[TrustSource, ...],
                 timeout: float, clock: Clock, libcurl: bool) -> None:
        self.route, self.client, self.sources = route, client, sources
        self.timeout, self.clock, self.libcurl = timeout, clock, libcurl
        self.seen: dict[str, Any] = {}
        self.connections = 0
        self.local_time = clock.now()

    def so_far(self, note: str | None = None) -> Observations:
        notes = (note,) if note else ()
        return Observations(route=self.route, client=self.client, local_time=self.local_time,
                            connections=self.connections, notes=notes, **self.seen)

    async def run(self) -> Observations:
        await self._route_stage()
        if self._route_failed():
            # Nothing more to observe, but what libcurl says is what the field report will say.
            self.seen["curl"] = await self._curl()
            self.connections += 1 if self.libcurl else 0
            return self.so_far()
        await self._wire_stage()
        await self._trust_stage()
        return self.so_far()

    async def _route_stage(self) -> None:
        target, proxy = self.route.target, self.route.proxy
        if proxy is not None:
            self.seen["proxy_resolution"] = await resolve(proxy.host, proxy.port, self.timeout)
            return
        resolution = await resolve(target.host, target.port, self.timeout)
        self.seen["resolution"] = resolution
        if resolution.addresses:
            addresses = resolution.addresses[:4]  # bounded: enough to see a dead address among live ones
            self.connections += len(addresses)
            self.seen["tcp"] = tuple(
                await asyncio.gather(*(tcp_connect(a, target.port, self.timeout) for a in addresses))
            )

    def _route_failed(self) -> bool:
        if self.route.proxy is not None:
            return not self.seen["proxy_resolution"].addresses
        tcp = self.seen.get("tcp") or ()
        return not tcp or not any(t.outcome == "connected" for t in tcp)

    async def _wire_stage(self) -> None:
        max_tls = self.client.max_tls
        tasks = {
            "first_answer": probe_first_answer(self.route, self.timeout),
            "handshake": probe_handshake(self.route, self.timeout, max_version=max_tls),
            "http": probe_http(self.route, self.timeout, self.clock.now),
        }
        if self.route.proxy is not None:
            direct = Route(self.route.target, None)
            tasks["direct_handshake"] = probe_handshake(direct, self.timeout, max_version=max_tls)
        results = await asyncio.gather(*tasks.values(), self._curl())
        self.seen.update(zip(tasks, results[:-1]))
        self.seen["curl"] = results[-1]
        # first answer + handshake (+ direct handshake) + the HTTP probe's own + libcurl's
        self.connections += (len(tasks) - 1) + self.seen["http"].connections + (1 if self.libcurl else 0)
        handshake = self.seen["handshake"]
        answer = self.seen["first_answer"].answer
        speaks_tls = answer is None or answer.kind in (AnswerKind.ALERT, AnswerKind.TLS_HANDSHAKE, AnswerKind.TLS_OTHER)
        # Probing versions and ciphers only makes sense with a server that speaks TLS.
        if not handshake.ok and handshake.route_error is None and speaks_tls:
            capabilities = await probe_capabilities(self.route, self.timeout)
            self.seen["capabilities"] = capabilities
            self.connections += capabilities.connections

    async def _curl(self) -> Any:
        if not self.libcurl:
            return None
        attempt = CurlAttempt(
            url=self.route.target.url, ca_file=Path(self.client.ca_bundle) if self.client.ca_bundle else _certifi(),
            proxy=self.route.proxy_url, max_tls=self.client.max_tls, timeout=self.timeout,
            connect_timeout=self.timeout, cert_status=self.client.require_status,
        )
        return await asyncio.to_thread(curl_attempt, attempt)

    async def _trust_stage(self) -> None:
        handshake = self.seen["handshake"]
        chain = handshake.presented_chain
        if not chain:
            return
        host = self.route.target.host
        now = self.local_time
        server_time = self.seen["http"].http1.date if self.seen.get("http") else None
        revocation_task = asyncio.ensure_future(probe_revocation(chain, handshake.ocsp_staple, self.timeout))
        client_now = tuple(verify_presented_chain(chain, s, host=host, at=now) for s in self.sources)
        chain_only_now = tuple(verify_presented_chain(chain, s, host=None, at=now) for s in self.sources)
        chain_only_server = tuple(
            verify_presented_chain(chain, s, host=None, at=server_time) for s in self.sources
        ) if server_time else ()
        bundle = self.sources[0]
        openssl_client = openssl_cleaned = lint = None
        if bundle.path:
            openssl_client = openssl_verify(chain, ca_file=bundle.path, at=now)
            lint = lint_ca_file(bundle.path, at=now)
            if lint.broken_indexes() and not openssl_client.ok:
                try:
                    cleaned = without_broken_entries(bundle.path, lint)
                except ValueError:
                    cleaned = b""
                if cleaned:
                    openssl_cleaned = openssl_verify(chain, ca_data=cleaned, at=now)
        revocation = await revocation_task
        with_fetched = None
        fetched = revocation.issuer_fetch
        if fetched is not None and fetched.certificate is not None and fetched.issues_leaf:
            with_fetched = verify_presented_chain((*chain, fetched.certificate), bundle, host=None, at=now)
        self.connections += revocation.fetches
        self.seen["revocation"] = revocation
        self.seen["trust"] = TrustObservation(
            sources=self.sources, client_now=client_now, chain_only_now=chain_only_now,
            chain_only_server_time=chain_only_server, openssl_client=openssl_client,
            openssl_cleaned=openssl_cleaned, with_fetched_issuer=with_fetched, lint=lint,
            ca_file_modified=_modified(bundle.path),
        )


def _modified(path: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(Path(path).stat().st_mtime, timezone.utc) if path else None
    except OSError:
        return None


def _certifi() -> Path:
    import certifi

    return Path(certifi.where())

"""Diagnose one URL: run the probes, judge their observations, return the verdict.

    import tlsdoctor
    d = tlsdoctor.diagnose("https://example.test/", ca_bundle="app/ca-bundle.crt")
    d.verdict.code, d.verdict.summary, d.verdict.remedy

:class:`~tlsdoctor.observe.observer.Observer` runs the probes (route, wire, capabilities,
trust) under one deadline and keeps every fact as it arrives; then
:mod:`tlsdoctor.judge.rules` turns the facts into findings, and the verdict is the finding
that explains the others (:mod:`tlsdoctor.judge.verdict`). This module is the public
face: the options a user gives, the usage errors, the :class:`Diagnosis` they get back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from tlsdoctor import aio
from tlsdoctor.clock import SYSTEM_CLOCK, Clock
from tlsdoctor.judge.coverage import Unchecked, could_not_check
from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.rules import judge
from tlsdoctor.observe.observations import ClientProfile, Observations
from tlsdoctor.observe.observer import STAGES, Observer
from tlsdoctor.observe.route import Route, TargetError, discover_route, parse_resolve, parse_target
from tlsdoctor.observe.trust import (
    TrustSource,
    default_ca_bundle,
    load_ca_file,
    os_trust_store,
    os_trust_store_if_read,
)
from tlsdoctor.records import record

__all__ = ["STAGES", "DiagnoseError", "Diagnosis", "diagnose", "diagnose_async"]


class DiagnoseError(ValueError):
    """The diagnosis could not start: bad URL, unreadable CA file... (a usage error)."""


@record
class Diagnosis:
    """The outcome: the verdict, every finding (verdict first) and the facts behind them."""

    url: str
    route: Route
    verdict: Finding
    findings: tuple[Finding, ...]
    observations: Observations
    elapsed_ms: float
    timeout: float = 5.0  # each probe's
    deadline: float = 20.0  # the whole diagnosis's

    @property
    def ok(self) -> bool:
        return self.verdict.code == "ok"

    @property
    def redirect(self) -> str | None:
        """Where a working answer redirects (``scheme://host:port/path``): the next server a client
        that follows redirects meets, and what ``diagnose --follow`` diagnoses next."""
        answer = self.observations.http.answer if self.ok and self.observations.http else None
        return answer.location if answer is not None else None

    @property
    def could_not_check(self) -> tuple[Unchecked, ...]:
        """What this diagnosis could not see: probes its deadline cut, answers that timed out, limits."""
        return could_not_check(self.observations)




async def diagnose_async(
    url: str,
    *,
    proxy: str | None = None,
    ca_bundle: str | Path | None = None,
    extra_ca: Sequence[str | Path] = (),
    max_tls: str | None = None,
    timeout: float = 5.0,
    deadline: float | None = None,
    clock: Clock = SYSTEM_CLOCK,
    env: Mapping[str, str] | None = None,
    os_store_env: Mapping[str, str] | None = None,
    libcurl: bool = True,
    require_status: bool = False,
    on_probe: Callable[[str, bool], None] | None = None,
    resolve: Sequence[str] = (),
) -> Diagnosis:
    """Diagnose ``url`` as a client with this trust and route would meet it.

    ``env`` is where proxies are discovered (default ``os.environ``); ``os_store_env`` is
    where the OS trust store is discovered (``SSL_CERT_FILE``...; default ``os.environ``).
    ``clock`` is the client's idea of now: tests and the demo shift it. ``deadline``
    (default ``timeout`` × :data:`STAGES`) bounds the whole diagnosis; what it cuts is
    named in the result, never silently dropped. ``require_status`` says the client
    hard-fails without a certificate status (curl ``--cert-status``).
    ``on_probe(name, started)`` hears each probe start and end (a progress line: "waiting on
    the handshake, 2.1 s"); it must not block. ``resolve`` takes curl's ``--resolve``
    entries (``HOST:PORT:ADDR[,ADDR]``): a direct route connects to those addresses, in
    that order, without asking the resolver, and so does libcurl's attempt.
    Raises :class:`DiagnoseError` for bad input; never for network outcomes.
    """
    started = time.perf_counter()
    try:
        target = parse_target(url)
        route = discover_route(target, proxy, env)
        pinned = parse_resolve(resolve, target)
    except TargetError as exc:
        raise DiagnoseError(str(exc)) from None
    if max_tls not in (None, "1.0", "1.1", "1.2", "1.3"):
        raise DiagnoseError(f"unknown TLS version {max_tls!r} (use 1.0, 1.1, 1.2 or 1.3)")
    if pinned and route.proxy is None:  # through a proxy, the proxy resolves the name (as with curl)
        route = dataclasses.replace(route, addresses=pinned)
    if deadline is None:
        deadline = timeout * STAGES
    client = ClientProfile(
        ca_bundle=str(ca_bundle) if ca_bundle else None, extra_ca=tuple(str(p) for p in extra_ca), max_tls=max_tls,
        require_status=require_status,
    )
    own = _client_trust(client)  # read now: a CA file that cannot be used is a usage error
    # The OS store is read in a worker thread while the probes wait on the network: it is
    # the largest source (58-92 ms to read and parse on Debian, per process; see the cache
    # in observe/trust_sources.py), and nothing needs it before a chain arrives.
    read = os_trust_store_if_read(os_store_env)
    if read is not None:
        os_store: asyncio.Future[TrustSource] = asyncio.get_running_loop().create_future()
        os_store.set_result(read)
    else:
        os_store = asyncio.ensure_future(aio.in_thread(os_trust_store, os_store_env))
    observer = Observer(route, client, own, os_store, timeout, clock, libcurl, on_probe)
    remaining = deadline - (time.perf_counter() - started)  # reading the trust stores counts too
    observations = await observer.observe(max(remaining, 0.0), deadline)
    findings, verdict = judge(observations)
    return Diagnosis(target.url, route, verdict, tuple(findings), observations,
                     round((time.perf_counter() - started) * 1000, 1), timeout, deadline)


def diagnose(url: str, **options: Any) -> Diagnosis:
    """The synchronous twin of :func:`diagnose_async`."""
    return aio.run(diagnose_async(url, **options))


def _client_trust(client: ClientProfile) -> tuple[TrustSource, tuple[TrustSource, ...]]:
    """The client's own CA file and extra CA files, read at once (bad input raises DiagnoseError)."""
    if client.ca_bundle:
        bundle = load_ca_file(client.ca_bundle, name="ca-bundle", description=f"the client's CA file ({client.ca_bundle})")
        if bundle.error and not Path(client.ca_bundle).is_file():
            raise DiagnoseError(f"cannot read CA file {client.ca_bundle}: {bundle.error}")
    else:
        bundle = default_ca_bundle()
    extras = []
    for path in client.extra_ca:
        extra = load_ca_file(path, name="extra-ca", description=f"extra CA file ({path})")
        if extra.error and not extra.certificates:
            raise DiagnoseError(f"extra CA file {path} is not usable: {extra.error}")
        extras.append(extra)
    return bundle, tuple(extras)

"""Which TLS versions and ciphers the server accepts, probed with constrained clients.

A failed default handshake says *that* client and server share nothing; it rarely says
what. A handful of handshakes with pinned configurations says what: one per protocol
version (TLS 1.0, 1.1, 1.2, 1.3) from a client that offers everything OpenSSL still
implements (``@SECLEVEL=0``, every TLS 1.2 cipher including CCM and CCM8, every TLS 1.3
suite including the two CCM ones), plus one from a default client. Then a rule can say
"the server only speaks TLS 1.0" or "the server only accepts TLS_AES_128_CCM_8_SHA256,
which no default client offers"; this module only records what happened.

Five handshakes, five TCP connections (a diagnosis budgets twelve), run concurrently,
each with its own timeout, all within one deadline.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from OpenSSL import SSL

from tlsdoctor.observe.handshake import (
    ClientOffer,
    HandshakeObservation,
    handshake_with,
)
from tlsdoctor.observe.route import Route
from tlsdoctor.wire import client_hello_versions

# Everything OpenSSL 4.0 still implements for TLS <= 1.2 (3DES is gone from it, as are
# RC4 and export suites). "ALL" includes the CCM and CCM8 ciphers that "DEFAULT" omits.
PERMISSIVE_CIPHERS = "ALL"
PERMISSIVE_SECURITY_LEVEL = 0  # TLS 1.0/1.1 need it: their signatures use MD5+SHA-1
# Every TLS 1.3 suite of RFC 8446 §B.4; OpenSSL's default omits the two CCM ones.
ALL_TLS13_SUITES = (
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:"
    "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256"
)

PROBED_VERSIONS: tuple[str, ...] = ("1.0", "1.1", "1.2", "1.3")
_MAX_CONCURRENT = 5

# OpenSSL's version names → ours.
_OPENSSL_VERSION_NAMES = {"TLSv1": "1.0", "TLSv1.1": "1.1", "TLSv1.2": "1.2", "TLSv1.3": "1.3"}
_WIRE_VERSIONS = {(3, 1): "1.0", (3, 2): "1.1", (3, 3): "1.2", (3, 4): "1.3"}


@dataclass(frozen=True)
class CapabilityObservation:
    """What the server accepted from pinned clients, and what a default client met.

    ``versions_accepted`` lists, oldest first, each version whose single-version
    permissive handshake completed; ``ciphers_negotiated`` maps those versions to the
    cipher the server chose (OpenSSL names). ``default_client_versions`` are the versions
    a default OpenSSL client offers, read from its own ClientHello. ``attempts`` holds
    every handshake by version, ``default_client`` the default one. ``connections``
    counts the TCP connections opened (one per attempt started).
    """

    versions_accepted: tuple[str, ...]
    ciphers_negotiated: dict[str, str]
    default_client_ok: bool
    default_client_error: str | None
    default_client_alert: int | None
    default_client_versions: tuple[str, ...]
    default_client: HandshakeObservation | None
    attempts: dict[str, HandshakeObservation] = field(default_factory=dict)
    not_run: tuple[str, ...] = ()  # attempts cut off by the deadline
    connections: int = 0
    elapsed_ms: float = 0.0


def single_version_offer(version: str) -> ClientOffer:
    """The permissive client for one version: everything OpenSSL can offer, at that version only."""
    return ClientOffer(
        min_version=version,
        max_version=version,
        cipher_list=PERMISSIVE_CIPHERS,
        tls13_ciphersuites=ALL_TLS13_SUITES,
        security_level=PERMISSIVE_SECURITY_LEVEL,
        request_ocsp=False,  # the chain and staple are the default handshake's business
    )


DEFAULT_OFFER = ClientOffer()


def default_client_versions(offer: ClientOffer = DEFAULT_OFFER) -> tuple[str, ...]:
    """The versions a client with ``offer`` puts in its ClientHello, oldest first.

    Read from the ClientHello itself (generated in memory, never sent), because OpenSSL
    drops versions its security level forbids, whatever its version range says.
    """
    conn = SSL.Connection(offer.context(), None)
    conn.set_connect_state()
    try:
        conn.do_handshake()
    except SSL.WantReadError:
        pass  # expected: the ClientHello is written and the answer awaited
    hello = b""
    for _ in range(16):
        try:
            hello += conn.bio_read(64 * 1024)
        except SSL.WantReadError:
            break
    versions = [_WIRE_VERSIONS[v] for v in client_hello_versions(hello) if v in _WIRE_VERSIONS]
    return tuple(sorted(versions, key=float))


async def probe_capabilities(route: Route, timeout: float, *, deadline: float | None = None) -> CapabilityObservation:
    """Run the five handshakes concurrently (bounded) and record what each got.

    ``timeout`` is each handshake's own (see :func:`probe_handshake`); ``deadline`` caps
    the whole probe (default: twice ``timeout``), after which unfinished attempts are
    cancelled and listed in ``not_run``. Never raises for network outcomes.
    """
    started = time.perf_counter()
    slots = asyncio.Semaphore(_MAX_CONCURRENT)
    opened = 0

    async def attempt(offer: ClientOffer) -> HandshakeObservation:
        nonlocal opened
        async with slots:
            opened += 1
            return await handshake_with(route, timeout, offer)

    offers = {"default": DEFAULT_OFFER, **{v: single_version_offer(v) for v in PROBED_VERSIONS}}
    tasks = {name: asyncio.ensure_future(attempt(offer)) for name, offer in offers.items()}
    _done, pending = await asyncio.wait(tasks.values(), timeout=deadline if deadline is not None else 2 * timeout)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=2.0)  # let cancelled attempts close their sockets

    results: dict[str, HandshakeObservation] = {}
    not_run = []
    for name, task in tasks.items():
        if task in pending or task.cancelled():
            not_run.append(name)
        else:
            results[name] = task.result()  # handshakes never raise for network outcomes: a bug shows

    attempts = {v: results[v] for v in PROBED_VERSIONS if v in results}
    accepted = tuple(v for v, obs in attempts.items() if obs.ok and _OPENSSL_VERSION_NAMES.get(obs.version or "") == v)
    default = results.get("default")
    return CapabilityObservation(
        versions_accepted=accepted,
        ciphers_negotiated={v: attempts[v].cipher or "" for v in accepted},
        default_client_ok=bool(default and default.ok),
        default_client_error=default.error if default else "not run: the probe's deadline passed",
        default_client_alert=default.alert if default else None,
        default_client_versions=default_client_versions(),
        default_client=default,
        attempts=attempts,
        not_run=tuple(not_run),
        connections=opened,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
    )


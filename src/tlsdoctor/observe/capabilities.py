"""Which TLS versions, cipher suites and groups the server accepts, asked with our own ClientHellos.

A failed default handshake says *that* client and server share nothing; it rarely says
what. Asking through the local OpenSSL would only ever find what OpenSSL still offers,
and a server that accepts nothing else (NULL, export, RC4, 3DES, CCM-8, GOST suites,
an unusual group) would look like a server that accepts nothing. So, as sslyze and
testssl.sh do, the probe writes its ClientHellos itself (:class:`tlsdoctor.wire.ClientHello`)
and reads the server's plaintext answer (:func:`tlsdoctor.wire.read_server_flight`); it
never completes a handshake, so it needs no cipher implementation at all:

1. **Versions**, concurrently, one hello each offering every suite and group we know:
   TLS 1.3 only, TLS 1.2 only, TLS ≤ 1.1 (not asked when the client's own hello was refused
   with handshake_failure or insufficient_security: a cipher refusal, not a version one). The answers name the server's first-choice
   suite at each version, the group it wants (HelloRetryRequest / key share / TLS 1.2
   ServerKeyExchange), a finite-field DH prime's size and a TLS 1.2 CertificateRequest.
2. **The local client's own offer**, rewritten byte for byte from OpenSSL's in-memory
   ClientHello (its versions, suites, groups, signature schemes): does the server accept
   it? Skipped when a first choice above is already one the client offers, and not sent
   when the diagnosis's own failed handshake (the same client) already answers it.
3. **Suites, bisected**: while the budget lasts, the same hello minus every suite found
   so far names the server's next choice (batching hundreds of suites per hello).

At most :data:`MAX_CONNECTIONS` connections, each with its own timeout, all under one
deadline. Judges nothing: :mod:`tlsdoctor.judge.rules.tls` reads the record.
"""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass, field

from OpenSSL import SSL

from tlsdoctor.observe.first_answer import close_stream
from tlsdoctor.observe.handshake import ClientOffer, HandshakeObservation
from tlsdoctor.observe.route import Route, RouteError, open_stream
from tlsdoctor.socket_stream import read_within
from tlsdoctor.wire import (
    BY_NAME,
    TLS12_SUITES,
    TLS13_SUITES,
    ClientHello,
    OfferedHello,
    ServerFlight,
    group_name,
    parse_client_hello,
    read_server_flight,
    server_flight_needs_more,
    suite_name,
    with_fresh_random,
)
from tlsdoctor.wire.extensions import ALL_GROUPS, POST_QUANTUM_GROUPS

MAX_CONNECTIONS = 6  # three version hellos, the client's own offer, two bisection steps
# A ClientHello larger than this spans two TCP segments on common paths (MSS 1460, less with
# options, PPPoE or IPv6): servers and middleboxes that read one segment fail on it
# (https://tldr.fail). Past it, a hello that got no answer at all is asked again, small.
ONE_SEGMENT = 1400
# Public key shares for the hellos, made once per process: a probe never completes a key
# exchange (it reads the ServerHello and hangs up), so a fresh key per hello bought nothing
# but ~0.3 ms of key generation each.
_KEY_SHARES: dict[int, bytes] = {}
# Alerts with which a server refuses a hello it could read, for what it offered rather than
# its versions: handshake_failure (40), insufficient_security (71).
_NOT_A_VERSION_REFUSAL = frozenset({40, 71})
_MAX_READS = 1024
_READ_CHUNK = 64 * 1024

_WIRE_VERSIONS = {(3, 1): "1.0", (3, 2): "1.1", (3, 3): "1.2", (3, 4): "1.3"}
# The version hellos: (name, versions offered, suites offered).
_VERSION_HELLOS: tuple[tuple[str, tuple[str, ...], tuple[int, ...]], ...] = (
    ("1.3", ("1.3",), TLS13_SUITES),
    ("1.2", ("1.2",), TLS12_SUITES),
    ("1.1", ("1.1",), TLS12_SUITES),  # legacy_version 3.2: the server may answer 1.1 or 1.0
)


@dataclass(frozen=True)
class HelloAttempt:
    """One ClientHello sent and what came back. ``accepted``: a ServerHello (or HelloRetryRequest)."""

    name: str  # "1.3", "1.2", "1.1", "client", "client-small", "more-1.2"...
    offered_suites: int
    flight: ServerFlight | None
    error: str | None = None  # how the exchange ended without an answer (refused, reset, silence...)
    sent_bytes: int = 0  # the ClientHello's size on the wire (0: not sent by this probe)

    @property
    def accepted(self) -> bool:
        return self.flight is not None and self.flight.server_hello is not None

    @property
    def version(self) -> str | None:
        hello = self.flight.server_hello if self.flight else None
        return _WIRE_VERSIONS.get(hello.version) if hello else None

    @property
    def suite(self) -> int | None:
        hello = self.flight.server_hello if self.flight else None
        return hello.cipher_suite if hello else None

    @property
    def alert(self) -> int | None:
        alert = self.flight.alert if self.flight else None
        return int(alert[1]) if alert else None


@dataclass(frozen=True)
class CapabilityObservation:
    """What the server accepted from our hellos, and what the local default client offers.

    ``versions_accepted`` lists, oldest first, the versions the server answered with a
    ServerHello; ``ciphers_negotiated`` maps each to the IANA name of its first-choice
    suite, ``suites_accepted`` to every suite found (server preference order; complete
    only if ``suites_complete``). ``default_client_ok`` says whether the server accepted
    the local client's own offer (its hello, rewritten): False with an alert is a
    mismatch of suites, groups or signature schemes; True means the failure is later.
    ``groups_selected`` are the key-exchange groups the server chose or asked for;
    ``dh_prime_bits`` the size of a TLS 1.2 finite-field DH group it sent.
    """

    versions_accepted: tuple[str, ...]
    ciphers_negotiated: dict[str, str]
    suites_accepted: dict[str, tuple[str, ...]]
    suites_complete: bool
    default_client_ok: bool | None
    default_client_error: str | None
    default_client_alert: int | None
    default_client_versions: tuple[str, ...]
    default_client_suites: tuple[str, ...]
    default_client_groups: tuple[str, ...]
    groups_selected: tuple[str, ...] = ()
    dh_prime_bits: int | None = None
    certificate_requested: bool = False
    attempts: tuple[HelloAttempt, ...] = ()
    not_run: tuple[str, ...] = ()  # hellos cut off by the deadline
    connections: int = 0
    elapsed_ms: float = 0.0
    families: dict[str, str] = field(default_factory=dict)  # IANA name -> what clients refuse it as ("NULL"...)
    # The local client's own ClientHello: its size, and the groups it sends key shares for
    # (a post-quantum share, X25519MLKEM768, adds 1,184 bytes and takes it past one TCP segment).
    default_client_hello_bytes: int = 0
    default_client_key_shares: tuple[str, ...] = ()

    @property
    def small_hello(self) -> HelloAttempt | None:
        """The client's own offer resent in a small hello with a classic key share: after its own large one
        got no answer, or only an alert when it carried a post-quantum key share."""
        return next((a for a in self.attempts if a.name == "client-small"), None)


# -- what the local default client offers --------------------------------------------------------


@functools.lru_cache(maxsize=4)
def default_client_offer(offer: ClientOffer = ClientOffer()) -> OfferedHello:
    """The ClientHello a client with ``offer`` writes, read back (generated in memory, never sent).

    Read from the hello itself, because OpenSSL drops what its security level forbids,
    whatever its configuration says.
    """
    offered = parse_client_hello(_default_client_hello(offer))
    if offered is None:  # pragma: no cover - OpenSSL always writes a readable hello
        raise RuntimeError("could not read the local client's own ClientHello")
    return offered


def default_client_hello_size(offer: ClientOffer = ClientOffer()) -> int:
    """The size in bytes of the ClientHello a client with ``offer`` writes (its first record)."""
    return len(_default_client_hello(offer))


@functools.lru_cache(maxsize=4)
def _default_client_hello(offer: ClientOffer) -> bytes:
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
    return hello


def default_client_versions(offer: ClientOffer = ClientOffer()) -> tuple[str, ...]:
    """The versions a client with ``offer`` puts in its ClientHello, oldest first."""
    versions = [_WIRE_VERSIONS[v] for v in default_client_offer(offer).versions if v in _WIRE_VERSIONS]
    return tuple(sorted(versions, key=float))


def _client_hello_like(offered: OfferedHello, server_name: str | None) -> ClientHello:
    """Our ClientHello with exactly what the local client offers (versions, suites, groups, schemes)."""
    versions = tuple(v for v in offered.versions if v in _WIRE_VERSIONS)
    return ClientHello(versions=versions, cipher_suites=offered.cipher_suites, groups=offered.groups,
                       signature_algorithms=offered.signature_algorithms, server_name=server_name,
                       _key_shares=_KEY_SHARES)


# -- the probe -------------------------------------------------------------------------------------


async def probe_capabilities(route: Route, timeout: float, *, deadline: float | None = None,
                             max_connections: int = MAX_CONNECTIONS,
                             own_handshake: HandshakeObservation | None = None) -> CapabilityObservation:
    """Ask the server what it accepts, in at most ``max_connections`` hellos. Never raises for network outcomes.

    ``timeout`` bounds each exchange (connect, then the answer); ``deadline`` the whole
    probe (default: three times ``timeout``), after which unfinished hellos are cancelled
    and listed in ``not_run``. ``own_handshake``: a failed handshake of the local default
    client already made (the diagnosis's own); its answer stands in for step 2's hello.
    """
    started = time.perf_counter()
    server_name = route.target.server_name
    client = default_client_offer()
    client_suites = set(client.cipher_suites)
    attempts: list[HelloAttempt] = []
    own = _own_attempt(own_handshake, len(client.cipher_suites))
    if own is not None:
        attempts.append(own)
    not_run: list[str] = []
    # The hello the handshake already sent counts against the budget: it saved a connection,
    # not bought a further bisection step.
    budget = [max(1, max_connections - (1 if own is not None else 0))]

    async def ask(name: str, hello: ClientHello) -> HelloAttempt:
        budget[0] -= 1
        attempt = await _exchange(route, name, hello, timeout)
        attempts.append(attempt)
        return attempt

    async def bisect(best: HelloAttempt) -> None:
        """The server's next choices at ``best``'s version: the same hello minus every suite found so far."""
        found = [best.suite]
        pool = TLS13_SUITES if best.version == "1.3" else TLS12_SUITES
        versions = ("1.3",) if best.version == "1.3" else (best.version,)
        for step in range(budget[0]):
            rest = tuple(s for s in pool if s not in found)
            if not rest:
                break
            more = await ask(f"more-{best.version}-{step + 1}",
                             ClientHello(versions=versions, cipher_suites=rest, server_name=server_name,
                                         _key_shares=_KEY_SHARES))
            if not more.accepted or more.suite in found or more.suite not in rest:
                break
            found.append(more.suite)

    async def run() -> None:
        if own is not None and own.flight is None:
            # The client's hello got no answer at all: a reset or a close. Only its size is
            # worth one more connection (the probe runs for this case only past ONE_SEGMENT):
            # the same offer in a small hello says whether the server reads a hello whole.
            await ask("client-small", _client_hello_like(client, server_name))
            return
        wanted = _VERSION_HELLOS[: budget[0]]
        refused_for_ciphers = own is not None and own.alert in _NOT_A_VERSION_REFUSAL
        if refused_for_ciphers:
            # The server refused this client's own hello for its ciphers or groups, not its
            # versions (it would have said protocol_version): TLS 1.1 and older, which the
            # client does not offer, cannot be the answer. One hello fewer for the server
            # to answer, and on a small machine the server's time is the diagnosis's.
            wanted = tuple(hello for hello in wanted if hello[0] != "1.1")
        asked = [asyncio.ensure_future(ask(
            # Every group we know: a server that wants one we hold no share for names it in a
            # HelloRetryRequest, which is the answer we want.
            name, ClientHello(versions=versions, cipher_suites=suites, groups=ALL_GROUPS, server_name=server_name,
                              _key_shares=_KEY_SHARES)))
            for name, versions, suites in wanted]
        early: asyncio.Future[None] | None = None
        try:
            if refused_for_ciphers and wanted and wanted[0][0] == "1.3" and "1.3" in default_client_versions():
                # The client's own hello was refused, so a TLS 1.3 first choice outside its suites
                # will be bisected whatever TLS 1.2 answers (1.3 is the highest version both
                # speak): the bisection starts the moment that answer is in, one server
                # exchange sooner than waiting for every version's answer.
                top = await asked[0]
                if top.accepted and top.version == "1.3" and top.suite not in client_suites:
                    early = asyncio.ensure_future(bisect(top))
            first = await asyncio.gather(*asked)
            if early is not None:
                await early
                return
            accepted = [a for a in first if a.accepted]
            if all(a.flight is None for a in first):
                return  # silence, resets or refusals to every hello: nothing more to learn by asking again
            shared = [a for a in accepted if a.version in default_client_versions()]
            if not shared:
                return  # no version in common: that is the answer, suites do not matter
            # The client's own offer, unless a first choice already proves the server takes it.
            proven = any(a.suite in client_suites for a in shared)
            if not proven and budget[0] > 0 and own is None:
                await ask("client", _client_hello_like(client, server_name))
            if proven and budget[0] > 0 and own is not None and own.alert is not None \
                    and own.flight is not None and own.flight.server_hello is None \
                    and POST_QUANTUM_GROUPS & set(client.key_share_groups):
                # The server takes this client's suites, yet answered its own hello with nothing
                # but an alert, and that hello carried a post-quantum key share: the same offer with a classic
                # share (our hellos' own) says whether the share is what it refuses.
                await ask("client-small", _client_hello_like(client, server_name))
                return
            # Bisect the suites at the highest version both speak.
            best = max(shared, key=lambda a: float(a.version or 0), default=None)
            client_ok = proven or any(a.accepted for a in attempts if a.name == "client")
            if best is None or client_ok:
                return
            await bisect(best)
        finally:
            for pending in (*asked, *((early,) if early is not None else ())):
                pending.cancel()  # a no-op for those done; the deadline's cancellation reaches the rest

    task = asyncio.ensure_future(run())
    try:
        await asyncio.wait_for(asyncio.shield(task), deadline if deadline is not None else 3 * timeout)
    except asyncio.TimeoutError:
        task.cancel()
        await asyncio.wait({task}, timeout=2.0)  # let cancelled exchanges close their sockets
        not_run.append("the probe's deadline cut the remaining hellos")
    return _observation(attempts, tuple(not_run), max_connections - budget[0] - (1 if own is not None else 0), started)


def _own_attempt(handshake: HandshakeObservation | None, offered_suites: int) -> HelloAttempt | None:
    """The local default client's hello, as a handshake of that client already sent it; None if it cannot stand in.

    Only an uncompleted handshake made with exactly the default offer counts: any other
    offer (a TLS version cap) says nothing about the default client's.
    """
    if handshake is None or handshake.ok or handshake.route_error is not None or handshake.offer != ClientOffer():
        return None
    flight = handshake.server_flight
    return HelloAttempt("client", offered_suites, flight, None if flight is not None else handshake.error)


async def _exchange(route: Route, name: str, hello: ClientHello, timeout: float) -> HelloAttempt:
    """Send ``hello``, read the server's plaintext flight until it says enough (bounded), close."""
    try:
        (reader, writer), _answer = await open_stream(route, timeout)
    except RouteError as exc:
        return HelloAttempt(name, len(hello.cipher_suites), None, str(exc))
    data = b""
    flight: ServerFlight | None = None  # the reading of ``data``, kept: each byte is parsed once
    error = None
    sent = b""
    try:
        sent = _hello_bytes(hello)
        writer.write(sent)
        loop = asyncio.get_running_loop()
        ends = loop.time() + timeout
        for _ in range(_MAX_READS):
            remaining = ends - loop.time()
            if remaining <= 0:
                error = f"no complete answer within {timeout:g} s"
                break
            chunk = await read_within(reader, _READ_CHUNK, remaining)
            if not chunk:
                error = "the server closed the connection" if not data else None
                break
            data += chunk
            flight = read_server_flight(data)
            if not server_flight_needs_more(data, flight):
                break
    except asyncio.TimeoutError:
        error = f"no complete answer within {timeout:g} s"
    except (ConnectionError, OSError) as exc:
        error = f"the connection failed: {exc.strerror or type(exc).__name__}"
    except asyncio.CancelledError:
        writer.transport.abort()
        raise
    finally:
        writer.transport.abort()  # never finish a handshake we cannot complete
        await close_stream(writer)
    return HelloAttempt(name, len(hello.cipher_suites), flight, error, len(sent))


@functools.lru_cache(maxsize=64)
def _hello_template(hello: ClientHello) -> bytes:
    # Every hello here shares the process's key shares (_KEY_SHARES), so equal hellos have
    # equal bytes: the version hellos offer hundreds of suites and are the same each time.
    return hello.to_bytes()


def _hello_bytes(hello: ClientHello) -> bytes:
    """The hello's bytes, built once per distinct hello, with a fresh random and session id each time."""
    return with_fresh_random(_hello_template(hello))


def _observation(attempts: list[HelloAttempt], not_run: tuple[str, ...], connections: int,
                 started: float) -> CapabilityObservation:
    accepted = [a for a in attempts if a.accepted and a.version]
    versions = sorted({a.version for a in accepted if a.name in ("1.3", "1.2", "1.1")}, key=float)  # type: ignore[arg-type]
    first_choice = {a.version: suite_name(a.suite) for a in accepted if a.name in ("1.3", "1.2", "1.1")}  # type: ignore[misc]
    suites: dict[str, list[str]] = {}
    for a in sorted(accepted, key=lambda a: a.name):  # version hellos ("1.x") before bisection steps ("more-")
        names = suites.setdefault(a.version, [])  # type: ignore[arg-type]
        if suite_name(a.suite) not in names:  # type: ignore[arg-type]
            names.append(suite_name(a.suite))  # type: ignore[arg-type]
    bisected = [a for a in attempts if a.name.startswith("more-")]
    complete = bool(bisected) and not bisected[-1].accepted
    client = next((a for a in attempts if a.name == "client"), None)
    client_versions = default_client_versions()
    client_offer = default_client_offer()
    client_suites, client_groups = _names_of(client_offer)
    if client is None:
        client_ok: bool | None = any(a.suite in client_offer.cipher_suites and a.version in client_versions
                                     for a in accepted) or None
    else:
        client_ok = client.accepted
    groups = []
    for a in accepted:
        flight = a.flight
        hello = flight.server_hello if flight else None
        group = hello.selected_group if hello else None
        if group is None and flight is not None and flight.key_exchange is not None:
            group = flight.key_exchange.named_group
        if group is not None and group_name(group) not in groups:
            groups.append(group_name(group))
    dh_bits = next((a.flight.key_exchange.dh_prime_bits for a in accepted if a.flight and a.flight.key_exchange
                    and a.flight.key_exchange.dh_prime_bits), None)
    named = {n for names in suites.values() for n in names}
    return CapabilityObservation(
        versions_accepted=tuple(versions),  # type: ignore[arg-type]
        ciphers_negotiated=first_choice,  # type: ignore[arg-type]
        suites_accepted={v: tuple(n) for v, n in sorted(suites.items(), key=lambda kv: float(kv[0]))},
        suites_complete=complete,
        default_client_ok=client_ok,
        default_client_error=client.error if client is not None else None,
        default_client_alert=client.alert if client is not None else None,
        default_client_versions=client_versions,
        default_client_suites=client_suites,
        default_client_groups=client_groups,
        groups_selected=tuple(groups),
        dh_prime_bits=dh_bits,
        certificate_requested=any(a.flight is not None and a.flight.certificate_request is not None
                                  for a in attempts),
        attempts=tuple(attempts),
        not_run=not_run,
        connections=connections,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
        families={n: f for n in sorted(named) if (f := _family(n)) is not None},
        default_client_hello_bytes=default_client_hello_size(),
        default_client_key_shares=tuple(group_name(g) for g in client_offer.key_share_groups),
    )


@functools.lru_cache(maxsize=4)
def _names_of(offered: OfferedHello) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The IANA names of an offer's suites and groups (the same few offers, named once per process)."""
    return tuple(suite_name(s) for s in offered.cipher_suites), tuple(group_name(g) for g in offered.groups)


def _family(name: str) -> str | None:
    suite = BY_NAME.get(name)
    return suite.family if suite else None

"""The probes of one diagnosis, run as soon as their inputs exist, each fact kept as it arrives.

Every probe has its own timeout and the whole diagnosis one deadline (by default
``timeout`` × :data:`STAGES`, the longest chain of probes that wait on each other):

1. **Route**: DNS (origin, or proxy); a TCP connect to each address when there are
   several (with one, the handshake's own connect is the TCP probe); with an ``https://``
   proxy, a handshake with the proxy itself (does it speak TLS, and which certificate).
2. **Wire**: at once — a handshake that captures the chain (verification off: we
   observe) and whose first bytes back are the raw first answer, then ``HEAD /`` over that
   same connection (the server's Date; over HTTP/1.1 again only when h2 failed); one real
   libcurl attempt with the client's trust; through a proxy, the same handshake directly,
   to compare chains.
3. **Capabilities**: only when the handshake fails, versions and ciphers one by one.
4. **Trust**: as soon as the handshake has a chain — the caIssuers fetch, then OCSP and
   CRL together (only for a chain that verifies somewhere), while the wire stage goes on;
   offline: the chain against every trust source at local time, without the name, at the
   server's time, OpenSSL's own verdict, the CA-file linter.

Every fact is kept the moment its probe finishes, so a deadline loses only the probes it
cut, and :attr:`Observations.cut` names them: the judge then cannot call the request
``ok`` without the observations that prove it. The observer judges nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable

from tlsdoctor import aio
from tlsdoctor.clock import Clock
from tlsdoctor.observe.chain_checks import ChainChecks
from tlsdoctor.observe.curl import CurlAttempt, curl_attempt
from tlsdoctor.observe.first_answer import first_answer_of
from tlsdoctor.observe.handshake import ClientOffer, HandshakeSession, probe_handshake, start_handshake
from tlsdoctor.observe.http import HttpExchange, http_after, parse_http_date
from tlsdoctor.observe.observations import ClientProfile, Observations
from tlsdoctor.observe.revocation import fetch_issuer, probe_revocation
from tlsdoctor.observe.route import Proxy, Resolution, Route, TcpConnect, resolve, tcp_connect
from tlsdoctor.observe.trust import TrustSource, one_line
from tlsdoctor.wire import TLS_ANSWERS, AnswerKind

# The probes that wait on one another: route, then wire, then capabilities (only after a
# failed handshake), then the trust fetches (caIssuers, then OCSP/CRL). Each is bounded by
# ``timeout``, so ``timeout`` × STAGES bounds a diagnosis, and is its default deadline.
STAGES = 4
# libcurl's attempt waits for our first bytes to go out, but no longer than this share of the
# timeout: a connect still unanswered by then is what libcurl will meet too.
CURL_GRACE = 0.25


class Observer:
    """Runs the probes and keeps each fact the moment it arrives, so a deadline loses only what it cut."""

    def __init__(self, route: Route, client: ClientProfile, own: tuple[TrustSource, tuple[TrustSource, ...]],
                 os_store: asyncio.Future[TrustSource], timeout: float, clock: Clock, libcurl: bool,
                 on_probe: Callable[[str, bool], None] | None = None) -> None:
        self.route, self.client = route, client
        # The route the probes take: the client's, but a plain proxy set as https:// is tunnelled
        # through in plain text, as the corrected setting would be (see _proxy_handshake).
        self.probe_route = route
        self.bundle, self.extras = own
        self.os_store = os_store
        # The offline questions about the chain, answered once, whoever asks first.
        self.checks = ChainChecks(self.bundle, self.extras, os_store, route.target.host, clock.now())
        self.timeout, self.clock, self.libcurl = timeout, clock, libcurl
        self.on_probe = on_probe
        self.tasks: dict[str, asyncio.Task[Any]] = {}
        self.derived: dict[str, Any] = {}  # observations read off another probe's result
        self.connections = 0
        self.live_address: str | None = None  # of several addresses, the first that accepted a connection
        self.local_time = self.checks.local_time

    async def observe(self, budget: float, deadline: float) -> Observations:
        """Run every probe within ``budget`` seconds; whatever is unfinished then is cut and named."""
        cut: list[tuple[str, str]] = []
        try:
            async with asyncio.timeout(budget):
                await self._run()
        except TimeoutError:
            pass
        finally:
            for name, task in self.tasks.items():
                # Unfinished, or already cancelled by the deadline through an enclosing gather:
                # nothing else cancels a probe, so either way the deadline cut it.
                if not task.done() or task.cancelled():
                    task.cancel()  # each probe aborts its connections when cancelled
                    cut.append((name, f"cut by the diagnosis deadline ({deadline:g} s)"))
            pending = [t for t in self.tasks.values() if not t.done()]
            if pending:
                await asyncio.wait(pending, timeout=1.0)  # cancellation is prompt; bounded all the same
            if not self.os_store.done():
                # Offline and bounded (the loaders cap every file and count); a thread cannot
                # be cancelled, so wait for it, within reason.
                await asyncio.wait([self.os_store], timeout=self.timeout)
        notes = (f"the diagnosis deadline ({deadline:g} s) cut some probes short",) if cut else ()
        return self._observations(tuple(cut), notes, deadline if cut else None)

    def _start(self, name: str, probe: Awaitable[Any], connections: int = 0) -> asyncio.Task[Any]:
        """Start a probe now; whatever it finishes with is kept (see :meth:`_finished`)."""
        task = asyncio.ensure_future(probe)
        self.tasks[name] = task
        self.connections += connections
        if self.on_probe is not None:
            on_probe = self.on_probe
            on_probe(name, True)
            task.add_done_callback(lambda _task: on_probe(name, False))
        return task

    def _finished(self) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Every finished probe's result, read from the tasks themselves, and the probes that crashed.

        Read at the end rather than kept by done-callbacks: a callback runs one loop turn
        after its task ends, and the diagnosis may be assembled in between.
        """
        results: dict[str, Any] = dict(self.derived)
        failed: list[tuple[str, str]] = []
        for name, task in self.tasks.items():
            if not task.done() or task.cancelled():
                continue
            error = task.exception()
            if error is None:
                results[name] = task.result()
            else:  # a probe's own bug: the fact is missing, and the diagnosis says so rather than guess
                failed.append((name, f"the probe failed: {type(error).__name__}: {one_line(str(error), 200)}"))
        return results, failed

    async def _run(self) -> None:
        await self._route_stage()
        if self._route_failed():
            # Nothing more to observe, but what libcurl says is what the field report will say.
            if self.libcurl:
                await self._start("curl", self._curl(), connections=1)
            return
        await self._wire_stage()
        # Started by the handshake as soon as it had a connection (HEAD), a chain (revocation)
        # or a refusal (capabilities).
        # ... and the TCP probes of the other addresses, where there are several: a dead one's
        # timeout is what it costs a client, and the finding (bounded by the timeout).
        for name in ("http", "capabilities", "revocation", "tcp"):
            task = self.tasks.get(name)
            if task is not None:
                await task

    async def _route_stage(self) -> None:
        target, proxy = self.route.target, self.route.proxy
        if proxy is not None:
            probes = [self._start("proxy_resolution", resolve(proxy.host, proxy.port, self.timeout))]
            if proxy.tls_to_proxy:
                # An https:// proxy: our handshake with the proxy itself says whether it speaks TLS
                # (its first answer) and which certificate it presents (judged against the client's CA file).
                probes.append(self._start("proxy_handshake", self._proxy_handshake(proxy), connections=1))
            await asyncio.gather(*probes)
            return
        if self.route.addresses:  # pinned by the client (curl --resolve): no resolver asked
            resolution = await self._start("resolution", _pinned(target.host, self.route.addresses))
        else:
            resolution = await self._start("resolution", resolve(target.host, target.port, self.timeout))
        if len(resolution.addresses) == 1:
            # One address: the handshake's own connect is the TCP probe (see _tcp_from), so
            # the wire stage does not wait a round trip for a connection that proves nothing more.
            self.probe_route = dataclasses.replace(self.route, addresses=resolution.addresses)
            return
        if resolution.addresses:
            await self._first_connected(resolution.addresses[:4])  # bounded: enough to see a dead one among live ones

    async def _first_connected(self, addresses: tuple[str, ...]) -> None:
        """A TCP connect to each address at once; the wire stage starts at the first that connects,
        on that address, while the others' probes go on (a dead one's outcome is the finding).

        Clients that try addresses one by one in the resolver's order (Python's
        socket.create_connection, Java) wait out a dead first address; curl and browsers race
        them (Happy Eyeballs, RFC 8305). The probes connect where a connection is to be had,
        and the address that got none is reported for what it costs the former.
        """
        port = self.route.target.port
        probes = [asyncio.ensure_future(tcp_connect(a, port, self.timeout)) for a in addresses]
        self._start("tcp", _gather_tuple(probes), connections=len(addresses))
        pending = set(probes)
        for _ in range(len(probes)):
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            live = next((t.result().address for t in probes if t in done and t.result().outcome == "connected"), None)
            if live is not None:
                self.live_address = live
                self.probe_route = dataclasses.replace(self.route, addresses=(live,))
                return
            if not pending:
                return

    async def _tcp_from(self, handshake: Any) -> None:
        """For a one-address origin, the TCP observation the handshake's connect already made.

        A connect that failed is probed again on its own, so that the route rules read the
        same facts (refused, unreachable, reset) as with several addresses; one that timed out
        is that fact already, and probing again would only wait the timeout a second time.
        """
        target = self.route.target
        address = self.tasks["resolution"].result().addresses[0]
        failure = handshake.route_error
        if failure is None:
            self.derived["tcp"] = (TcpConnect(address, target.port, "connected", None, handshake.connect_ms or 0.0),)
        elif failure.stage == "connect" and failure.timed_out:
            self.derived["tcp"] = (TcpConnect(address, target.port, "timed_out", f"no answer within {self.timeout:g} s",
                                              handshake.elapsed_ms),)
        else:
            await self._start("tcp", _gather_tuple([tcp_connect(address, target.port, self.timeout)]), connections=1)

    async def _proxy_handshake(self, proxy: Proxy) -> Any:
        """The handshake with an https:// proxy itself; its chain's checks with the client's trust.

        A proxy that answers the ClientHello in plain text (or hangs up) is an http:// proxy set
        as https://: the probes then tunnel through it as the corrected setting would, in plain
        text; one that speaks TLS gets TLS, and CONNECT inside it (observe/tls_layer.py).
        """
        handshake = await probe_handshake(Route(proxy.target, None), self.timeout)
        answer = first_answer_of(handshake)
        self.derived["proxy_answer"] = answer
        if answer.answer is not None and answer.answer.kind not in TLS_ANSWERS:
            self.probe_route = Route(self.route.target, dataclasses.replace(proxy, url="http://" + proxy.url[8:]))
        if handshake.presented_chain:
            checks = ChainChecks(self.bundle, (), self.os_store, proxy.target.host, self.local_time)
            await self.os_store  # the proxy's chain is checked against every source, as the origin's
            self.derived["proxy_trust"] = checks.observation(handshake.presented_chain, None, None)
        return handshake

    def _route_failed(self) -> bool:
        if self.route.proxy is not None:
            return not self.tasks["proxy_resolution"].result().addresses
        if not self.tasks["resolution"].result().addresses:
            return True
        if "tcp" not in self.tasks:
            return False  # one address: the handshake connects (and says if it could not)
        # Several: the route stage ended at the first that connected, or when none could.
        return self.live_address is None

    async def _wire_stage(self) -> None:
        max_tls = self.client.max_tls
        # One handshake serves three probes: its first bytes back are the server's first
        # answer (read as the first-answer probe reads them), and its connection carries the
        # HEAD, so no separate ClientHello or HTTP connection is needed.
        wire = [self._start("handshake", self._handshake_then_trust(), connections=1)]
        if self.route.proxy is not None:
            direct = Route(self.route.target, None)
            wire.append(self._start("direct_handshake", probe_handshake(direct, self.timeout, max_version=max_tls),
                                    connections=1))
        await asyncio.gather(*wire)
        if "curl" in self.tasks:
            await self.tasks["curl"]

    def _start_curl(self) -> None:
        """libcurl's attempt, once (started when our first bytes are out; see _handshake_then_trust)."""
        if self.libcurl and "curl" not in self.tasks:
            self._start("curl", self._curl(), connections=1)

    async def _handshake_then_trust(self) -> Any:
        """The handshake; the moment it ends, the HEAD over its connection and the revocation probe start.

        libcurl's attempt starts the moment our first bytes are out (the ClientHello, or
        the CONNECT request through a proxy), not with them: a server (or proxy) answers
        in the order requests come, and ours is the one the rest of the diagnosis waits
        for (HEAD, revocation, capabilities), while libcurl's verdict is only needed by
        the end. On a loaded server, or the lab on two cores, a hello queued
        behind libcurl's cost the whole diagnosis a server handshake of waiting.
        """
        # A connect that gets no answer never sends a hello: libcurl then starts after a grace,
        # so that its own connect timeout runs mostly beside ours, not after it.
        late_start = asyncio.get_running_loop().call_later(self.timeout * CURL_GRACE, self._start_curl)
        try:
            session = await start_handshake(self.probe_route, self.timeout,
                                            ClientOffer(max_version=self.client.max_tls), on_sent=self._start_curl)
        finally:
            late_start.cancel()
        self._start_curl()  # in case the attempt ended before any hello went out
        handshake = session.observation
        self.derived["first_answer"] = first_answer_of(handshake)
        if self.route.proxy is None and "tcp" not in self.tasks:
            await self._tcp_from(handshake)
        if handshake.ok:
            self._start("http", self._http(session))
        else:
            await session.close()
        if handshake.presented_chain:
            self._start("revocation", self._revocation(handshake.presented_chain, handshake.ocsp_staple))
            # The offline checks of the chain need no network: done now, while the HEAD and the
            # fetches wait on the server, they are off the diagnosis's path to its end.
            asyncio.get_running_loop().call_soon(self.checks.check_offline, handshake.presented_chain)
        answer = handshake.first_answer
        speaks_tls = answer is None or answer.kind in TLS_ANSWERS
        # Probing versions and ciphers only makes sense with a server that speaks TLS; it
        # starts now, not after libcurl's attempt, and our failed hello is its first answer.
        if not handshake.ok and handshake.route_error is None and (speaks_tls or _large_hello_refused(handshake)):
            self._start("capabilities", self._capabilities(handshake))
        return handshake

    async def _capabilities(self, handshake: Any) -> Any:
        from tlsdoctor.observe.capabilities import probe_capabilities  # its tables only when a handshake fails

        capabilities = await probe_capabilities(self.probe_route, self.timeout, own_handshake=handshake)
        self.connections += capabilities.connections
        return capabilities

    async def _http(self, session: HandshakeSession) -> Any:
        """The HTTP answer: libcurl's when it got one over the protocol ALPN chose, else HEAD / of our own.

        libcurl's attempt (verification on, the client's own request) runs beside the
        handshake; when it answered, its status, Date and HTTP version are the facts a HEAD
        would bring, and asking again would only cost the server an exchange. Otherwise HEAD
        / over the handshake's connection, and again over HTTP/1.1 alone if h2 failed.
        """
        try:
            first = await self._libcurl_answer(session.observation) if self._libcurl_may_answer(session) else None
            if first is None:
                first = await session.head(self.probe_route, self.timeout)
        finally:
            await session.close()
        assert first is not None  # the session's handshake completed
        observation = await http_after(first, self.probe_route, self.timeout, self.clock.now)
        self.connections += observation.connections
        return observation

    def _libcurl_may_answer(self, session: HandshakeSession) -> bool:
        """Can libcurl's attempt bring an HTTP answer at all? Only past verification with the client's trust.

        When the client's own CA file rejects the chain we were shown (an interceptor's, an
        expired one), libcurl stops at the handshake, and waiting for it only delays our
        HEAD. The validation is the one the trust observation makes anyway (cached).
        """
        chain = session.observation.presented_chain
        if "curl" not in self.tasks or not chain:
            return False
        return self.checks.client_accepts(chain)

    async def _libcurl_answer(self, handshake: Any) -> HttpExchange | None:
        """libcurl's answer, if it comes within about one more handshake's time; else None (ask ourselves).

        libcurl started as soon as our hello was out and needs one round trip more for its
        answer, so it is usually there or nearly; a server that stalls its HTTP answer must not make the
        diagnosis wait libcurl's whole timeout before our own HEAD starts.
        """
        task = self.tasks.get("curl")
        if task is None:
            return None
        grace = max(0.02, 2 * (handshake.elapsed_ms or 0.0) / 1000)
        await asyncio.wait({task}, timeout=min(grace, self.timeout))
        if not task.done() or task.cancelled() or task.exception() is not None:
            return None
        alpn, curl = handshake.alpn, task.result()
        protocol = "h2" if curl.http_version == "2" else "http/1.1"
        chosen = "h2" if alpn == "h2" else "http/1.1"
        if curl.curl_code != 0 or curl.http_status is None or curl.date_header is None or protocol != chosen:
            return None
        return HttpExchange(protocol, alpn, curl.http_status, parse_http_date(curl.date_header), curl.server_header,
                            None, curl.elapsed_ms, via_libcurl=True, location=curl.redirect_url)

    async def _revocation(self, chain: tuple[Any, ...], staple: bytes | None) -> Any:
        issuer = await self._start("issuer_fetch", fetch_issuer(chain, self.timeout, self.local_time))
        self.connections += 1 if issuer is not None else 0
        # OCSP and the CRL only for a chain that verifies somewhere as presented: for one that
        # does not, no OpenSSL or libcurl client ever gets as far as asking, and the fetches
        # cost time and tell nothing. (A chain completed only by the fetched issuer is such a
        # chain: the verdict is the missing intermediate, and the report says revocation
        # was not asked.)
        verifies = await self.checks.verifies_somewhere(chain)
        revocation = await probe_revocation(chain, staple, self.timeout, fetch_responders=verifies,
                                            issuer_fetch=issuer)
        self.connections += revocation.fetches - (1 if issuer is not None else 0)
        return revocation

    async def _curl(self) -> Any:
        attempt = CurlAttempt(
            url=self.route.target.url, ca_file=Path(self.client.ca_bundle) if self.client.ca_bundle else _certifi(),
            proxy=self.route.proxy_url, max_tls=self.client.max_tls, timeout=self.timeout,
            connect_timeout=self.timeout, cert_status=self.client.require_status,
            resolve=_curl_resolve(self.route),
        )
        return await aio.in_thread(curl_attempt, attempt)

    def _observations(self, cut: tuple[tuple[str, str], ...], notes: tuple[str, ...],
                      deadline: float | None) -> Observations:
        seen, failed = self._finished()
        fetched = seen.pop("issuer_fetch", None)
        handshake = seen.get("handshake")
        if handshake is not None and handshake.presented_chain:
            # Offline checks of the chain we have: they run whatever the deadline cut.
            http = seen.get("http")
            seen["trust"] = self.checks.observation(handshake.presented_chain, http.date if http else None, fetched)
        return Observations(route=self.route, client=self.client, local_time=self.local_time,
                            connections=self.connections, notes=notes, cut=(*failed, *cut), deadline_s=deadline,
                            **seen)


def _curl_resolve(route: Route) -> tuple[str, ...]:
    """The client's pinned addresses as libcurl takes them (CURLOPT_RESOLVE), IPv6 in brackets."""
    if not route.addresses or route.proxy is not None:
        return ()
    listed = ",".join(f"[{a}]" if ":" in a else a for a in route.addresses)
    return (f"{route.target.host}:{route.target.port}:{listed}",)


async def _pinned(host: str, addresses: tuple[str, ...]) -> Resolution:
    return Resolution(host, addresses, None, 0.0, pinned=True)


async def _gather_tuple(probes: Iterable[Awaitable[Any]]) -> tuple[Any, ...]:
    return tuple(await asyncio.gather(*probes))


def _certifi() -> Path:
    import certifi

    return Path(certifi.where())


def _large_hello_refused(handshake: Any) -> bool:
    """A reset or a close was all the answer to a ClientHello larger than one TCP segment.

    Servers and middleboxes that read only the first segment of a hello fail exactly so
    (https://tldr.fail), and a post-quantum key share makes OpenSSL's hello that large: then
    the capabilities probe resends the same offer in a small hello (one connection).
    """
    from tlsdoctor.observe.capabilities import ONE_SEGMENT, default_client_hello_size

    answer = handshake.first_answer
    return (answer is not None and answer.kind in (AnswerKind.RESET, AnswerKind.EOF)
            and handshake.offer == ClientOffer() and default_client_hello_size() > ONE_SEGMENT)

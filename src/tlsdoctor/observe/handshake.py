"""One TLS handshake as a client, recorded as facts: version, cipher, ALPN, the presented chain.

The handshake runs in pyOpenSSL over memory BIOs, and asyncio moves the bytes
(:mod:`tlsdoctor.observe.tls_pump`): OpenSSL decides what the bytes mean, we decide how
long to wait and how much to read. pyOpenSSL rather than
Python's ``ssl`` because only it can ask for an OCSP staple and hand us the *whole*
chain the server sent, and because its knobs (versions, TLS 1.2 ciphers, TLS 1.3 suites,
security level) let :mod:`tlsdoctor.observe.capabilities` pin a mismatch down.

Certificate verification is OFF, on purpose: diagnosis observes the chain the server
presents (expired, for another name, re-signed by an interceptor...) and judges it
elsewhere, against each trust source. Nothing is sent after the handshake except a
close_notify, so no request ever leaves over an unverified connection.

Bounds: at most :data:`MAX_HANDSHAKE_BYTES` read, :data:`MAX_CHAIN` certificates kept, a
deadline, a cap on rounds. OpenSSL adds its own (a 100 KB cap on the certificate list),
so a server that sends a megabyte of chain costs one failed handshake, not a hang.
"""

from __future__ import annotations

import functools
import time
from typing import Callable

from cryptography import x509
from OpenSSL import SSL

from tlsdoctor.observe.first_answer import DEFAULT_ALPN, RouteFailure, close_stream
from tlsdoctor.observe.http import HttpExchange, head_over
from tlsdoctor.observe.route import ConnectAnswer, Route, RouteError, open_stream
from tlsdoctor.observe.timing import elapsed_ms
from tlsdoctor.observe.tls_pump import TlsAppStream, TlsPump, openssl_reason
from tlsdoctor.openssl_policy import TLS_VERSIONS, apply_protocol_policy
from tlsdoctor.records import record
from tlsdoctor.wire import FirstAnswer, ServerFlight, find_plaintext_alert, parse_first_answer, read_server_flight

MAX_HANDSHAKE_BYTES = 2 * 1024 * 1024
MAX_CHAIN = 20  # certificates kept from the presented chain; real chains have 2-4

VERSIONS = TLS_VERSIONS  # the names a ClientOffer accepts

@record
class ClientOffer:
    """How the client was configured, i.e. what its ClientHello offered. None: OpenSSL's default."""

    alpn: tuple[str, ...] = DEFAULT_ALPN
    min_version: str | None = None  # "1.0" ... "1.3"
    max_version: str | None = None
    cipher_list: str | None = None  # TLS 1.2 and below, OpenSSL syntax
    tls13_ciphersuites: str | None = None
    security_level: int | None = None
    request_ocsp: bool = True

    def context(self) -> SSL.Context:
        """A pyOpenSSL client context for this offer; ValueError for an unusable setting."""
        ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
        # Verification OFF on purpose: we observe the presented chain, rules judge it.
        ctx.set_verify(SSL.VERIFY_NONE)
        try:
            apply_protocol_policy(
                ctx, min_version=self.min_version, max_version=self.max_version, cipher_list=self.cipher_list,
                tls13_ciphersuites=self.tls13_ciphersuites, security_level=self.security_level,
            )
        except KeyError as exc:
            raise ValueError(f"unknown TLS version {exc.args[0]!r}; known: {', '.join(VERSIONS)}") from None
        except SSL.Error as exc:
            raise ValueError(f"OpenSSL refuses this client configuration: {openssl_reason(exc)}") from None
        if self.alpn:
            ctx.set_alpn_protos([p.encode() for p in self.alpn])
        # Tickets would be useless (every probe is a fresh context) and are never sent.
        ctx.set_options(SSL.OP_NO_TICKET)
        return ctx


@record
class HandshakeObservation:
    """What one client handshake showed. Judges nothing; ``ok`` only says it completed.

    ``presented_chain`` is what the server sent, leaf first, unverified, at most
    :data:`MAX_CHAIN` certificates (``chain_length`` counts all; ``chain_error`` says
    why it stops short, when a certificate would not parse). ``alert`` is a fatal
    alert *received* from the server. ``first_answer`` is the server's first bytes to
    this client's ClientHello, read as :func:`~tlsdoctor.wire.parse_first_answer` reads
    them. ``peer_closed``/``reset``/``timed_out`` say how the connection ended when the
    handshake did not complete for want of bytes.
    """

    ok: bool
    offer: ClientOffer
    server_name: str | None
    version: str | None = None  # OpenSSL's name: "TLSv1.3", "TLSv1.2", "TLSv1"
    cipher: str | None = None  # OpenSSL's name: "TLS_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES128-CCM8"
    alpn: str | None = None
    presented_chain: tuple[x509.Certificate, ...] = ()
    chain_length: int = 0
    chain_error: str | None = None  # a presented certificate that would not parse (the chain stops there)
    ocsp_staple: bytes | None = None  # DER OCSPResponse, when one was requested and stapled
    error: str | None = None  # OpenSSL's reason ("tlsv1 alert protocol version"), or what ended it
    alert: int | None = None
    first_answer: FirstAnswer | None = None
    bytes_received: int = 0
    peer_closed: bool = False
    reset: bool = False
    timed_out: bool = False
    connect_answer: ConnectAnswer | None = None
    route_error: RouteFailure | None = None
    connect_ms: float | None = None
    handshake_ms: float | None = None
    elapsed_ms: float = 0.0
    # The server sent a CertificateRequest (TLS 1.2 or 1.3): it wants a client certificate.
    # In TLS 1.3 the request is encrypted, so only a real handshake can see it (OpenSSL's
    # state machine passes "read server certificate request"); the CA names it listed follow.
    certificate_requested: bool = False
    client_ca_names: tuple[str, ...] = ()
    # A handshake that did not complete: the server's plaintext flight, read as the capability
    # probe reads its own hellos' answers, so that probe need not send this client's hello again.
    server_flight: ServerFlight | None = None


async def probe_handshake(
    route: Route,
    timeout: float,
    *,
    alpn: tuple[str, ...] = DEFAULT_ALPN,
    min_version: str | None = None,
    max_version: str | None = None,
    cipher_list: str | None = None,
    tls13_ciphersuites: str | None = None,
    security_level: int | None = None,
    request_ocsp: bool = True,
) -> HandshakeObservation:
    """Handshake with the origin along ``route`` as a client configured by the keywords.

    With no keywords the client is OpenSSL's default (what a normal client offers) plus
    ALPN h2/http/1.1 and an OCSP status request. ``timeout`` bounds each phase: opening
    the route, then the handshake. Never raises for network outcomes; a configuration
    OpenSSL rejects (an unknown cipher string) raises ValueError before connecting.
    """
    offer = ClientOffer(alpn, min_version, max_version, cipher_list, tls13_ciphersuites, security_level,
                        request_ocsp)
    return await handshake_with(route, timeout, offer)


async def handshake_with(route: Route, timeout: float, offer: ClientOffer) -> HandshakeObservation:
    """:func:`probe_handshake` for an already built :class:`ClientOffer`."""
    session = await start_handshake(route, timeout, offer)
    await session.close()
    return session.observation


async def start_handshake(route: Route, timeout: float, offer: ClientOffer,
                          on_sent: Callable[[], object] | None = None) -> "HandshakeSession":
    """The handshake, with its connection left open for one ``HEAD /`` (:meth:`HandshakeSession.head`).

    One connection then serves what took three (the handshake, an HTTP/1.1 HEAD, an h2
    HEAD): every connection costs the server a handshake, and on a small machine that
    cost is most of a diagnosis. The caller owns the session and must ``await close()``.
    ``on_sent`` is called once, when this attempt's first bytes are out (the CONNECT request
    through a proxy, else the ClientHello), or when it ended before any could be: a caller
    with other connections to make can let this one go first.
    """
    started = time.perf_counter()
    ctx = _shared_context(offer)
    seen = _Seen()
    conn = SSL.Connection(ctx, None)
    conn.set_app_data(seen)
    conn.set_connect_state()
    server_name = route.target.server_name
    if server_name:
        conn.set_tlsext_host_name(server_name.encode("ascii"))
    if offer.request_ocsp:
        conn.request_ocsp()

    # Through a proxy, our first bytes are the CONNECT request; else the ClientHello.
    connect_sent, on_sent = (on_sent, None) if route.proxy is not None else (None, on_sent)
    try:
        (reader, writer), connect_answer = await open_stream(route, timeout, on_connect_sent=connect_sent)
    except RouteError as exc:
        if on_sent is not None:
            on_sent()
        return HandshakeSession(HandshakeObservation(
            ok=False, offer=offer, server_name=server_name, error=str(exc), connect_answer=exc.answer,
            route_error=RouteFailure.from_error(exc), elapsed_ms=elapsed_ms(started),
        ))
    connect_ms = elapsed_ms(started)
    shaking = time.perf_counter()
    run = TlsPump(conn, reader, writer, timeout, MAX_HANDSHAKE_BYTES, on_sent)
    try:
        await run.drive()
        facts = _negotiated(conn, seen.staples) if run.ok else {}
    except BaseException:
        writer.transport.abort()  # a cancelled probe leaves no half-open connection behind
        raise
    tap = bytes(run.tap)
    alert = run.alert
    if alert is None and not run.ok:
        found = find_plaintext_alert(tap)
        alert = int(found[1]) if found else None
    error = run.error
    if error == "" or (error is None and not run.ok):
        error = f"SSL alert number {alert}" if alert is not None else "handshake failed without a reason"
    observation = HandshakeObservation(
        ok=run.ok,
        offer=offer,
        server_name=server_name,
        error=error,
        alert=alert,
        first_answer=parse_first_answer(tap, eof=run.peer_closed, reset=run.reset, timed_out=run.timed_out),
        bytes_received=run.received,
        peer_closed=run.peer_closed,
        reset=run.reset,
        timed_out=run.timed_out,
        connect_answer=connect_answer,
        connect_ms=connect_ms,
        handshake_ms=elapsed_ms(shaking),
        elapsed_ms=elapsed_ms(started),
        certificate_requested=seen.certificate_requested,
        client_ca_names=_client_ca_names(conn) if seen.certificate_requested else (),
        server_flight=read_server_flight(tap) if tap and not run.ok else None,
        **facts,  # type: ignore[arg-type]
    )
    return HandshakeSession(observation, run)


class _Seen:
    """What one connection's callbacks saw: the stapled OCSP responses, and a CertificateRequest."""

    __slots__ = ("staples", "certificate_requested")

    def __init__(self) -> None:
        self.staples: list[bytes] = []
        self.certificate_requested = False


def _keep_staple(conn: SSL.Connection, ocsp: bytes, _data: object) -> bool:
    # Record, never judge: returning True lets the handshake go on whatever came.
    conn.get_app_data().staples.append(ocsp)
    return True


def _watch_states(conn: SSL.Connection, _where: int, _ret: int) -> None:
    seen = conn.get_app_data()
    if not seen.certificate_requested and b"certificate request" in conn.get_state_string():
        seen.certificate_requested = True


@functools.lru_cache(maxsize=16)
def _shared_context(offer: ClientOffer) -> SSL.Context:
    """One pyOpenSSL context per offer for the process: ``SSL_CTX_new`` and the policy cost
    ~0.5 ms, a tenth of a failed handshake's own time on loopback, and a context holds
    nothing of one connection (each connection's callbacks report into its app data, a
    :class:`_Seen`). No session is ever resumed: tickets are refused and the client
    session cache is off, so every probe is a full handshake.
    """
    ctx = offer.context()
    ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    if offer.request_ocsp:
        ctx.set_ocsp_client_callback(_keep_staple)
    ctx.set_info_callback(_watch_states)
    return ctx


class HandshakeSession:
    """A finished handshake whose connection is still open: for one ``HEAD /``, then a close.

    Verification stays off (we observe; rules judge the chain), so what may be sent over
    this connection is what :mod:`tlsdoctor.observe.http` allows an unverified probe:
    a credential-free ``HEAD /``, and close_notify.
    """

    def __init__(self, observation: HandshakeObservation, run: TlsPump | None = None) -> None:
        self.observation = observation
        self._run = run
        self._asked = False
        self._answered = False  # a whole answer came: the connection may be closed politely

    async def head(self, route: Route, timeout: float) -> HttpExchange | None:
        """``HEAD /`` over the protocol ALPN selected (h2 or HTTP/1.1); None if the handshake failed.

        Bounded as a whole by ``timeout`` (see :func:`tlsdoctor.observe.http.head_over`); a
        session answers one HEAD only.
        """
        if self._run is None or not self.observation.ok or self._asked:
            return None
        self._asked = True
        stream = TlsAppStream(self._run)
        exchange = await head_over(stream, stream, route, timeout, self.observation.alpn)  # type: ignore[arg-type]
        self._answered = exchange.ok
        return exchange

    async def close(self) -> None:
        """close_notify and a bounded close after a handshake or a whole answer; abort otherwise."""
        run, self._run = self._run, None
        if run is None:
            return
        clean = self.observation.ok and (not self._asked or self._answered)
        if not clean:
            run.writer.transport.abort()  # a stalled or half-read peer gets no more of our time
            return
        try:
            try:
                run.conn.shutdown()  # the only thing we ever send after a handshake: close_notify
            except SSL.Error:
                pass
            await run.flush(quiet=True)
        except BaseException:
            run.writer.transport.abort()
            raise
        finally:
            await close_stream(run.writer)


def _negotiated(conn: SSL.Connection, staples: list[bytes]) -> dict[str, object]:
    """The facts of a completed handshake."""
    chain = conn.get_peer_cert_chain() or []  # OpenSSL's objects: converting is the costly part
    presented: list[x509.Certificate] = []
    chain_error = None
    for position, cert in enumerate(chain[:MAX_CHAIN]):
        try:
            presented.append(cert.to_cryptography())
        except Exception as exc:  # noqa: BLE001 - ValueError, InvalidVersion...: the server's bytes, not our bug
            # OpenSSL accepts DER that cryptography rejects. Keep the prefix that parsed,
            # so that presented_chain[0] is always the leaf when there is one.
            chain_error = f"certificate {position} of the presented chain does not parse: {exc}"
            break
    proto = conn.get_alpn_proto_negotiated()
    return {
        "version": conn.get_protocol_version_name(),
        "cipher": conn.get_cipher_name(),
        "alpn": proto.decode("ascii", "replace") if proto else None,
        "presented_chain": tuple(presented),
        "chain_length": len(chain),
        "chain_error": chain_error,
        # pyOpenSSL calls back with b"" when the server stapled nothing.
        "ocsp_staple": staples[-1] if staples and staples[-1] else None,
    }


def _client_ca_names(conn: SSL.Connection, limit: int = 20) -> tuple[str, ...]:
    """The CA names of the server's CertificateRequest, as "CN=..., O=..." (at most ``limit``)."""
    names = []
    for name in (conn.get_client_ca_list() or [])[:limit]:
        parts = [f"{key.decode('ascii', 'replace')}={value.decode('utf-8', 'replace')}"
                 for key, value in reversed(name.get_components())]
        names.append(", ".join(parts))
    return tuple(names)

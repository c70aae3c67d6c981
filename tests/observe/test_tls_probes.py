"""The TLS probes against the lab: each fault, and the facts the probes must bring back.

The probes judge nothing, so these tests check facts: what the first answer was, which
version and ALPN a handshake got, which chain the server presented, which versions a
server accepts. Every server here listens on 127.0.0.1: the lab's scenarios, and a few
deliberately hostile servers defined below (a 10000-name certificate, a megabyte of chain).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import time
from datetime import datetime, timezone
from typing import AsyncIterator, Awaitable, Iterator, TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from OpenSSL import SSL, crypto

from tlsdoctor.lab import Lab, running_lab
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.pki import IssuedCert
from tlsdoctor.lab.tls import TlsServerConfig, TlsStream, close_writer
from tlsdoctor.observe import handshake as handshake_module
from tlsdoctor.observe.capabilities import MAX_CONNECTIONS, default_client_versions, probe_capabilities
from tlsdoctor.observe.first_answer import client_hello, probe_first_answer
from tlsdoctor.observe.alerts import alert_from_openssl_reason
from tlsdoctor.observe.handshake import probe_handshake
from tlsdoctor.observe.route import Route, discover_route, parse_target
from tlsdoctor.wire import AlertDescription, AlertLevel, AnswerKind

SCENARIOS = [
    "ok", "expired", "incomplete-chain", "revoked-ocsp", "client-cert-required", "intercepting-proxy", "tls1.0-only",
    "no-shared-cipher", "h2-broken", "alert-handshake-failure", "alert-close-notify-fatal",
    "reset-after-hello", "close-after-hello", "stall-handshake", "plain-http", "tcp-refused",
    "proxy-auth-required",
]
INTERCEPTION_CA = "Lab Antivirus Web Shield Root"
T = TypeVar("T")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(SCENARIOS) as running:
        yield running


def route_to(lab: Lab, scenario_id: str) -> Route:
    """The route a client takes to a scenario: through its proxy, when it has one."""
    entry = lab[scenario_id]
    return discover_route(parse_target(entry.url), entry.proxy, env={})


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


def cn(name: x509.Name) -> str:
    return name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value  # type: ignore[return-value]


# -- the first answer: what comes back to one ClientHello ----------------------------------------


@pytest.mark.parametrize(
    ("scenario_id", "kind", "description"),
    [
        pytest.param("ok", AnswerKind.TLS_HANDSHAKE, None, id="healthy server: a ServerHello"),
        pytest.param("alert-handshake-failure", AnswerKind.ALERT, AlertDescription.HANDSHAKE_FAILURE,
                     id="alert handshake_failure"),
        pytest.param("alert-close-notify-fatal", AnswerKind.ALERT, AlertDescription.CLOSE_NOTIFY,
                     id="fatal close_notify"),
        pytest.param("reset-after-hello", AnswerKind.RESET, None, id="middlebox reset"),
        pytest.param("close-after-hello", AnswerKind.EOF, None, id="silent close"),
        pytest.param("tls1.0-only", AnswerKind.ALERT, AlertDescription.PROTOCOL_VERSION,
                     id="TLS 1.0-only server: protocol_version"),
        pytest.param("no-shared-cipher", AnswerKind.ALERT, AlertDescription.HANDSHAKE_FAILURE,
                     id="CCM-8-only server: handshake_failure"),
        pytest.param("plain-http", AnswerKind.PLAINTEXT, None, id="plain HTTP on the TLS port"),
    ],
)
def test_first_answer_names_what_the_server_sent(lab: Lab, scenario_id: str, kind: AnswerKind, description):
    observation = run(probe_first_answer(route_to(lab, scenario_id), 3.0))

    assert observation.route_error is None
    answer = observation.answer
    assert answer is not None
    assert answer.kind is kind, answer
    if kind is AnswerKind.ALERT:
        assert answer.alert_level is AlertLevel.FATAL
        assert answer.alert_description is description


def test_a_healthy_server_answers_a_tls13_server_hello(lab: Lab):
    answer = run(probe_first_answer(route_to(lab, "ok"), 3.0)).answer
    assert answer is not None
    assert answer.server_version == (3, 4) and answer.record_version == (3, 3)


def test_plain_http_shows_its_status_line(lab: Lab):
    answer = run(probe_first_answer(route_to(lab, "plain-http"), 3.0)).answer
    assert answer is not None
    assert answer.text_preview.startswith("HTTP/1.1 400 ")


def test_a_stalled_handshake_is_silence_after_the_timeout_and_no_later(lab: Lab):
    started = time.perf_counter()
    observation = run(probe_first_answer(route_to(lab, "stall-handshake"), 0.5))
    elapsed = time.perf_counter() - started

    assert observation.answer is not None
    assert observation.answer.kind is AnswerKind.SILENCE and observation.answer.timed_out
    assert 0.45 <= elapsed < 2.0


def test_first_answer_reports_a_refused_connection_as_a_route_failure(lab: Lab):
    observation = run(probe_first_answer(route_to(lab, "tcp-refused"), 2.0))
    assert observation.answer is None
    assert observation.route_error is not None and observation.route_error.stage == "connect"


def test_first_answer_keeps_the_proxys_refusal(lab: Lab):
    observation = run(probe_first_answer(route_to(lab, "proxy-auth-required"), 2.0))
    assert observation.answer is None
    assert observation.route_error is not None and observation.route_error.stage == "proxy-tunnel"
    assert observation.route_error.connect_answer is not None
    assert observation.route_error.connect_answer.status == 407


def test_the_client_hello_is_a_real_one_with_sni_only_for_names():
    named, literal = client_hello("example.test"), client_hello(None)
    assert named[:1] == b"\x16" and literal[:1] == b"\x16"
    assert b"example.test" in named
    assert b"h2" in named and b"http/1.1" in named  # ALPN offered


# -- a handshake, verification off: what the server presents ------------------------------------


def test_a_healthy_server_gives_tls13_h2_and_leaf_plus_intermediate(lab: Lab):
    observation = run(probe_handshake(route_to(lab, "ok"), 3.0))

    assert observation.ok, observation.error
    assert observation.version == "TLSv1.3"
    assert observation.alpn == "h2"
    assert observation.cipher
    assert len(observation.presented_chain) == 2 and observation.chain_length == 2
    leaf, intermediate = observation.presented_chain
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
    assert leaf.issuer == intermediate.subject
    assert observation.ocsp_staple is None  # asked for, none stapled
    assert observation.first_answer is not None and observation.first_answer.kind is AnswerKind.TLS_HANDSHAKE


def test_a_server_that_omits_its_intermediate_presents_a_chain_of_one(lab: Lab):
    observation = run(probe_handshake(route_to(lab, "incomplete-chain"), 3.0))
    assert observation.ok
    assert len(observation.presented_chain) == 1


def test_a_stapled_ocsp_answer_is_kept_and_says_revoked(lab: Lab):
    observation = run(probe_handshake(route_to(lab, "revoked-ocsp"), 3.0))

    assert observation.ok and observation.ocsp_staple
    response = ocsp.load_der_ocsp_response(observation.ocsp_staple)
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert response.serial_number == observation.presented_chain[0].serial_number


def test_no_staple_is_recorded_when_none_is_requested(lab: Lab):
    observation = run(probe_handshake(route_to(lab, "revoked-ocsp"), 3.0, request_ocsp=False))
    assert observation.ok and observation.ocsp_staple is None


def test_handshakes_share_a_context_but_not_what_each_connection_saw(lab: Lab):
    # One pyOpenSSL context per offer for the process (SSL_CTX_new costs ~0.5 ms a probe):
    # what its callbacks record must belong to the connection that saw it, whatever ran before.
    async def in_turn() -> list:
        return [await probe_handshake(route_to(lab, scenario), 3.0)
                for scenario in ("revoked-ocsp", "ok", "client-cert-required", "ok", "revoked-ocsp")]

    stapled, plain, asked, plain_again, stapled_again = run(in_turn())

    assert stapled.ocsp_staple and stapled_again.ocsp_staple
    assert plain.ocsp_staple is None and plain_again.ocsp_staple is None
    assert asked.certificate_requested and not plain.certificate_requested and not plain_again.certificate_requested
    assert not stapled.certificate_requested
    assert handshake_module._shared_context.cache_info().currsize >= 1


def test_an_expired_certificate_does_not_stop_the_handshake_it_is_observed(lab: Lab):
    observation = run(probe_handshake(route_to(lab, "expired"), 3.0))
    assert observation.ok  # verification is off: diagnosis judges the chain later
    assert observation.presented_chain[0].not_valid_after_utc < datetime.now(timezone.utc)


def test_through_the_intercepting_proxy_the_leaf_is_signed_by_the_antivirus_ca(lab: Lab):
    observation = run(probe_handshake(route_to(lab, "intercepting-proxy"), 3.0))

    assert observation.ok, observation.error
    assert observation.connect_answer is not None and observation.connect_answer.status == 200
    assert cn(observation.presented_chain[0].issuer) == INTERCEPTION_CA


def test_h2_broken_still_negotiates_h2(lab: Lab):
    observation = run(probe_handshake(route_to(lab, "h2-broken"), 3.0))
    assert observation.ok and observation.alpn == "h2"


def test_alpn_offers_only_what_it_is_told(lab: Lab):
    observation = run(probe_handshake(route_to(lab, "ok"), 3.0, alpn=("http/1.1",)))
    assert observation.alpn == "http/1.1"


def test_a_tls10_only_server_refuses_a_default_client_with_protocol_version(lab: Lab):
    observation = run(probe_handshake(route_to(lab, "tls1.0-only"), 3.0))
    assert not observation.ok
    assert observation.alert == AlertDescription.PROTOCOL_VERSION
    assert observation.error == "tlsv1 alert protocol version"


@pytest.mark.parametrize(
    ("scenario_id", "alert", "error"),
    [
        pytest.param("alert-handshake-failure", 40, "tls alert handshake failure", id="handshake_failure"),
        # OpenSSL has no reason string for a fatal close_notify: the number comes from the bytes.
        pytest.param("alert-close-notify-fatal", 0, "SSL alert number 0", id="fatal close_notify"),
        pytest.param("no-shared-cipher", 40, "tls alert handshake failure", id="no shared cipher"),
    ],
)
def test_a_received_alert_is_named_by_number(lab: Lab, scenario_id: str, alert: int, error: str):
    observation = run(probe_handshake(route_to(lab, scenario_id), 3.0))
    assert not observation.ok
    assert observation.alert == alert
    assert observation.error == error


def test_a_reset_a_close_and_plain_http_fail_without_an_alert(lab: Lab):
    reset = run(probe_handshake(route_to(lab, "reset-after-hello"), 3.0))
    closed = run(probe_handshake(route_to(lab, "close-after-hello"), 3.0))
    plain = run(probe_handshake(route_to(lab, "plain-http"), 3.0))

    assert reset.reset and reset.alert is None and not reset.ok
    assert closed.peer_closed and closed.alert is None and not closed.ok
    assert plain.error == "wrong version number" and plain.alert is None
    assert plain.first_answer is not None and plain.first_answer.kind is AnswerKind.PLAINTEXT


def test_a_stalled_handshake_times_out_within_the_timeout(lab: Lab):
    started = time.perf_counter()
    observation = run(probe_handshake(route_to(lab, "stall-handshake"), 0.5))
    assert observation.timed_out and not observation.ok
    assert time.perf_counter() - started < 2.0


def test_handshake_reports_route_failures_without_raising(lab: Lab):
    refused = run(probe_handshake(route_to(lab, "tcp-refused"), 2.0))
    proxied = run(probe_handshake(route_to(lab, "proxy-auth-required"), 2.0))

    assert refused.route_error is not None and refused.route_error.stage == "connect"
    assert proxied.route_error is not None and proxied.route_error.connect_answer is not None
    assert proxied.route_error.connect_answer.status == 407
    assert not refused.ok and not proxied.ok


def test_a_handshake_that_reads_more_than_its_byte_budget_stops(lab: Lab, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(handshake_module, "MAX_HANDSHAKE_BYTES", 300)
    observation = run(probe_handshake(route_to(lab, "ok"), 3.0))
    assert not observation.ok
    assert "more than 300 bytes" in (observation.error or "")


def test_an_unusable_client_configuration_is_refused_before_connecting(lab: Lab):
    with pytest.raises(ValueError):
        run(probe_handshake(route_to(lab, "ok"), 1.0, cipher_list="NO-SUCH-CIPHER"))
    with pytest.raises(ValueError):
        run(probe_handshake(route_to(lab, "ok"), 1.0, min_version="2.0"))


@pytest.mark.parametrize("description", [d for d in AlertDescription if d is not AlertDescription.CLOSE_NOTIFY],
                         ids=lambda d: d.name.lower())
def test_every_alert_reason_of_the_linked_openssl_maps_back_to_its_number(description: AlertDescription):
    # Feed a fatal alert to an OpenSSL client in memory and read its reason string back:
    # pins the reason table to the OpenSSL we link ("tls alert ..." in 4.0, "sslv3 alert ..." before).
    client = SSL.Connection(SSL.Context(SSL.TLS_CLIENT_METHOD), None)
    client.set_connect_state()
    with pytest.raises(SSL.WantReadError):
        client.do_handshake()
    client.bio_read(65536)
    client.bio_write(bytes([21, 3, 3, 0, 2, 2, description]))
    with pytest.raises(SSL.Error) as failure:
        client.do_handshake()
    reason = failure.value.args[0][-1][2]
    assert alert_from_openssl_reason(reason) == description


def test_openssl_3_reason_strings_are_read_too():
    assert alert_from_openssl_reason("sslv3 alert handshake failure") == 40
    assert alert_from_openssl_reason("tlsv1 alert unknown ca") == 48
    assert alert_from_openssl_reason("wrong version number") is None
    assert alert_from_openssl_reason("") is None


# -- capabilities: which versions and ciphers the server accepts ----------------------------------


def test_a_healthy_server_accepts_tls12_and_tls13_and_the_default_client(lab: Lab):
    capabilities = run(probe_capabilities(route_to(lab, "ok"), 3.0))

    assert capabilities.versions_accepted == ("1.2", "1.3")
    assert set(capabilities.ciphers_negotiated) == {"1.2", "1.3"}
    assert capabilities.default_client_ok and capabilities.default_client_error is None
    assert capabilities.default_client_versions == ("1.2", "1.3")
    assert capabilities.connections == 3  # one hello per version; their answers prove the client's offer works
    assert capabilities.not_run == ()


def test_a_tls10_only_server_is_pinned_to_tls10(lab: Lab):
    capabilities = run(probe_capabilities(route_to(lab, "tls1.0-only"), 3.0))

    assert capabilities.versions_accepted == ("1.0",)
    assert "1.0" not in capabilities.default_client_versions
    # No version in common: the client's own hello is not worth a connection.
    assert capabilities.default_client_ok is None and capabilities.connections == 3
    [tls13] = [a for a in capabilities.attempts if a.name == "1.3"]
    assert tls13.alert == AlertDescription.PROTOCOL_VERSION


def test_the_ccm8_only_lab_server_refuses_the_default_clients_own_hello(lab: Lab):
    capabilities = run(probe_capabilities(route_to(lab, "no-shared-cipher"), 3.0))
    assert capabilities.default_client_ok is False
    assert capabilities.default_client_alert == AlertDescription.HANDSHAKE_FAILURE


def test_the_ccm8_only_lab_server_is_found_to_accept_only_ccm8_suites(lab: Lab):
    capabilities = run(probe_capabilities(route_to(lab, "no-shared-cipher"), 3.0))
    assert capabilities.suites_accepted == {"1.2": ("TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",),
                                            "1.3": ("TLS_AES_128_CCM_8_SHA256",)}
    assert capabilities.suites_complete  # the bisection step after it was refused
    assert set(capabilities.families.values()) == {"CCM-8"}
    assert capabilities.connections <= MAX_CONNECTIONS


def test_a_stalled_server_costs_the_capability_probe_one_timeout_and_no_second_round(lab: Lab):
    started = time.perf_counter()
    capabilities = run(probe_capabilities(route_to(lab, "stall-handshake"), 0.5))

    assert time.perf_counter() - started < 2.0
    assert capabilities.connections == 3
    assert all(a.error and "no complete answer" in a.error for a in capabilities.attempts)
    assert capabilities.versions_accepted == () and not capabilities.default_client_ok


def test_the_capability_probe_deadline_cuts_what_is_left(lab: Lab):
    started = time.perf_counter()
    capabilities = run(probe_capabilities(route_to(lab, "stall-handshake"), 5.0, deadline=0.5))
    assert time.perf_counter() - started < 3.0
    assert capabilities.not_run and capabilities.versions_accepted == ()


def test_the_default_client_offers_tls12_and_tls13():
    assert default_client_versions() == ("1.2", "1.3")


# -- hostile servers, defined here -------------------------------------------------------------


@pytest.fixture(scope="module")
def pki() -> LabAuthorities:
    return LabAuthorities.create("http://127.0.0.1:9")


@contextlib.asynccontextmanager
async def tls_server(config: TlsServerConfig) -> AsyncIterator[Route]:
    """A one-purpose TLS server on 127.0.0.1; yields the route to it."""
    context = config.build_context()
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            handlers.add(task)  # type: ignore[arg-type]
        stream = TlsStream.server(context, reader, writer, 5.0)
        try:
            with contextlib.suppress(Exception):  # the client may well give up on us
                await stream.handshake()
                await stream.recv()  # until the client's close_notify
        finally:
            await close_writer(writer, 1.0)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield discover_route(parse_target(f"https://127.0.0.1:{port}/"), None, env={})
    finally:
        server.close()
        # Let handlers end on their own (the client is gone): a handler cancelled by
        # asyncio.run's shutdown makes asyncio's stream callback log a traceback.
        if handlers:
            await asyncio.wait(handlers, timeout=5.0)
        await server.wait_closed()


async def handshake_against(config: TlsServerConfig, timeout: float, **options: object):  # type: ignore[no-untyped-def]
    async with tls_server(config) as route:
        return await probe_handshake(route, timeout, **options)  # type: ignore[arg-type]


def test_a_certificate_with_10000_names_is_observed_whole(pki: LabAuthorities):
    addresses = [str(ipaddress.IPv4Address(0x0A000000 + i)) for i in range(9999)]
    crowded = pki.intermediate.issue_cert("127.0.0.1", *addresses)

    started = time.perf_counter()
    observation = run(handshake_against(TlsServerConfig(crowded), 5.0))

    assert time.perf_counter() - started < 5.0
    assert observation.ok, observation.error
    sans = observation.presented_chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert len(sans) == 10000


def test_a_megabyte_of_chain_fails_the_handshake_cleanly_and_quickly(pki: LabAuthorities):
    bulky = pki.intermediate.issue_cert(*[f"name-{i:05d}.bulk.tlsdoctor.test" for i in range(10000)])
    leaf = pki.intermediate.issue_cert("127.0.0.1")
    megabyte = IssuedCert(leaf.cert, leaf.key, (*[bulky.cert] * 4, *leaf.chain))  # ~1 MB on the wire

    started = time.perf_counter()
    observation = run(handshake_against(TlsServerConfig(megabyte), 5.0))

    assert time.perf_counter() - started < 5.0
    assert not observation.ok
    assert observation.error  # OpenSSL's own cap on the certificate list, or ours
    assert observation.bytes_received <= handshake_module.MAX_HANDSHAKE_BYTES + 64 * 1024


def test_only_the_first_twenty_certificates_of_a_long_chain_are_kept(pki: LabAuthorities):
    leaf = pki.intermediate.issue_cert("127.0.0.1")
    padded = IssuedCert(leaf.cert, leaf.key, (*leaf.chain * 30,))
    observation = run(handshake_against(TlsServerConfig(padded), 5.0))

    assert observation.ok, observation.error
    assert observation.chain_length == 31
    assert len(observation.presented_chain) == handshake_module.MAX_CHAIN


@pytest.mark.filterwarnings("ignore:Passing pyOpenSSL X509 objects is deprecated:DeprecationWarning")
def test_a_leaf_that_openssl_accepts_but_cryptography_cannot_parse_is_reported_not_raised(pki: LabAuthorities):
    # X.509 version 6 (the DER INTEGER 5): OpenSSL carries it, cryptography refuses it.
    leaf = pki.intermediate.issue_cert("127.0.0.1")
    der = leaf.cert.public_bytes(serialization.Encoding.DER)
    version_v3 = bytes.fromhex("a0 03 02 01 02")
    odd = crypto.load_certificate(crypto.FILETYPE_ASN1, der.replace(version_v3, bytes.fromhex("a0 03 02 01 05"), 1))
    config = TlsServerConfig(IssuedCert(odd, leaf.key, leaf.chain))  # type: ignore[arg-type]

    observation = run(handshake_against(config, 5.0))

    assert observation.ok, observation.error
    assert observation.chain_length == 2
    assert observation.presented_chain == ()  # never a chain whose first entry is not the leaf
    assert observation.chain_error is not None and observation.chain_error.startswith("certificate 0 ")


def test_a_ccm8_only_server_is_found_by_our_own_hellos(pki: LabAuthorities):
    # The field's CCM-8-only server (an IoT stack, say): it must allow CCM-8 itself, which
    # OpenSSL 4.0 does only at security level 0.
    config = TlsServerConfig(
        pki.intermediate.issue_cert("127.0.0.1"),
        cipher_list="ECDHE-ECDSA-AES128-CCM8",
        tls13_ciphersuites="TLS_AES_128_CCM_8_SHA256",
        security_level=0,
    )

    async def probe():  # type: ignore[no-untyped-def]
        async with tls_server(config) as route:
            return await probe_capabilities(route, 5.0)

    capabilities = run(probe())
    assert not capabilities.default_client_ok
    assert capabilities.versions_accepted == ("1.2", "1.3")
    assert capabilities.ciphers_negotiated == {"1.2": "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
                                               "1.3": "TLS_AES_128_CCM_8_SHA256"}

"""``HEAD /`` over the handshake probe's own connection, and HTTP/1.1 again only when h2 fails.

One connection serves the handshake facts and the HTTP answer (issue 9: every connection
costs the server a handshake). These tests check the facts that connection brings back,
against the lab's real servers: the protocol ALPN chose, the status, the server's Date,
and the fallback that tells a broken h2 stack from a broken server.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Iterator

import pytest

from tlsdoctor.diagnosis import diagnose
from tlsdoctor.lab import Lab, running_lab
from tlsdoctor.observe.handshake import ClientOffer, start_handshake
from tlsdoctor.observe.http import HttpExchange, http_after
from tlsdoctor.observe.route import Route, discover_route, parse_target


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(["ok", "h2-broken", "expired", "alert-handshake-failure"]) as running:
        yield running


def route_to(lab: Lab, scenario_id: str) -> Route:
    entry = lab[scenario_id]
    return discover_route(parse_target(entry.url), entry.proxy, env={})


def head(route: Route, offer: ClientOffer = ClientOffer()) -> tuple[bool, HttpExchange | None]:
    async def go() -> tuple[bool, HttpExchange | None]:
        session = await start_handshake(route, 3.0, offer)
        try:
            return session.observation.ok, await session.head(route, 3.0)
        finally:
            await session.close()

    return asyncio.run(go())


def test_the_head_goes_over_h2_when_alpn_chose_it(lab: Lab) -> None:
    ok, exchange = head(route_to(lab, "ok"))
    assert ok and exchange is not None
    assert (exchange.protocol, exchange.alpn, exchange.status) == ("h2", "h2", 200)
    assert exchange.date is not None and abs((datetime.now(timezone.utc) - exchange.date).total_seconds()) < 120


def test_the_head_goes_over_http1_when_only_that_is_offered(lab: Lab) -> None:
    ok, exchange = head(route_to(lab, "ok"), ClientOffer(alpn=("http/1.1",)))
    assert ok and exchange is not None
    assert (exchange.protocol, exchange.status) == ("http/1.1", 200)


def test_an_expired_certificate_still_lets_the_probe_read_the_servers_date(lab: Lab) -> None:
    ok, exchange = head(route_to(lab, "expired"))
    assert ok and exchange is not None and exchange.ok and exchange.date is not None


def test_a_failed_handshake_has_no_head(lab: Lab) -> None:
    ok, exchange = head(route_to(lab, "alert-handshake-failure"))
    assert not ok and exchange is None


def test_a_session_answers_one_head_only(lab: Lab) -> None:
    route = route_to(lab, "ok")

    async def twice() -> tuple[HttpExchange | None, HttpExchange | None]:
        session = await start_handshake(route, 3.0, ClientOffer())
        try:
            return await session.head(route, 3.0), await session.head(route, 3.0)
        finally:
            await session.close()

    first, second = asyncio.run(twice())
    assert first is not None and first.ok and second is None


def test_a_broken_h2_is_asked_again_over_http1_on_one_new_connection(lab: Lab) -> None:
    route = route_to(lab, "h2-broken")
    ok, first = head(route)
    assert ok and first is not None and first.protocol == "h2" and not first.ok
    observation = asyncio.run(http_after(first, route, 3.0, lambda: datetime.now(timezone.utc)))
    assert observation.connections == 1
    assert observation.h2 is first
    assert observation.http1 is not None and observation.http1.ok
    assert observation.answer is observation.http1 and observation.date is not None


def test_a_working_h2_needs_no_second_head(lab: Lab) -> None:
    route = route_to(lab, "ok")
    _ok, first = head(route)
    assert first is not None
    observation = asyncio.run(http_after(first, route, 3.0, lambda: datetime.now(timezone.utc)))
    assert (observation.connections, observation.http1, observation.answer) == (0, None, first)


def test_a_diagnosis_of_a_healthy_server_opens_one_connection_for_handshake_and_head(lab: Lab) -> None:
    entry = lab["ok"]
    d = diagnose(entry.url, ca_bundle=entry.ca_file, env={}, timeout=3.0,
                 os_store_env={"SSL_CERT_FILE": str(entry.ca_file), "SSL_CERT_DIR": ""})
    assert d.verdict.code == "ok"
    http = d.observations.http
    assert http is not None and http.connections == 0 and http.answer is not None and http.answer.status == 200
    assert d.observations.tcp and d.observations.tcp[0].outcome == "connected"
    # handshake (+HEAD), libcurl, and the revocation fetches: no separate TCP or HTTP connections
    assert d.observations.connections <= 4


def test_a_diagnosis_of_broken_h2_names_it_with_http1_working(lab: Lab) -> None:
    entry = lab["h2-broken"]
    d = diagnose(entry.url, ca_bundle=entry.ca_file, env={}, timeout=3.0,
                 os_store_env={"SSL_CERT_FILE": str(entry.ca_file), "SSL_CERT_DIR": ""})
    assert d.verdict.code == "http2.negotiation_failed"


def test_libcurl_s_answer_stands_in_for_the_head_when_it_came_over_the_chosen_protocol(lab: Lab) -> None:
    entry = lab["ok"]
    d = diagnose(entry.url, ca_bundle=entry.ca_file, env={}, timeout=3.0,
                 os_store_env={"SSL_CERT_FILE": str(entry.ca_file), "SSL_CERT_DIR": ""})
    answer = d.observations.http.answer  # type: ignore[union-attr]
    curl = d.observations.curl
    assert curl is not None and curl.curl_code == 0 and curl.date_header
    # Usually libcurl's (it answers within the grace); our own HEAD is just as right when it is slower.
    assert answer is not None and answer.status == 200 and answer.date is not None
    if answer.via_libcurl:
        assert (answer.protocol, answer.status) == ("h2", curl.http_status)


def test_without_libcurl_the_diagnosis_asks_its_own_head(lab: Lab) -> None:
    entry = lab["ok"]
    d = diagnose(entry.url, ca_bundle=entry.ca_file, env={}, timeout=3.0, libcurl=False,
                 os_store_env={"SSL_CERT_FILE": str(entry.ca_file), "SSL_CERT_DIR": ""})
    answer = d.observations.http.answer  # type: ignore[union-attr]
    assert answer is not None and not answer.via_libcurl and answer.protocol == "h2" and answer.status == 200


def test_a_failed_libcurl_attempt_leaves_the_head_to_us(lab: Lab) -> None:
    entry = lab["expired"]
    d = diagnose(entry.url, ca_bundle=entry.ca_file, env={}, timeout=3.0,
                 os_store_env={"SSL_CERT_FILE": str(entry.ca_file), "SSL_CERT_DIR": ""})
    assert d.observations.curl is not None and d.observations.curl.curl_code == 60
    answer = d.observations.http.answer  # type: ignore[union-attr]
    assert answer is not None and not answer.via_libcurl and answer.date is not None
    assert d.verdict.code == "cert.expired"

"""A public name that resolves to 0.0.0.0 or a loopback address: a DNS filter's "blocked".

Ad-blockers, Pi-hole, AdGuard, NextDNS and corporate DNS policies answer a blocked name with
0.0.0.0 (or 127.0.0.1), so the client's connection is refused or goes nowhere and the report
says "connection refused" (curl 7), a server fault to the eye. No loopback lab can make a
public name resolve so (the system resolver is not ours to point), so these tests judge the
observations a diagnosis of such a machine records: the resolver's answer and the connects.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tlsdoctor.judge.rules import judge
from tlsdoctor.observe.observations import ClientProfile, Observations
from tlsdoctor.observe.route import Resolution, Route, TcpConnect, parse_target


def observed(url: str, addresses: tuple[str, ...], outcome: str = "refused") -> Observations:
    target = parse_target(url)
    return Observations(
        route=Route(target, None), client=ClientProfile(), local_time=datetime.now(timezone.utc),
        resolution=Resolution(target.host, addresses, None, 1.0),
        tcp=tuple(TcpConnect(a, target.port, outcome, f"[Errno 111] {outcome}", 0.2) for a in addresses),
    )


@pytest.mark.parametrize("addresses", [("0.0.0.0",), ("127.0.0.1",), ("0.0.0.0", "::")])
def test_a_public_name_answered_with_a_sinkhole_is_a_dns_filter(addresses: tuple[str, ...]) -> None:
    _findings, verdict = judge(observed("https://telemetry.example.com/v1/events", addresses))
    assert verdict.code == "tcp.refused" and verdict.evidence["dns_sinkhole"] is True
    assert "DNS filter or hosts file blocks it" in verdict.summary and "telemetry.example.com" in verdict.remedy


@pytest.mark.parametrize("url, addresses", [
    ("https://localhost:8443/", ("127.0.0.1",)),  # the local machine by definition
    ("https://api.localhost/", ("127.0.0.1",)),  # RFC 6761
    ("https://devbox:8443/", ("127.0.1.1",)),  # a one-label hosts entry: this machine's own name
    ("https://api.example.com/", ("203.0.113.7",)),  # a real address that refuses
])
def test_local_names_and_real_addresses_are_a_plain_refusal(url: str, addresses: tuple[str, ...]) -> None:
    _findings, verdict = judge(observed(url, addresses))
    assert verdict.code == "tcp.refused" and "dns_sinkhole" not in verdict.evidence
    assert verdict.summary.startswith("No address of")

"""The full catalogue against real servers: nginx (the reference) and servers from Debian.

Each runs in its own process on loopback with a certificate from the lab's PKI; each must
survive every attack at the default intensity. What each does under heavier abuse, and
any weakness found, is in docs/torture.md (with versions). Skipped where a server is not
installed (scripts/install.sh installs them all; CI runs them).
"""

from __future__ import annotations

from typing import Iterator

import pytest

import tlsdoctor.torture
from tlsdoctor.lab import Lab
from tlsdoctor.lab.nginx import NginxBackend, RealPeerUnavailable
from tlsdoctor.torture import Outcome

from real_servers import RealServer, real_server  # tests/torture/real_servers.py


@pytest.fixture(scope="module")
def nginx(tls_lab: Lab) -> Iterator[RealServer]:
    try:
        backend = NginxBackend(tls_lab, ["ok"]).start()
    except RealPeerUnavailable as exc:
        pytest.skip(str(exc))
    try:
        site = backend["ok"]
        yield RealServer("nginx", "", site.url, site.ca_file)
    finally:
        backend.stop()


def test_nginx_survives_every_attack(nginx: RealServer) -> None:
    """The reference: the project's own CI fixture in use (README, docs/torture.md)."""
    report = tlsdoctor.torture.run(nginx.url, ca_bundle=nginx.ca_file)
    assert report.survived_all, [(r.id, r.outcome.value, r.symptom) for r in report.failed]
    assert report.http2 and report.tls_versions == ("1.3", "1.2")
    assert not [r.id for r in report.results if r.outcome is Outcome.SKIPPED]  # every attack applied


@pytest.mark.parametrize("name", ["lighttpd", "haproxy", "h2o"])
def test_debian_server_survives_every_attack(tls_lab: Lab, name: str) -> None:
    try:
        server_cm = real_server(tls_lab, name)
        server = server_cm.__enter__()
    except RealPeerUnavailable as exc:
        pytest.skip(str(exc))
    try:
        report = tlsdoctor.torture.run(server.url, ca_bundle=server.ca_file, rounds=2)
    finally:
        server_cm.__exit__(None, None, None)
    assert report.survived_all, [(r.id, r.outcome.value, r.symptom, r.rounds[-1].sanity.error) for r in report.failed]
    assert not [r.id for r in report.results if r.outcome is Outcome.SKIPPED]

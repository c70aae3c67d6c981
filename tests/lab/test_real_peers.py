"""Real peers commit the lab's faults too: nginx and mitmproxy, met by real clients.

The lab's servers are ours; a fault only they produce would prove little about the field.
Here a real nginx serves every certificate scenario and a real mitmdump intercepts, and
libcurl (pycurl) and Python's ``ssl`` must meet exactly what the catalogue declares: the
same curl code, the same OpenSSL verify result, the same HTTP status.

A missing nginx or mitmdump skips these tests on a laptop; with ``CI=true`` it fails them,
because CI installs both and a silent skip there would hide a broken image.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tlsdoctor.lab import nginx as nginx_module
from tlsdoctor.lab.authorities import INTERCEPTION_ORGANIZATION
from tlsdoctor.lab.mitm import MITM_SCENARIOS, MitmProxy, find_mitmdump
from tlsdoctor.lab.nginx import (
    NGINX_SCENARIOS,
    NginxBackend,
    RealPeerUnavailable,
    find_nginx,
    port_accepts,
)
from tlsdoctor.lab.runner import Lab, running_lab
from tlsdoctor.lab.scenarios import X509_V_OK, scenario
from tlsdoctor.observe.curl import CurlAttempt, CurlResult, curl_attempt

LOOPBACK = "127.0.0.1"
IO_TIMEOUT = 5.0


def require_real_peer(find: Callable[[], Path]) -> Path:
    """The peer's binary; skip without it, except on CI (``CI=true``), where it must be there."""
    try:
        return find()
    except RealPeerUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and CI installs this peer, yet: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab([*NGINX_SCENARIOS, *MITM_SCENARIOS]) as running:
        yield running


@pytest.fixture(scope="module")
def nginx_binary() -> Path:
    return require_real_peer(find_nginx)


@pytest.fixture(scope="module")
def mitmdump_binary() -> Path:
    return require_real_peer(find_mitmdump)


@pytest.fixture(scope="module")
def nginx(lab: Lab, nginx_binary: Path) -> Iterator[NginxBackend]:
    with NginxBackend(lab, binary=nginx_binary) as backend:  # stopped on teardown, even on failure
        yield backend


@pytest.fixture(scope="module")
def mitm(lab: Lab, mitmdump_binary: Path) -> Iterator[MitmProxy]:
    with MitmProxy(lab, binary=mitmdump_binary) as proxy:
        yield proxy


def python_verify_code(port: int, ca_file: Path, crl_file: Path | None = None) -> int:
    """What Python's ``ssl`` (verification on, host name checked) reports: 0 or X509_V_ERR_*."""
    ctx = ssl.create_default_context(cafile=str(ca_file))
    if crl_file is not None:
        ctx.load_verify_locations(cafile=str(crl_file))
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    try:
        with socket.create_connection((LOOPBACK, port), timeout=IO_TIMEOUT) as sock:
            with ctx.wrap_socket(sock, server_hostname=LOOPBACK):
                return X509_V_OK
    except ssl.SSLCertVerificationError as exc:
        return exc.verify_code


def port_of(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def https_through_proxy(proxy_port: int, origin_url: str, ca_file: Path) -> tuple[dict, int, bytes]:
    """GET the origin through the proxy with Python: (presented certificate, status, body)."""
    ctx = ssl.create_default_context(cafile=str(ca_file))
    conn = http.client.HTTPSConnection(LOOPBACK, proxy_port, context=ctx, timeout=IO_TIMEOUT)
    conn.set_tunnel(LOOPBACK, port_of(origin_url))
    try:
        conn.connect()
        assert conn.sock is not None
        presented = conn.sock.getpeercert()
        conn.request("GET", "/")
        response = conn.getresponse()
        return presented, response.status, response.read(64 * 1024)
    finally:
        conn.close()


def assert_curl_meets(result: CurlResult, scenario_id: str) -> None:
    declared = scenario(scenario_id)
    assert result.curl_code == declared.curl_code, result.error
    if declared.curl_verify_result is not None:
        assert result.verify_result == declared.curl_verify_result, result.error
    if declared.http_status is not None:
        assert result.http_status == declared.http_status


# -- nginx: the certificate scenarios ----------------------------------------------------


@pytest.mark.nginx
@pytest.mark.parametrize("scenario_id", NGINX_SCENARIOS)
def test_curl_meets_each_certificate_fault_on_nginx_as_declared(nginx: NginxBackend, scenario_id: str) -> None:
    site = nginx[scenario_id]
    client = site.scenario.client
    result = curl_attempt(
        CurlAttempt(
            url=site.url,
            ca_file=site.ca_file,
            crl_file=site.crl_file if client.crl else None,
            cert_status=client.cert_status,
            max_tls=client.max_tls,
            timeout=IO_TIMEOUT,
        )
    )
    assert_curl_meets(result, scenario_id)
    if result.curl_code == 0:
        assert result.http_status == 200  # nginx's answer, not an error page


@pytest.mark.nginx
@pytest.mark.parametrize("scenario_id", NGINX_SCENARIOS)
def test_python_ssl_meets_each_certificate_fault_on_nginx_as_declared(nginx: NginxBackend, scenario_id: str) -> None:
    # Python checks host names inside OpenSSL, so wrong-host and no-san are refused with
    # X509 64; it does not check OCSP, so the stapled "revoked" passes, as declared (0).
    site = nginx[scenario_id]
    crl_file = site.crl_file if site.scenario.client.crl else None
    assert python_verify_code(site.port, site.ca_file, crl_file) == site.scenario.verify_result


@pytest.mark.nginx
def test_nginx_staples_the_revoked_ocsp_answer_and_only_there(nginx: NginxBackend) -> None:
    # The same certificate scenario without --cert-status connects: the 91 comes from the
    # staple, not from something else nginx does to that port.
    site = nginx["revoked-ocsp"]
    without_status = curl_attempt(CurlAttempt(url=site.url, ca_file=site.ca_file, timeout=IO_TIMEOUT))
    assert (without_status.curl_code, without_status.http_status) == (0, 200)
    assert "revocation reason" in curl_attempt(
        CurlAttempt(url=site.url, ca_file=site.ca_file, cert_status=True, timeout=IO_TIMEOUT)
    ).error


@pytest.mark.nginx
def test_nginx_retries_with_fresh_ports_when_one_is_taken(
    lab: Lab, nginx_binary: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Someone grabs the port between free_ports() and nginx's bind(): the backend must see
    # nginx fail on "Address already in use" and start again elsewhere, not serve a stranger.
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.bind((LOOPBACK, 0))
    squatter.listen(1)
    taken = squatter.getsockname()[1]
    real_free_ports = nginx_module.free_ports
    calls: list[list[int]] = []

    def first_one_taken(count: int) -> list[int]:
        ports = [taken] if not calls else real_free_ports(count)
        calls.append(ports)
        return ports

    monkeypatch.setattr(nginx_module, "free_ports", first_one_taken)
    try:
        with NginxBackend(lab, ["ok"], binary=nginx_binary) as backend:
            assert len(calls) == 2
            assert backend["ok"].port != taken
            result = curl_attempt(CurlAttempt(url=backend["ok"].url, ca_file=backend["ok"].ca_file, timeout=IO_TIMEOUT))
            assert (result.curl_code, result.http_status) == (0, 200)
    finally:
        squatter.close()


@pytest.mark.nginx
def test_nginx_stop_leaves_no_process_no_listener_and_no_keys(lab: Lab, nginx_binary: Path) -> None:
    backend = NginxBackend(lab, ["ok"], binary=nginx_binary).start()
    assert backend.process is not None and backend.run_dir is not None
    process, run_dir, port = backend.process.process, backend.run_dir, backend["ok"].port
    assert process is not None and port_accepts(port)
    backend.stop()
    assert process.returncode is not None  # reaped: the master is gone, and with it its workers
    assert not port_accepts(port)
    assert not run_dir.exists()


# -- mitmproxy: the intercepting-proxy scenarios -----------------------------------------


@pytest.mark.mitmproxy
def test_intercepting_proxy_is_refused_by_a_client_trusting_only_the_lab(mitm: MitmProxy) -> None:
    route = mitm.route("intercepting-proxy")
    assert route.ca_file.read_bytes().count(b"BEGIN CERTIFICATE") == 1  # the lab root only
    result = curl_attempt(CurlAttempt(url=route.url, ca_file=route.ca_file, proxy=route.proxy, timeout=IO_TIMEOUT))
    assert_curl_meets(result, "intercepting-proxy")


@pytest.mark.mitmproxy
def test_intercepting_proxy_is_invisible_to_a_client_trusting_its_ca(mitm: MitmProxy) -> None:
    route = mitm.route("intercepting-proxy")
    both = mitm.trust_files["lab+interception"]
    result = curl_attempt(CurlAttempt(url=route.url, ca_file=both, proxy=route.proxy, timeout=IO_TIMEOUT))
    assert (result.curl_code, result.verify_result, result.http_status) == (0, X509_V_OK, 200)
    # And what the client met was re-signed by *our* interception CA, not mitmproxy's own.
    presented, status, _ = https_through_proxy(mitm.port or 0, route.url, both)
    issuer = dict(attr for rdn in presented["issuer"] for attr in rdn)
    assert (issuer["organizationName"], status) == (INTERCEPTION_ORGANIZATION, 200)


@pytest.mark.mitmproxy
def test_inspecting_proxy_answers_502_when_the_origin_certificate_expired(mitm: MitmProxy) -> None:
    route = mitm.route("proxy-bad-gateway")
    assert port_of(route.url) == mitm.lab["expired"].port
    result = curl_attempt(CurlAttempt(url=route.url, ca_file=route.ca_file, proxy=route.proxy, timeout=IO_TIMEOUT))
    assert_curl_meets(result, "proxy-bad-gateway")
    # The 502 comes from inside the intercepted TLS and says why, as products' pages do.
    _, status, body = https_through_proxy(mitm.port or 0, route.url, route.ca_file)
    assert status == 502
    assert b"certificate has expired" in body


@pytest.mark.mitmproxy
def test_mitmproxy_refuses_to_tunnel_off_loopback(mitm: MitmProxy) -> None:
    # 0.0.0.0 is not a loopback address to the guard, yet connecting to it stays on this
    # machine: if the guard were broken, the test would fail without leaving the host.
    conn = http.client.HTTPConnection(LOOPBACK, mitm.port or 0, timeout=IO_TIMEOUT)
    conn.set_tunnel("0.0.0.0", mitm.lab["ok"].port or 0)
    try:
        with pytest.raises(OSError, match="403"):
            conn.connect()
    finally:
        conn.close()


@pytest.mark.mitmproxy
def test_mitmproxy_stop_leaves_no_process_and_no_ca_key(lab: Lab, mitmdump_binary: Path) -> None:
    proxy = MitmProxy(lab, binary=mitmdump_binary).start()
    assert proxy.process is not None and proxy.run_dir is not None and proxy.port is not None
    process, run_dir, port = proxy.process.process, proxy.run_dir, proxy.port
    assert process is not None and port_accepts(port)
    proxy.stop()
    assert process.returncode is not None
    assert not port_accepts(port)
    assert not run_dir.exists()


# -- the skip-or-fail policy -------------------------------------------------------------


def _missing() -> Path:
    raise RealPeerUnavailable("nothing here")


def test_a_missing_peer_skips_off_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="nothing here"):
        require_real_peer(_missing)


def test_a_missing_peer_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="nothing here"):
        require_real_peer(_missing)


def test_an_explicit_binary_that_is_not_there_is_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Whoever sets TLSDOCTOR_NGINX wants that nginx: no quiet fallback to another one.
    monkeypatch.setenv("TLSDOCTOR_NGINX", str(tmp_path / "no-nginx"))
    monkeypatch.setenv("TLSDOCTOR_MITMDUMP", str(tmp_path / "no-mitmdump"))
    with pytest.raises(RealPeerUnavailable, match="TLSDOCTOR_NGINX"):
        find_nginx()
    with pytest.raises(RealPeerUnavailable, match="TLSDOCTOR_MITMDUMP"):
        find_mitmdump()

"""A filtering proxy that accepts CONNECT, then answers the ClientHello with its own block page.

Clients report "wrong version number" (curl 35), the words of a server on the wrong port; the
server is fine, as a handshake that avoids the proxy shows. Real sockets on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

from tlsdoctor.diagnosis import diagnose
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.endpoints import CaptivePortal, HttpsOrigin, PlainHttp
from tlsdoctor.lab.proxy import ConnectProxy
from tlsdoctor.lab.tls import TlsServerConfig

from .conftest import TIMEOUT, assert_honest_and_in_time
from .servers import BlockPageProxy, serving


def _through(origin: int, proxy: int, ca_file: Path):  # type: ignore[no-untyped-def]
    return diagnose(f"https://127.0.0.1:{origin}/", proxy=f"http://127.0.0.1:{proxy}", ca_bundle=ca_file,
                    timeout=TIMEOUT, env={}, os_store_env={"SSL_CERT_FILE": str(ca_file), "SSL_CERT_DIR": ""})


def test_a_block_page_inside_the_tunnel_is_the_proxy_refusing(authorities: LabAuthorities, root_file: Path) -> None:
    leaf = authorities.intermediate.issue_cert("localhost", "127.0.0.1")
    with serving(HttpsOrigin(TlsServerConfig(certificate=leaf))) as origin, serving(BlockPageProxy()) as proxy:
        d = _through(origin, proxy, root_file)
    assert_honest_and_in_time(d)
    assert (d.verdict.code, d.verdict.evidence["peer"]) == ("proxy.connect_refused", "proxy"), d.verdict.summary
    assert "'HTTP/1.1 403 Forbidden'" in d.verdict.summary and "block page" in d.verdict.summary
    assert d.observations.direct_handshake is not None and d.observations.direct_handshake.ok
    assert d.observations.curl is not None and d.observations.curl.curl_code == 35
    assert not any(f.code == "tls.not_tls" for f in d.findings)


def test_a_server_that_speaks_plain_http_behind_a_relaying_proxy_is_the_server(root_file: Path) -> None:
    # Met directly, it answers the ClientHello with 400 (it tried to parse it), and the proxy
    # relays that very answer: the port is wrong, not the proxy.
    with serving(PlainHttp()) as origin, serving(ConnectProxy("tunnel")) as proxy:
        d = _through(origin, proxy, root_file)
    assert d.verdict.code == "tls.not_tls" and "block page" in d.verdict.remedy


def test_a_block_page_differs_from_what_the_server_says_directly(root_file: Path) -> None:
    # The server speaks plain HTTP (its own 400 directly), and the proxy answers with its 403
    # page: what this client meets is the proxy's refusal, whatever the server would say.
    with serving(PlainHttp()) as origin, serving(BlockPageProxy()) as proxy:
        d = _through(origin, proxy, root_file)
    assert d.verdict.code == "proxy.connect_refused", d.verdict.summary
    assert "403" in d.verdict.summary


def test_a_page_the_server_sends_itself_is_not_the_proxys(root_file: Path) -> None:
    # A captive portal or filter in front of the server, met the same with and without the proxy:
    # the proxy only relays it.
    with serving(CaptivePortal()) as origin, serving(ConnectProxy("tunnel")) as proxy:
        d = _through(origin, proxy, root_file)
    assert d.verdict.code == "tls.not_tls" and "captive portal" in d.verdict.summary

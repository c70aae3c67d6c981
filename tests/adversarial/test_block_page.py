"""A filtering proxy that accepts CONNECT, then answers the ClientHello with its own block page.

Clients report "wrong version number" (curl 35), the words of a server on the wrong port; the
server is fine, as a handshake that avoids the proxy shows. Real sockets on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

from tlsdoctor.diagnosis import diagnose
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.endpoints import HttpsOrigin, PlainHttp
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


def test_a_server_that_speaks_plain_http_is_still_the_server(root_file: Path) -> None:
    # Met directly too, it answers in plain text: the port is wrong, not the proxy.
    with serving(PlainHttp()) as origin, serving(BlockPageProxy()) as proxy:
        d = _through(origin, proxy, root_file)
    assert d.verdict.code == "tls.not_tls" and "block page" in d.verdict.remedy

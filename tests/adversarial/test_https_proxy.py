"""A proxy set as https://: the client speaks TLS to the proxy itself, and that is often the mistake.

``HTTPS_PROXY=https://proxy:3128`` is what people write (the variable says https), and since
curl 7.52 and urllib3 1.26 the scheme is honoured: a ClientHello goes to a plain HTTP proxy,
which answers "400 Bad Request" in plain text or hangs up, and the client reports "wrong
version number" (curl 35) as if the server were at fault. The lab scenario
``proxy-https-scheme`` covers the 400 (tests/test_diagnose.py); here, a proxy that drops the
hello instead, and a proxy that really does speak TLS, which tlsdoctor's probes cannot tunnel
through and must say so rather than read their own plain CONNECT's failure as the server's.
Real TLS on 127.0.0.1, lab certificates.
"""

from __future__ import annotations

from pathlib import Path

from tlsdoctor.diagnosis import Diagnosis, diagnose
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.endpoints import HttpsOrigin
from tlsdoctor.lab.tls import TlsServerConfig
from tlsdoctor.observe.route import discover_route, parse_target
from tlsdoctor.wire import AnswerKind

from .conftest import TIMEOUT, assert_honest_and_in_time
from .servers import ProxyDroppingTls, serving


def healthy(authorities: LabAuthorities) -> HttpsOrigin:
    leaf = authorities.intermediate.issue_cert("localhost", "127.0.0.1")
    return HttpsOrigin(TlsServerConfig(certificate=leaf, alpn=("http/1.1",)))


def through(origin: int, proxy: str, ca_file: Path) -> Diagnosis:
    return diagnose(f"https://127.0.0.1:{origin}/", proxy=proxy, ca_bundle=ca_file, timeout=TIMEOUT, env={},
                    os_store_env={"SSL_CERT_FILE": str(ca_file), "SSL_CERT_DIR": ""})


def test_an_https_proxy_url_is_tls_to_the_proxy_and_its_hello_names_the_proxy() -> None:
    route = discover_route(parse_target("https://example.test/"), env={"HTTPS_PROXY": "https://proxy.test:3128"})
    assert route.proxy is not None and route.proxy.tls_to_proxy and route.proxy.source == "env:HTTPS_PROXY"
    assert (route.proxy.target.host, route.proxy.target.port, route.proxy.target.server_name) == (
        "proxy.test", 3128, "proxy.test")
    plain = discover_route(parse_target("https://example.test/"), env={"https_proxy": "proxy.test:3128"})
    assert plain.proxy is not None and not plain.proxy.tls_to_proxy  # no scheme: http://, as curl reads it


def test_a_plain_proxy_that_drops_the_hello_is_named_by_its_tunnel(authorities: LabAuthorities, root_file: Path) -> None:
    with serving(healthy(authorities)) as origin, serving(ProxyDroppingTls()) as proxy:
        d = through(origin, f"https://127.0.0.1:{proxy}", root_file)
    assert_honest_and_in_time(d)
    assert d.observations.proxy_answer is not None
    assert d.observations.proxy_answer.answer.kind in (AnswerKind.RESET, AnswerKind.EOF)
    assert (d.verdict.code, d.verdict.confidence) == ("tls.not_tls", 0.8), d.verdict.summary
    assert "drops a TLS ClientHello" in d.verdict.summary and "the server answers TLS" in d.verdict.summary
    assert f"Write the proxy as http://127.0.0.1:{proxy}" in d.verdict.remedy
    assert d.observations.curl is not None and d.observations.curl.curl_code != 0


def test_a_proxy_that_speaks_tls_is_not_probed_with_plain_connect(authorities: LabAuthorities,
                                                                   root_file: Path) -> None:
    # A TLS server stands in for a real HTTPS proxy: what matters is that it answers TLS.
    with serving(healthy(authorities)) as tls_peer, serving(healthy(authorities)) as origin:
        d = through(origin, f"https://127.0.0.1:{tls_peer}", root_file)
    assert_honest_and_in_time(d)
    assert d.observations.proxy_answer is not None
    assert d.observations.proxy_answer.answer.kind is AnswerKind.TLS_HANDSHAKE
    # No probe sent a plain CONNECT to it: their failure would have been read as the proxy's or the server's.
    assert d.observations.handshake is None and d.observations.first_answer is None
    assert any("through the HTTPS proxy" in u.what for u in d.could_not_check), d.could_not_check
    # What it says is libcurl's (which did speak TLS to it, then CONNECT inside): read through the
    # safety net, never a probe's plain-CONNECT failure dressed as a proxy or TLS finding.
    assert d.observations.curl is not None
    assert all("libcurl_code" in f.evidence for f in d.findings if f.code != "ok"), d.findings
    assert not (d.verdict.code == "ok" and d.verdict.confidence >= 1.0)

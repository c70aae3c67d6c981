"""A proxy set as https://: the client speaks TLS to the proxy itself, and that is often the mistake.

``HTTPS_PROXY=https://proxy:3128`` is what people write (the variable says https), and since
curl 7.52 and urllib3 1.26 the scheme is honoured: a ClientHello goes to a plain HTTP proxy,
which answers "400 Bad Request" in plain text or hangs up, and the client reports "wrong
version number" (curl 35) as if the server were at fault. The lab scenario
``proxy-https-scheme`` covers the 400 (tests/test_diagnose.py); here, a proxy that drops the
hello instead; and real HTTPS proxies (the lab's CONNECT proxy behind TLS), which the probes
tunnel through in TLS, and whose own certificate the client's CA file may refuse (curl 60 at the
proxy, before any CONNECT). Real TLS on 127.0.0.1, lab certificates.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tlsdoctor.diagnosis import Diagnosis, diagnose
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.endpoints import HttpsOrigin
from tlsdoctor.lab.pki import IssuedCert
from tlsdoctor.lab.proxy import ConnectProxy
from tlsdoctor.lab.tls import TlsServerConfig
from tlsdoctor.observe.route import discover_route, parse_target
from tlsdoctor.render.diagnosis import diagnosis_document
from tlsdoctor.wire import AnswerKind

from .conftest import TIMEOUT, assert_honest_and_in_time
from .servers import ProxyDroppingTls, serving, tls_server_context

NOW = datetime.now(timezone.utc)


def healthy(authorities: LabAuthorities) -> HttpsOrigin:
    leaf = authorities.intermediate.issue_cert("localhost", "127.0.0.1", issuer_pointers=False)
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


def https_proxy(issued: IssuedCert, directory: Path):  # type: ignore[no-untyped-def]
    """An HTTPS proxy: the lab's CONNECT proxy behind TLS, presenting ``issued``."""
    return serving(ConnectProxy("tunnel"), tls=tls_server_context(issued, directory))


def test_an_https_proxy_the_client_trusts_is_tunnelled_through_in_tls(authorities: LabAuthorities, root_file: Path,
                                                                      tmp_path: Path) -> None:
    proxy_cert = authorities.intermediate.issue_cert("localhost", "127.0.0.1")
    with serving(healthy(authorities)) as origin, https_proxy(proxy_cert, tmp_path) as proxy:
        d = through(origin, f"https://127.0.0.1:{proxy}", root_file)
    assert_honest_and_in_time(d)
    assert d.ok and d.verdict.confidence == 1.0, (d.verdict.summary, d.could_not_check)
    assert d.observations.curl is not None and d.observations.curl.curl_code == 0  # libcurl: TLS to the proxy too
    assert d.observations.proxy_handshake is not None and d.observations.proxy_handshake.ok
    # Our own probes went through it: CONNECT inside TLS, the origin's TLS inside that.
    hs = d.observations.handshake
    assert hs is not None and hs.ok and hs.connect_answer is not None and hs.connect_answer.status == 200
    assert diagnosis_document(d)["observations"]["proxy_tls"]["client_accepts"] is True


def test_an_https_proxy_with_a_certificate_the_client_does_not_trust_is_the_verdict(
        authorities: LabAuthorities, root_file: Path, tmp_path: Path) -> None:
    # A corporate HTTPS proxy's certificate from the company's CA: the origin is fine.
    proxy_cert = authorities.foreign_intermediate.issue_cert("localhost", "127.0.0.1")
    with serving(healthy(authorities)) as origin, https_proxy(proxy_cert, tmp_path) as proxy:
        d = through(origin, f"https://127.0.0.1:{proxy}", root_file)
    assert_honest_and_in_time(d)
    assert (d.verdict.code, d.verdict.evidence["peer"]) == ("cert.untrusted_root", "proxy"), d.verdict.summary
    assert "Foreign Intermediate CA" in d.verdict.summary and "--proxy-cacert" in d.verdict.remedy
    assert d.observations.curl is not None and d.observations.curl.curl_code == 60
    assert d.observations.handshake is not None and d.observations.handshake.ok  # the origin's own TLS: fine
    assert not any(f.code.startswith("cert.") and f.evidence.get("peer") != "proxy" for f in d.findings)


@pytest.mark.parametrize("names, dates, code", [
    (("localhost", "127.0.0.1"), {"not_before": NOW - timedelta(days=90), "not_after": NOW - timedelta(days=2)},
     "cert.expired"),
    (("proxy.corp.example",), {}, "cert.hostname_mismatch"),  # the URL names the proxy by its address
])
def test_an_https_proxy_whose_certificate_is_wrong_is_named_at_the_proxy(
        authorities: LabAuthorities, root_file: Path, tmp_path: Path, names: tuple[str, ...],
        dates: dict[str, datetime], code: str) -> None:
    proxy_cert = authorities.intermediate.issue_cert(*names, **dates)  # type: ignore[arg-type]
    with serving(healthy(authorities)) as origin, https_proxy(proxy_cert, tmp_path) as proxy:
        d = through(origin, f"https://127.0.0.1:{proxy}", root_file)
    assert (d.verdict.code, d.verdict.evidence["peer"]) == (code, "proxy"), d.verdict.summary
    assert d.observations.curl is not None and d.observations.curl.curl_code == 60


def test_an_https_proxy_whose_ca_only_the_os_store_holds_is_a_store_mismatch(
        authorities: LabAuthorities, root_file: Path, tmp_path: Path) -> None:
    # The corporate desktop: the company CA is in the OS store, not in the app's CA file.
    proxy_cert = authorities.foreign_intermediate.issue_cert("localhost", "127.0.0.1")
    store = tmp_path / "os-store.pem"
    store.write_bytes(authorities.root.cert_pem + authorities.foreign_root.cert_pem)
    with serving(healthy(authorities)) as origin, https_proxy(proxy_cert, tmp_path) as proxy:
        d = diagnose(f"https://127.0.0.1:{origin}/", proxy=f"https://127.0.0.1:{proxy}", ca_bundle=root_file,
                     timeout=TIMEOUT, env={}, os_store_env={"SSL_CERT_FILE": str(store), "SSL_CERT_DIR": ""})
    assert (d.verdict.code, d.verdict.evidence["peer"]) == ("trust.store_mismatch", "proxy"), d.verdict.summary
    assert d.verdict.evidence["trusted_by"] == "os-store" and "trusts it" in d.verdict.summary


def test_broken_h2_behind_an_https_proxy_is_checked_over_http1_through_it(authorities: LabAuthorities,
                                                                          root_file: Path, tmp_path: Path) -> None:
    # The HTTP/1.1 HEAD after a failed h2 one opens a connection of its own: through the proxy's
    # TLS too, its own TLS stacked inside (observe/tls_layer.py).
    leaf = authorities.intermediate.issue_cert("localhost", "127.0.0.1", issuer_pointers=False)
    broken = HttpsOrigin(TlsServerConfig(certificate=leaf, alpn=("h2", "http/1.1")), h2_broken=True)
    proxy_cert = authorities.intermediate.issue_cert("localhost", "127.0.0.1")
    with serving(broken) as origin, https_proxy(proxy_cert, tmp_path) as proxy:
        d = through(origin, f"https://127.0.0.1:{proxy}", root_file)
    assert d.verdict.code == "http2.negotiation_failed", d.verdict.summary
    http = d.observations.http
    assert http is not None and http.http1 is not None and http.http1.status == 200, http

"""SOCKS5 proxies (ALL_PROXY=socks5h://...: an SSH tunnel, a SOCKS gateway): diagnosed through.

The probes open the same tunnel the client does (RFC 1928: a greeting offering no
authentication, then CONNECT by name for socks5h, by the locally resolved address for
socks5, as curl does) and judge the proxy's refusals as an HTTP proxy's. Real sockets and
real TLS on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tlsdoctor.diagnosis import Diagnosis, diagnose
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.endpoints import HttpsOrigin
from tlsdoctor.lab.socks import Socks5Proxy
from tlsdoctor.lab.tls import TlsServerConfig
from tlsdoctor.observe.socks import connect_request, socks4_request
from tlsdoctor.render.diagnosis import diagnosis_json

from .conftest import TIMEOUT, assert_honest_and_in_time
from .servers import serving


def healthy(authorities: LabAuthorities) -> HttpsOrigin:
    leaf = authorities.intermediate.issue_cert("localhost", "127.0.0.1", issuer_pointers=False)
    return HttpsOrigin(TlsServerConfig(certificate=leaf))


def through(url: str, proxy: str, ca_file: Path) -> Diagnosis:
    return diagnose(url, proxy=proxy, ca_bundle=ca_file, timeout=TIMEOUT, env={},
                    os_store_env={"SSL_CERT_FILE": str(ca_file), "SSL_CERT_DIR": ""})


def test_the_connect_request_names_the_destination_as_rfc_1928_spells_it() -> None:
    assert connect_request("localhost", 443, None) == b"\x05\x01\x00\x03\x09localhost\x01\xbb"
    assert connect_request("localhost", 443, "127.0.0.1") == b"\x05\x01\x00\x01\x7f\x00\x00\x01\x01\xbb"
    assert connect_request("::1", 8443, None)[3:4] == b"\x04"


@pytest.mark.parametrize("scheme, host, kind", [
    ("socks5h", "localhost", 3),  # the proxy resolves the name
    ("socks5", "127.0.0.1", 1),  # an address (curl resolves "localhost" to ::1 too, where nothing listens here)
    ("socks4a", "localhost", 3),  # SOCKS4a: the name, behind 0.0.0.1
    ("socks4", "localhost", 1),  # SOCKS4: the IPv4 address the client resolved (the protocol has no other)
])
def test_a_working_socks_proxy_is_tunnelled_through(authorities: LabAuthorities, root_file: Path,
                                                     scheme: str, host: str, kind: int) -> None:
    socks = Socks5Proxy()
    with serving(healthy(authorities)) as origin, serving(socks) as proxy:
        d = through(f"https://{host}:{origin}/", f"{scheme}://127.0.0.1:{proxy}", root_file)
    assert_honest_and_in_time(d)
    assert d.ok and d.verdict.confidence == 1.0, (d.verdict.summary, d.could_not_check)
    assert d.observations.curl is not None and d.observations.curl.curl_code == 0  # libcurl went through it too
    assert {k for k, _address in socks.heard} == {kind}, socks.heard


def test_a_socks5_refusal_is_the_proxy_refusing(authorities: LabAuthorities, root_file: Path) -> None:
    with serving(healthy(authorities)) as origin, serving(Socks5Proxy(reply=2)) as proxy:
        d = through(f"https://127.0.0.1:{origin}/", f"socks5h://127.0.0.1:{proxy}", root_file)
    assert d.verdict.code == "proxy.connect_refused", d.verdict.summary
    assert "connection not allowed by ruleset" in d.verdict.summary


def test_a_socks5_proxy_that_wants_credentials_is_named(authorities: LabAuthorities, root_file: Path) -> None:
    with serving(Socks5Proxy(wants_credentials=True)) as proxy:
        d = through("https://127.0.0.1:9/", f"socks5h://127.0.0.1:{proxy}", root_file)
    assert d.verdict.code == "proxy.auth_required", d.verdict.summary
    assert "username and password (RFC 1929)" in d.verdict.summary
    assert "socks5h://USER:PASSWORD@127.0.0.1:" in d.verdict.remedy


def test_a_socks5_proxy_refusing_tlsdoctor_with_credentials_in_the_setting_is_incomplete(
        authorities: LabAuthorities, root_file: Path) -> None:
    # tlsdoctor never sends credentials: the proxy's refusal of it says nothing of the client's.
    with serving(Socks5Proxy(wants_credentials=True)) as proxy:
        d = through("https://127.0.0.1:9/", f"socks5h://someone:s3cret@127.0.0.1:{proxy}", root_file)
    assert d.verdict.code == "diagnosis.incomplete", d.verdict.summary
    [warning] = [f for f in d.findings if f.code == "proxy.auth_required"]
    assert "never sends" in warning.summary
    assert "s3cret" not in diagnosis_json(d)


def test_socks5_sends_the_address_the_client_resolved(authorities: LabAuthorities, root_file: Path) -> None:
    # socks5:// (not socks5h): the name is resolved on the client, as curl does; our probes send
    # the address, never the name, so a proxy that cannot resolve internal names is not asked to.
    socks = Socks5Proxy()
    with serving(healthy(authorities)) as origin, serving(socks) as proxy:
        through(f"https://localhost:{origin}/", f"socks5://127.0.0.1:{proxy}", root_file)
    assert socks.heard and all(kind in (1, 4) for kind, _address in socks.heard), socks.heard


@pytest.mark.parametrize("socks, code", [(Socks5Proxy(reply=2), "proxy.connect_refused"),
                                         (Socks5Proxy(wants_credentials=True), "proxy.auth_required")])
def test_the_clients_curl_stack_names_a_socks_refusal(socks: Socks5Proxy, code: str, root_file: Path) -> None:
    # libcurl says 97 (CURLE_PROXY) for every SOCKS failure: its words say which.
    from tlsdoctor.client.curl_stack import CurlStack
    from tlsdoctor.client.errors import TransportError
    from tlsdoctor.client.stack import Request

    with serving(socks) as port:
        stack = CurlStack(ca_bundle=root_file, trust_os_store=False, proxy=f"socks5h://127.0.0.1:{port}")
        try:
            with pytest.raises(TransportError) as failed:
                stack.send(Request("GET", "https://127.0.0.1:9/", timeout=2))
        finally:
            stack.close()
    assert (failed.value.curl_code, failed.value.code) == (97, code), failed.value


def test_a_socks4_request_is_spelled_as_its_protocol_note_says() -> None:
    assert socks4_request(443, "127.0.0.1", "localhost") == b"\x04\x01\x01\xbb\x7f\x00\x00\x01\x00"
    assert socks4_request(443, None, "localhost") == b"\x04\x01\x01\xbb\x00\x00\x00\x01\x00localhost\x00"


@pytest.mark.parametrize("proxy_options, code, words", [
    ({"reply": 91}, "proxy.connect_refused", "SOCKS4 reply 91: request rejected or failed"),
    ({"wants_credentials": True}, "proxy.auth_required", "identd"),
])
def test_a_socks4_refusal_is_read_as_a_proxy_s(authorities: LabAuthorities, root_file: Path,
                                               proxy_options: dict[str, object], code: str, words: str) -> None:
    with serving(healthy(authorities)) as origin, serving(Socks5Proxy(**proxy_options)) as proxy:  # type: ignore[arg-type]
        d = through(f"https://127.0.0.1:{origin}/", f"socks4a://127.0.0.1:{proxy}", root_file)
    assert d.verdict.code == code, d.verdict.summary
    assert words in d.verdict.summary
    assert d.observations.curl is not None and d.observations.curl.curl_code == 97  # libcurl's CURLE_PROXY

"""A certificate that nearly covers the name: the wildcard and the bare domain, www or not, an IP.

Served on 127.0.0.1 with certificates for example names, and met by those names through
``resolve`` (curl's --resolve), so the diagnosis sees what a client of that name sees.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tlsdoctor.diagnosis import diagnose
from tlsdoctor.judge.rules.names import near_miss
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.endpoints import HttpsOrigin
from tlsdoctor.lab.tls import TlsServerConfig

from .servers import serving


@pytest.mark.parametrize(("names", "host", "said", "fix"), [
    (("*.tlsdoctor.test",), "tlsdoctor.test", "not tlsdoctor.test itself", "both tlsdoctor.test and *.tlsdoctor.test"),
    (("*.tlsdoctor.test",), "a.b.tlsdoctor.test", "covers exactly one label", "*.b.tlsdoctor.test"),
    (("www.tlsdoctor.test",), "tlsdoctor.test", "are two names", "both tlsdoctor.test and www.tlsdoctor.test"),
    (("api.tlsdoctor.test",), "127.0.0.1", "connects by IP address", "Connect by the certificate's name"),
])
def test_a_near_miss_is_named_with_its_fix(authorities: LabAuthorities, root_file: Path, names: tuple[str, ...],
                                           host: str, said: str, fix: str) -> None:
    leaf = authorities.intermediate.issue_cert(*names, issuer_pointers=False)
    with serving(HttpsOrigin(TlsServerConfig(certificate=leaf))) as port:
        d = diagnose(f"https://{host}:{port}/", ca_bundle=root_file, timeout=1.0, env={},
                     os_store_env={"SSL_CERT_FILE": str(root_file), "SSL_CERT_DIR": ""},
                     resolve=[f"{host}:{port}:127.0.0.1"] if host != "127.0.0.1" else [])
    assert d.verdict.code == "cert.hostname_mismatch", d.verdict.summary
    assert said in d.verdict.summary and fix in d.verdict.remedy
    assert d.observations.curl is not None and d.observations.curl.curl_code == 60


def test_an_unrelated_name_is_no_near_miss() -> None:
    assert near_miss("api.example.com", ["other.example.org", "*.example.org"]) is None
    assert near_miss("example.com", ["*.example.org"]) is None
    assert near_miss("192.0.2.1", ["192.0.2.2"]) is None  # an address entry exists: only a different one

"""diagnose against a real nginx: suites no OpenSSL client offers, and a chain cut short.

The lab's own server could be wrong in the same way as our probes; nginx (on the
system's OpenSSL) is the field's server. Configured to accept only NULL suites, or only
CCM-8 suites, it refuses every OpenSSL client's hello, and diagnose must still name what
it accepts (its own ClientHellos offer any suite number). Sending only its leaf, whose
certificate names no caIssuers URL, it must be read as an incomplete chain from the
chain's structure alone.

A missing nginx skips these tests on a laptop; with ``CI=true`` it fails them.
"""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from tlsdoctor.demo import options_for
from tlsdoctor.diagnosis import Diagnosis, diagnose
from tlsdoctor.lab.nginx import NginxBackend, NginxSite, RealPeerUnavailable, find_nginx
from tlsdoctor.lab.runner import Lab, running_lab

SITES = ("null-cipher-only", "no-shared-cipher", "incomplete-chain-no-aia")


@pytest.fixture(scope="module")
def nginx() -> Iterator[NginxBackend]:
    try:
        binary = find_nginx()
    except RealPeerUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and CI installs nginx, yet: {exc}")
        pytest.skip(str(exc))
    with running_lab(SITES) as lab, NginxBackend(lab, SITES, binary=binary) as backend:
        yield backend


def diagnosed(lab: Lab, site: NginxSite) -> Diagnosis:
    entry = lab[site.id]
    return diagnose(site.url, **{**options_for(entry, os_store=site.ca_file), "ca_bundle": site.ca_file})


@pytest.mark.nginx
def test_nginx_accepting_only_null_suites_is_a_cipher_mismatch_that_names_them(nginx: NginxBackend) -> None:
    d = diagnosed(nginx.lab, nginx["null-cipher-only"])
    assert d.verdict.code == "tls.cipher_mismatch"
    assert d.observations.curl is not None and d.observations.curl.curl_code == 35
    assert d.verdict.evidence["server_suites"] == {"1.2": ["TLS_ECDHE_ECDSA_WITH_NULL_SHA"]}
    assert d.verdict.evidence["families"] == {"TLS_ECDHE_ECDSA_WITH_NULL_SHA": "NULL"}
    assert "TLS_ECDHE_ECDSA_WITH_NULL_SHA" in d.verdict.summary and "(NULL)" in d.verdict.summary


@pytest.mark.nginx
def test_nginx_accepting_only_ccm8_suites_is_a_cipher_mismatch_that_names_them(nginx: NginxBackend) -> None:
    d = diagnosed(nginx.lab, nginx["no-shared-cipher"])
    assert d.verdict.code == "tls.cipher_mismatch"
    suites = d.verdict.evidence["server_suites"]
    assert suites == {"1.2": ["TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"], "1.3": ["TLS_AES_128_CCM_8_SHA256"]}
    assert set(d.verdict.evidence["families"].values()) == {"CCM-8"}


@pytest.mark.nginx
def test_nginx_sending_only_its_leaf_without_aia_is_an_incomplete_chain(nginx: NginxBackend) -> None:
    d = diagnosed(nginx.lab, nginx["incomplete-chain-no-aia"])
    assert d.verdict.code == "cert.incomplete_chain"
    assert d.observations.handshake is not None and len(d.observations.handshake.presented_chain) == 1
    assert d.verdict.evidence["missing_issuer"] == "CN=tlsdoctor Lab Intermediate CA,O=tlsdoctor lab"
    assert d.verdict.evidence["missing_issuer_key_id"]
    assert "ca_issuers_url" not in d.verdict.evidence


@pytest.mark.nginx
def test_the_cipher_probe_stays_within_the_connection_budget(nginx: NginxBackend) -> None:
    for site_id in ("null-cipher-only", "no-shared-cipher"):
        assert diagnosed(nginx.lab, nginx[site_id]).observations.connections <= 12


@pytest.mark.nginx
def test_the_json_document_says_what_the_server_accepts(nginx: NginxBackend) -> None:
    import json

    from tlsdoctor.render.diagnosis import diagnosis_document

    doc = json.loads(json.dumps(diagnosis_document(diagnosed(nginx.lab, nginx["null-cipher-only"])), default=str))
    capabilities = doc["observations"]["capabilities"]
    assert capabilities["versions_accepted"] == ["1.2"]
    assert capabilities["suites_accepted"] == {"1.2": ["TLS_ECDHE_ECDSA_WITH_NULL_SHA"]}
    assert capabilities["families"] == {"TLS_ECDHE_ECDSA_WITH_NULL_SHA": "NULL"}
    assert capabilities["default_client_ok"] is False and capabilities["hellos"] <= 6

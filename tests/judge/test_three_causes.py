"""The three causes diagnose learnt with issue 7: a revocation status nobody can give, a
server that wants a client certificate, and a CA file too old for a current root.

Each is diagnosed against the lab as a client set up the way the scenario says, and the
evidence must name what a support engineer needs (the dead URLs, the CertificateRequest
and the alert, the missing root and the file's age). The last tests are the boundary of
``trust.bundle_outdated``: a private one-root CA file is never "outdated", and neither is a
current copy of a public store that lacks a company's private root.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tlsdoctor.demo import options_for
from tlsdoctor.diagnosis import Diagnosis, diagnose
from tlsdoctor.findings import Severity
from tlsdoctor.lab import Lab


def diagnosed(lab: Lab, scenario_id: str, **changes: object) -> Diagnosis:
    entry = lab[scenario_id]
    options = options_for(entry, os_store=entry.os_store_file or entry.ca_file)
    return diagnose(entry.url, **{**options, **changes})


def test_a_client_that_requires_a_status_fails_when_responder_and_crl_are_down(tls_lab: Lab) -> None:
    d = diagnosed(tls_lab, "revocation-unreachable")
    assert d.verdict.code == "cert.revocation_unavailable"
    assert d.observations.curl is not None and d.observations.curl.curl_code == 91
    evidence = d.verdict.evidence
    assert evidence["ocsp_url"].startswith("http://127.0.0.1:") and evidence["crl_url"].endswith(".crl")
    assert evidence["ocsp_error"] and evidence["crl_error"] and evidence["stapled"] is False


def test_a_soft_failing_client_works_and_is_warned(tls_lab: Lab) -> None:
    d = diagnosed(tls_lab, "revocation-unreachable-soft")
    assert d.verdict.code == "ok"
    [warning] = [f for f in d.findings if f.code == "cert.revocation_unavailable"]
    assert warning.severity is Severity.WARNING
    assert "--cert-status" in warning.summary


def test_the_same_server_with_a_live_responder_gets_no_revocation_warning(tls_lab: Lab) -> None:
    d = diagnosed(tls_lab, "ok")
    assert "cert.revocation_unavailable" not in {f.code for f in d.findings}


@pytest.mark.parametrize(("scenario_id", "alert", "curl_code", "when"), [
    ("client-cert-required", "certificate_required", 56, "after the handshake"),
    ("client-cert-required-tls1.2", "handshake_failure", 35, "during the handshake"),
])
def test_a_certificate_request_then_a_refusal_is_a_required_client_certificate(
        tls_lab: Lab, scenario_id: str, alert: str, curl_code: int, when: str) -> None:
    d = diagnosed(tls_lab, scenario_id)
    assert d.verdict.code == "tls.client_cert_required"
    assert d.observations.handshake is not None and d.observations.handshake.certificate_requested
    assert d.verdict.evidence["alert"] == alert
    assert d.verdict.evidence["libcurl_code"] == curl_code
    assert d.verdict.evidence["client_ca_names"] == ["CN=tlsdoctor Lab Root CA, O=tlsdoctor lab"]
    assert when in d.verdict.summary
    assert "tls.handshake_alert" not in {f.code for f in d.findings}


def test_an_old_copy_of_the_store_names_the_missing_root_and_its_own_age(tls_lab: Lab) -> None:
    d = diagnosed(tls_lab, "outdated-ca-bundle")
    assert d.verdict.code == "trust.bundle_outdated"
    evidence = d.verdict.evidence
    assert evidence["missing_root"] == "CN=tlsdoctor Lab Store Root R2 (new),O=tlsdoctor lab store"
    assert evidence["ca_file_roots"] == 5 and evidence["shared_with_store"] == 5
    modified = datetime.fromisoformat(evidence["ca_file_modified"])
    newest = datetime.fromisoformat(evidence["ca_file_newest_not_before"])
    assert modified < datetime.fromisoformat(evidence["missing_root_not_before"])
    assert newest < datetime.fromisoformat(evidence["missing_root_not_before"])
    assert "trust.store_mismatch" in {f.code for f in d.findings}  # the symptom, outranked


def test_a_private_one_root_ca_file_is_a_store_mismatch_not_an_outdated_bundle(tls_lab: Lab) -> None:
    entry = tls_lab["outdated-ca-bundle"]
    d = diagnosed(tls_lab, "outdated-ca-bundle", ca_bundle=tls_lab["ok"].ca_file)  # the lab root alone
    assert entry.os_store_file is not None
    assert d.verdict.code == "trust.store_mismatch"
    assert "trust.bundle_outdated" not in {f.code for f in d.findings}


def test_a_company_root_missing_from_a_bundled_store_is_a_store_mismatch(tls_lab: Lab) -> None:
    # The file holds every root of the public store the OS store holds; what it lacks is the
    # company's root, older than the file's newest root and in no public store.
    d = diagnosed(tls_lab, "company-root")
    assert d.verdict.code == "trust.store_mismatch"
    assert d.verdict.evidence["private_root"] is True
    assert "private root" in d.verdict.summary and "will not help" in d.verdict.remedy
    assert d.observations.trust is not None and d.observations.trust.anchor_in_public_store is False
    assert "trust.bundle_outdated" not in {f.code for f in d.findings}


def test_the_same_file_lacking_a_public_root_is_an_outdated_bundle(tls_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    # Were the company's root in the current public store (here: certifi's bundle read from a
    # file that holds it), a file lacking it would be an old copy, whatever the root's age.
    from tlsdoctor.observe import chain_checks
    from tlsdoctor.observe.trust_sources import load_ca_file

    store = tls_lab["company-root"].os_store_file
    assert store is not None
    monkeypatch.setattr(chain_checks, "default_ca_bundle", lambda: load_ca_file(store))
    d = diagnosed(tls_lab, "company-root")
    assert d.verdict.code == "trust.bundle_outdated"
    assert d.verdict.confidence == 0.9
    assert d.verdict.evidence["missing_root"] == "CN=Example Corp Internal Root CA,O=Example Corp"


def test_the_cli_diagnoses_a_client_that_requires_a_status(tls_lab: Lab) -> None:
    import json
    import subprocess
    import sys

    entry = tls_lab["revocation-unreachable"]
    env = entry.client_env()
    argv = [sys.executable, "-m", "tlsdoctor", "diagnose", entry.url, "--ca-bundle", str(entry.ca_file), "--json"]
    soft = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    hard = subprocess.run([*argv, "--cert-status"], capture_output=True, text=True, timeout=60, env=env)
    assert (soft.returncode, json.loads(soft.stdout)["verdict"]["code"]) == (0, "ok")
    assert (hard.returncode, json.loads(hard.stdout)["verdict"]["code"]) == (1, "cert.revocation_unavailable")

"""``outcome.presented_issuer``: the CA that signed what the client saw, in trust failures' reports.

The real case first: the lab's intercepting proxy re-signs the origin with its "antivirus" CA,
a real curl-stack :class:`~tlsdoctor.client.Client` fails (curl 60) and its report names that CA,
read from what libcurl already knew (CERTINFO) — no extra connection (the proxy counts them).
Then what the name may be: bounded, printable, scrubbed, only for trust failures, from PEM or
from the printed names other TLS backends give, whatever order the chain came in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from tlsdoctor.client.client import Client
from tlsdoctor.client.curl_stack import CurlStack
from tlsdoctor.client.errors import TransportError
from tlsdoctor.client.report import JsonLinesSink, PendingReport, Reporter, build_report, read_reports
from tlsdoctor.client.report.issuer import CHAIN_CERTS, ISSUER_CAP, is_trust_failure, presented_issuer
from tlsdoctor.lab.pki import CA
from tlsdoctor.lab import Lab

INTERCEPTION_CA = "Lab Antivirus Web Shield Root"


def _pem(cert: Any) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _certinfo(*certs: Any) -> tuple[dict[str, str], ...]:
    """What the curl stack keeps of CURLINFO_CERTINFO: PEM plus OpenSSL's printed names."""
    return tuple({"Subject": ", ".join(f"{a.oid._name} = {a.value}" for a in c.subject),
                  "Issuer": ", ".join(f"{a.oid._name} = {a.value}" for a in c.issuer), "Cert": _pem(c)}
                 for c in certs)


def report(code: str = "cert.untrusted_root", chain: Any = (), ok: bool = False, **outcome: Any) -> dict[str, Any]:
    return build_report(
        kind="failure", stack="curl", cohort=None, method="GET", url="https://example.test/a?token=x",
        http_version=None, outcome={"ok": ok, "code": code, "curl_code": 60, "message": "SSL certificate problem",
                                    "presented_chain": chain, **outcome},
        fallback=None, environment={}, timings_ms={}, install="i" * 32, app_version="1.0")


# -- a real lab scenario through a real curl-stack client ---------------------------------------------


def test_an_intercepting_proxys_ca_is_named_in_the_curl_stacks_failure_report(tls_lab: Lab, tmp_path: Path) -> None:
    entry = tls_lab["intercepting-proxy"]
    reporter = Reporter([JsonLinesSink(tmp_path)])
    # Both stacks trust only the lab root (no fallback can rescue): the report is a failure.
    stacks = {"curl": CurlStack(ca_bundle=entry.ca_file, trust_os_store=False, proxy=entry.proxy),
              "native": CurlStack(ca_bundle=entry.ca_file, trust_os_store=False, proxy=entry.proxy)}
    before = tls_lab.connections[entry.id]
    with Client(stack="curl", stacks=stacks, reporter=reporter, validate_every=0) as client:
        with pytest.raises(TransportError) as caught:
            client.get(entry.url)
    assert caught.value.curl_code == 60 and caught.value.presented_chain  # what libcurl already knew
    assert tls_lab.connections[entry.id] - before == 1  # the request's own connection, no other
    assert reporter.flush(timeout=10)
    reporter.close()
    (written,) = read_reports(tmp_path)
    assert written["kind"] == "failure" and written["outcome"]["curl_code"] == 60
    assert is_trust_failure(written["outcome"]["code"])
    assert written["outcome"]["presented_issuer"] == INTERCEPTION_CA
    assert "presented_chain" not in written["outcome"]  # the chain itself never leaves the machine
    assert "BEGIN CERTIFICATE" not in str(written)


def test_a_failure_that_is_not_about_trust_carries_no_issuer(tls_lab: Lab, tmp_path: Path) -> None:
    entry = tls_lab["expired"]  # curl 60 too, with the chain at hand, but about dates, not signers
    reporter = Reporter([JsonLinesSink(tmp_path)])
    stacks = {"curl": CurlStack(ca_bundle=entry.ca_file, trust_os_store=False, proxy=""),
              "native": CurlStack(ca_bundle=entry.ca_file, trust_os_store=False, proxy="")}
    with Client(stack="curl", stacks=stacks, reporter=reporter, validate_every=0) as client:
        with pytest.raises(TransportError) as caught:
            client.get(entry.url)
    assert caught.value.curl_code == 60 and caught.value.presented_chain
    assert reporter.flush(timeout=10)
    reporter.close()
    (written,) = read_reports(tmp_path)
    assert written["outcome"]["code"] == "cert.expired" and "presented_issuer" not in written["outcome"]


# -- the name: where it comes from -------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain() -> dict[str, Any]:
    root = CA("Example AV Web Shield Root", organization="Example AV")
    intermediate = root.intermediate("Example AV Issuing CA 2")
    leaf = intermediate.issue_cert("api.example.test", issuer_pointers=False)
    return {"root": root, "intermediate": intermediate, "leaf": leaf.cert}


def test_the_name_is_the_issuer_of_the_root_most_certificate_in_any_order(chain: dict[str, Any]) -> None:
    leaf, intermediate, root = chain["leaf"], chain["intermediate"].cert, chain["root"].cert
    assert presented_issuer(_certinfo(leaf)) == "Example AV Issuing CA 2"  # a leaf alone: its issuer
    assert presented_issuer(_certinfo(leaf, intermediate)) == "Example AV Web Shield Root"
    assert presented_issuer(_certinfo(leaf, root, intermediate)) == "Example AV Web Shield Root"  # out of order
    assert presented_issuer(_certinfo(leaf, intermediate, root)) == "Example AV Web Shield Root"  # root sent too


def test_printed_names_are_the_fallback_when_a_backend_gives_no_pem(chain: dict[str, Any]) -> None:
    names = [{k: v for k, v in c.items() if k != "Cert"} for c in _certinfo(chain["leaf"], chain["intermediate"].cert)]
    assert presented_issuer(names) == "Example AV Web Shield Root"
    for printed, expected in [
        ("C = CZ, O = AVAST Software s.r.o., CN = Avast Web/Mail Shield Root", "Avast Web/Mail Shield Root"),
        ("CN=Kaspersky Anti-Virus Personal Root Certificate,O=AO Kaspersky Lab",
         "Kaspersky Anti-Virus Personal Root Certificate"),
        ('O = "Example, Inc.", OU = Inspection', "Example, Inc."),  # no CN: the organisation
        ("/C=US/O=Zscaler Inc./CN=Zscaler Root CA", "Zscaler Root CA"),
    ]:
        assert presented_issuer([{"Subject": "CN = leaf", "Issuer": printed}]) == expected


def test_only_trust_failures_carry_it(chain: dict[str, Any]) -> None:
    certinfo = _certinfo(chain["leaf"], chain["intermediate"].cert)
    for code in ("cert.untrusted_root", "trust.interception", "cert.self_signed", "trust.store_mismatch"):
        assert report(code, certinfo)["outcome"]["presented_issuer"] == "Example AV Web Shield Root"
    for code in ("cert.expired", "cert.hostname_mismatch", "tls.abrupt_close", None):
        assert "presented_issuer" not in report(code, certinfo)["outcome"]
    assert "presented_issuer" not in report("ok", certinfo, ok=True)["outcome"]
    assert "presented_issuer" not in report("cert.untrusted_root", ())["outcome"]


def test_a_diagnosis_decides_whether_the_issuer_goes_with_the_report(chain: dict[str, Any]) -> None:
    certinfo = _certinfo(chain["leaf"], chain["intermediate"].cert)

    def pending(code: str, diagnosed: str) -> dict[str, Any]:
        event = PendingReport(kind="failure", stack="curl", cohort=None, method="GET", url="https://example.test/",
                              http_version=None, outcome={"ok": False, "code": code, "presented_chain": certinfo},
                              fallback=None, environment={}, timings_ms={}, install="i", app_version="1")
        event.diagnosis = {"code": diagnosed, "nel_type": "x"}
        return event.build()["outcome"]

    assert pending("cert.untrusted_root", "trust.interception")["presented_issuer"] == "Example AV Web Shield Root"
    assert "presented_issuer" not in pending("cert.untrusted_root", "clock.skewed")


# -- the name: what it may be ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "check"), [
    ("A" * 5000, lambda got: got == "A" * ISSUER_CAP),
    ("Evil\x1b[31m Root\r\nSet-Cookie: a=b", lambda got: "\x1b" not in got and "\r" not in got and len(got) <= ISSUER_CAP),
    ("Root password=hunter2", lambda got: "hunter2" not in got),
    ("https://user:secret@ca.example/path?token=abc Root", lambda got: "secret" not in got and "abc" not in got),
])
def test_a_hostile_name_is_cut_made_printable_and_scrubbed(name: str, check: Any) -> None:
    got = report("trust.interception", [{"Subject": "CN = leaf", "Issuer": f"CN = {name}"}])["outcome"]
    assert check(got.get("presented_issuer", "")), got


def test_broken_or_huge_chains_cost_the_field_never_the_report(chain: dict[str, Any]) -> None:
    broken = [{"Subject": "CN = x", "Issuer": "CN = y", "Cert": "-----BEGIN CERTIFICATE-----\nnot base64\n"}]
    assert report("cert.untrusted_root", broken)["outcome"]["presented_issuer"] == "y"  # printed names remain
    assert "presented_issuer" not in report("cert.untrusted_root", [{"Cert": "garbage"}])["outcome"]
    assert "presented_issuer" not in report("cert.untrusted_root", ["not a mapping", 7])["outcome"]
    # A server that presents hundreds of certificates: only the first CHAIN_CERTS are looked at.
    many = [{"Subject": f"CN = c{i}", "Issuer": f"CN = c{i + 1}"} for i in range(500)]
    assert report("cert.untrusted_root", many)["outcome"]["presented_issuer"] == f"c{CHAIN_CERTS}"


def test_what_a_failure_keeps_of_the_chain_is_bounded(chain: dict[str, Any]) -> None:
    from tlsdoctor.client.report.issuer import CHAIN_BUDGET, keep_chain

    real = [[(k, v) for k, v in c.items()] + [("Serial Number", "01")] for c in
            _certinfo(chain["leaf"], chain["intermediate"].cert)]
    kept = keep_chain(real)
    assert [set(c) for c in kept] == [{"Subject", "Issuer", "Cert"}] * 2  # nothing else of libcurl's fields
    assert presented_issuer(kept) == "Example AV Web Shield Root"
    hostile = [[("Subject", "CN = " + "s" * 100_000), ("Issuer", "CN = " + "i" * 100_000),
                ("Cert", "-----BEGIN CERTIFICATE-----\n" + "A" * 100_000)]] * 500
    kept = keep_chain(hostile)
    assert len(kept) <= CHAIN_CERTS and sum(len(v) for c in kept for v in c.values()) <= CHAIN_BUDGET
    assert keep_chain(None) == () and keep_chain([["not pairs"], 7]) == ({}, {})

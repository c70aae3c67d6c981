"""What ``tlsdoctor diagnose`` says: the whole cause, its fix and page, libcurl's code for this libcurl."""

from __future__ import annotations

import io
import json
import re

import pycurl
from rich.console import Console

from tlsdoctor.diagnosis import diagnose
from tlsdoctor.lab.runner import Lab
from tlsdoctor.render.diagnosis import curl_codes_words, diagnosis_document, print_diagnosis

LIBCURL_MAJOR = int(pycurl.version_info()[1].split(".")[0])


def shown(d: object, width: int = 120) -> str:
    buffer = io.StringIO()
    print_diagnosis(d, Console(file=buffer, width=width, force_terminal=True, color_system=None))  # type: ignore[arg-type]
    return " ".join(buffer.getvalue().split())


def test_expired_and_untrusted_by_this_client_are_both_named(tls_lab: Lab, tmp_path) -> None:
    # A client whose CA file does not hold the lab root, against an expired leaf: libcurl says
    # "unable to get local issuer certificate", so renewing alone would not fix this client.
    empty_store = tmp_path / "empty.pem"
    empty_store.write_text("")
    d = diagnose(tls_lab["expired"].url, ca_bundle=_foreign_ca(tls_lab, tmp_path), timeout=3, env={},
                 os_store_env={"SSL_CERT_FILE": str(empty_store), "SSL_CERT_DIR": ""})
    codes = {d.verdict.code} | {f["code"] for f in diagnosis_document(d)["verdict"]["further_causes"]}
    assert {"cert.expired", "cert.untrusted_root"} <= codes
    text = shown(d)
    assert "Also in the way" in text
    assert "docs/findings/cert.expired.md" in text and "docs/findings/cert.untrusted_root.md" in text
    assert "Renew the certificate" in text


def test_a_clock_symptom_is_not_a_further_cause(tls_lab: Lab) -> None:
    from datetime import timedelta

    from tlsdoctor.clock import ShiftedClock

    entry = tls_lab["clock-skew"]
    d = diagnose(entry.url, ca_bundle=str(entry.ca_file), timeout=3, env={},
                 clock=ShiftedClock(entry.scenario.client.clock_offset or timedelta(days=3)))
    assert d.verdict.code == "clock.skewed"
    assert diagnosis_document(d)["verdict"]["further_causes"] == []
    assert "3 days ahead" in d.verdict.summary
    assert "Also in the way" not in shown(d)


def test_the_curl_line_says_what_this_libcurl_returns(tls_lab: Lab) -> None:
    entry = tls_lab["proxy-auth-required"]
    d = diagnose(entry.url, ca_bundle=str(entry.ca_file), proxy=entry.proxy, timeout=3, env={})
    assert d.verdict.code == "proxy.auth_required"
    said = d.observations.curl.curl_code  # type: ignore[union-attr]
    text = shown(d)
    line = re.search(r"libcurl said: curl (\d+).*?for proxy\.auth_required: ([^·]+)", text)
    assert line, text
    assert int(line.group(1)) == said
    assert line.group(2).startswith(f"curl {said} from this libcurl ({LIBCURL_MAJOR}.x)")
    assert "expected for this cause" not in text
    page = json.loads(json.dumps(diagnosis_document(d)))["verdict"]["page"]
    assert page == "docs/findings/proxy.auth_required.md"


def test_curl_codes_words() -> None:
    spec = "56 (libcurl 7) / 7 (libcurl 8)"
    assert curl_codes_words(spec, 8) == "curl 7 from this libcurl (8.x); libcurl 7 returned 56"
    assert curl_codes_words(spec, 7) == "curl 56 from this libcurl (7.x); libcurl 8 returned 7"
    assert curl_codes_words("7 / 56", 8) == "curl 7 or 56"
    assert curl_codes_words("60", 8) == "curl 60"


def _foreign_ca(lab: Lab, tmp_path) -> str:
    """A CA file with a real root that did not issue the lab's chains: the lab's untrusted root's own."""
    from tlsdoctor.lab import pki

    path = tmp_path / "foreign.pem"
    path.write_bytes(pki.CA("Some Other Root CA").cert_pem)
    return str(path)

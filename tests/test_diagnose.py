"""diagnose against the lab: every scenario gets the right verdict, with evidence.

The demo's cases are the acceptance test: each lab scenario, diagnosed as a client set up
as the scenario says (its CA file, proxy, TLS cap, clock), must get the scenario's finding
code as its verdict; the interception scenario also with its CA only in the OS store, and
in the client's own file (then: ok, plus a trust.interception warning).
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlsdoctor.clock import ShiftedClock
from tlsdoctor.demo import DemoResult, cases, options_for, run_cases
from tlsdoctor.diagnosis import DiagnoseError, diagnose
from tlsdoctor.findings import FINDING_CODES, Severity
from tlsdoctor.lab import Lab
from tlsdoctor.render.diagnosis import diagnosis_document


@pytest.fixture(scope="module")
def demo_results(tls_lab: Lab) -> dict[str, DemoResult]:
    results = asyncio.run(run_cases(cases(tls_lab)))
    return {r.case.name: r for r in results}


def test_every_scenario_gets_its_verdict(demo_results: dict[str, DemoResult]) -> None:
    wrong = {name: (r.case.expected, r.verdict, r.error) for name, r in demo_results.items() if not r.matches}
    assert not wrong


def test_verdict_is_the_first_finding_and_findings_are_ordered(demo_results: dict[str, DemoResult]) -> None:
    for r in demo_results.values():
        assert r.diagnosis is not None
        assert r.diagnosis.findings[0] is r.diagnosis.verdict
        assert all(f.code in FINDING_CODES and 0 <= f.confidence <= 1 for f in r.diagnosis.findings)


def test_clock_skew_names_the_offset_and_keeps_expired_as_a_weak_symptom(demo_results: dict[str, DemoResult]) -> None:
    d = demo_results["clock-skew"].diagnosis
    assert d is not None
    assert 3 * 86400 - 120 <= d.verdict.evidence["offset_s"] <= 3 * 86400 + 120
    expired = [f for f in d.findings if f.code == "cert.expired"]
    assert expired and expired[0].confidence < d.verdict.confidence


def test_corrupt_bundle_names_the_entry(demo_results: dict[str, DemoResult]) -> None:
    d = demo_results["corrupt-ca-bundle"].diagnosis
    assert d is not None
    assert d.verdict.evidence["broken_entries"][0]["index"] == 0
    assert "entry 0" in d.verdict.remedy


def test_a_ca_file_openssl_cannot_read_is_the_verdict_with_its_conversion(demo_results: dict[str, DemoResult]) -> None:
    # PowerShell's `>` saved the lab root as UTF-16: libcurl stops at curl 77 before connecting.
    d = demo_results["unreadable-ca-file"].diagnosis
    assert d.verdict.code == "trust.bundle_missing" and d.verdict.confidence == 0.95
    assert d.observations.curl is not None and d.observations.curl.curl_code == 77
    assert "UTF-16 text holding 1 certificate" in d.verdict.summary
    assert "Set-Content -Encoding ascii" in d.verdict.remedy
    # The server is fine, and the diagnosis still looked: its chain verifies with the OS store.
    assert "verifies with" in d.verdict.remedy and d.observations.handshake is not None and d.observations.handshake.ok
    assert all(f.code != "cert.untrusted_root" for f in d.findings)


def test_a_plain_proxy_set_as_https_is_named_with_its_http_url(demo_results: dict[str, DemoResult]) -> None:
    result = demo_results["proxy-https-scheme"]
    d, proxy = result.diagnosis, result.case.entry.proxy
    assert proxy.startswith("https://") and d.verdict.code == "tls.not_tls"
    assert d.verdict.evidence["peer"] == "proxy" and d.verdict.evidence["first_bytes"].startswith("HTTP/1.1 400")
    assert f"Write the proxy as http://{proxy.removeprefix('https://')}" in d.verdict.remedy
    # Probed through it as http:// (what the fix makes of it): the tunnel and the server are fine.
    assert d.observations.handshake is not None and d.observations.handshake.ok
    assert "the server answers TLS" in d.verdict.summary
    assert diagnosis_document(d)["observations"]["proxy_first_answer"]["kind"] == "plaintext"
    assert d.observations.curl is not None and d.observations.curl.curl_code == 35


def test_a_server_that_refuses_post_quantum_key_shares_is_told_apart_by_one_classic_hello(
        demo_results: dict[str, DemoResult]) -> None:
    d = demo_results["post-quantum-refused"].diagnosis
    assert (d.verdict.code, d.verdict.confidence) == ("tls.handshake_alert", 0.9), d.verdict.summary
    assert d.verdict.evidence["alert"] == "illegal_parameter" and "x25519mlkem768" in d.verdict.summary
    assert "--curves" in d.verdict.remedy and "4.2.8" in d.verdict.remedy
    caps = d.observations.capabilities
    assert caps is not None and caps.small_hello is not None and caps.small_hello.accepted
    # One connection more than the plain alert case, and only here: a server that refuses every
    # hello with an alert never accepts this client's suites, so it is not asked again.
    plain = demo_results["alert-handshake-failure"].diagnosis
    assert plain.observations.capabilities is None or plain.observations.capabilities.small_hello is None


def test_a_server_without_secure_renegotiation_is_named_from_its_server_hello(
        demo_results: dict[str, DemoResult]) -> None:
    d = demo_results["legacy-renegotiation"].diagnosis
    assert (d.verdict.code, d.verdict.confidence) == ("tls.protocol_mismatch", 0.95), d.verdict.summary
    assert d.verdict.evidence["secure_renegotiation"] is False and d.verdict.evidence["server_version"] == "TLS 1.2"
    assert "RFC 5746" in d.verdict.summary and "OP_LEGACY_SERVER_CONNECT" in d.verdict.remedy
    assert d.observations.curl is not None and "legacy renegotiation" in d.observations.curl.error


def test_an_expired_copy_of_the_root_is_named_not_called_unknown(demo_results: dict[str, DemoResult]) -> None:
    # The root is in the CA file, as an old copy whose dates ended: not "a CA no trust source holds".
    d = demo_results["expired-root"].diagnosis
    assert d.verdict.code == "cert.expired"
    assert d.verdict.evidence["expired_root"] == "CN=tlsdoctor Lab Root CA,O=tlsdoctor lab"
    assert d.verdict.evidence["trust_source"] == "ca-bundle" and d.verdict.evidence["libcurl_verify_result"] == 10
    assert "every certificate the server sends is valid" in d.verdict.summary
    assert not any(f.code == "cert.untrusted_root" for f in d.findings)
    # The server's own chain is in date: the presented certificates are not blamed.
    assert all(c.not_valid_before_utc <= d.observations.local_time <= c.not_valid_after_utc
               for c in d.observations.presented_chain)
    # The empty reply and the answer that is not HTTP: TLS is fine, and the diagnosis shows it.
    for name, fault in (("empty-reply", "closed"), ("not-http-answer", "invalid")):
        r = demo_results[name].diagnosis
        assert r.observations.handshake is not None and r.observations.handshake.ok
        assert r.verdict.evidence["fault"] == fault, (name, r.verdict.evidence)


def test_a_server_that_resets_large_hellos_is_told_apart_by_one_small_hello(
        demo_results: dict[str, DemoResult]) -> None:
    d = demo_results["large-hello-reset"].diagnosis
    assert d.verdict.code == "tls.abrupt_close"
    evidence = d.verdict.evidence
    assert evidence["small_hello_bytes"] <= 1400 < evidence["client_hello_bytes"], evidence
    assert "spans two segments" in d.verdict.summary and "tldr.fail" in d.verdict.remedy
    caps = d.observations.capabilities
    assert caps is not None and caps.small_hello is not None and caps.small_hello.accepted
    assert [a.name for a in caps.attempts] == ["client", "client-small"]  # one connection more, no version hellos
    # A server that resets every hello: asked once more, small, and the reading stays the plain one.
    plain = demo_results["reset-after-hello"].diagnosis
    small = plain.observations.capabilities.small_hello if plain.observations.capabilities else None
    assert small is not None and not small.accepted
    assert plain.verdict.summary == "The server reset the connection right after the ClientHello, with no TLS alert."


def test_unrecognized_name_by_ip_address_says_to_use_the_host_name(demo_results: dict[str, DemoResult]) -> None:
    d = demo_results["sni-required"].diagnosis
    assert d.verdict.code == "tls.handshake_alert" and d.verdict.evidence["alert"] == "unrecognized_name"
    assert d.verdict.evidence.get("sni_sent") is None and "IP address (127.0.0.1)" in d.verdict.summary
    assert "host name" in d.verdict.remedy
    # The same server by its name is served: SNI was the whole story.
    by_name = demo_results["sni-required"].case.entry.url.replace("127.0.0.1", "localhost")
    named = diagnose(by_name, ca_bundle=demo_results["sni-required"].case.entry.ca_file, timeout=2.0, env={},
                     os_store_env={"SSL_CERT_FILE": str(demo_results["sni-required"].case.entry.ca_file),
                                   "SSL_CERT_DIR": ""})
    assert named.verdict.code == "ok", named.verdict.summary


def test_an_expired_extra_in_the_chain_is_a_warning_not_the_verdict(demo_results: dict[str, DemoResult]) -> None:
    # The AddTrust case: libcurl and our own path validation verify without the expired cross-sign.
    d = demo_results["expired-cross-sign"].diagnosis
    assert d.verdict.code == "ok" and d.observations.curl is not None and d.observations.curl.curl_code == 0
    expired = [f for f in d.findings if f.code == "cert.expired"]
    assert len(expired) == 1 and expired[0].severity is Severity.WARNING
    assert "AddTrust-like" in expired[0].summary and "Remove that certificate" in expired[0].remedy
    # The leaf's own expiry stays the verdict, of course.
    assert demo_results["expired"].diagnosis.verdict.code == "cert.expired"


def test_a_stale_staple_is_an_old_answer_not_a_revoked_certificate(demo_results: dict[str, DemoResult]) -> None:
    d = demo_results["stale-staple"].diagnosis
    assert d.observations.curl is not None and d.observations.curl.error == "OCSP response has expired"
    assert d.verdict.code == "cert.revocation_unavailable", d.verdict.summary
    assert "nextUpdate" in d.verdict.evidence["staple_out_of_date"] and "3 days ago" in d.verdict.summary
    assert not any(f.code == "cert.revoked" for f in d.findings)


def test_interception_variants(demo_results: dict[str, DemoResult]) -> None:
    untrusted = demo_results["intercepting-proxy"].diagnosis
    os_only = demo_results["intercepting-proxy (CA in OS store)"].diagnosis
    trusted = demo_results["intercepting-proxy (CA in client's file)"].diagnosis
    assert untrusted and os_only and trusted
    assert "trust.store_mismatch" not in {f.code for f in untrusted.findings}
    assert {f.code for f in os_only.findings} >= {"trust.interception", "trust.store_mismatch"}
    warning = next(f for f in trusted.findings if f.code == "trust.interception")
    assert trusted.ok and warning.severity is Severity.WARNING
    assert "direct_leaf" in untrusted.verdict.evidence  # proven by comparing routes, not by the name alone


def test_hostname_mismatch_says_which_names(demo_results: dict[str, DemoResult]) -> None:
    d = demo_results["wrong-host"].diagnosis
    assert d is not None and "wrong.host.tlsdoctor.test" in d.verdict.summary


def test_libcurl_result_is_shown_beside_the_verdict(demo_results: dict[str, DemoResult]) -> None:
    for name in ("expired", "tls1.0-only", "tcp-refused", "dns-unresolvable"):
        d = demo_results[name].diagnosis
        assert d is not None and d.observations.curl is not None
        assert d.observations.curl.curl_code == demo_results[name].case.entry.curl_code


def test_connections_per_diagnosis_stay_within_budget(demo_results: dict[str, DemoResult]) -> None:
    assert max(r.diagnosis.observations.connections for r in demo_results.values() if r.diagnosis) <= 12


def test_json_document_follows_the_spec(demo_results: dict[str, DemoResult]) -> None:
    d = demo_results["proxy-tunnel"].diagnosis
    assert d is not None
    doc = json.loads(json.dumps(diagnosis_document(d), default=str))
    assert doc["schema"] == "tlsdoctor.diagnosis/1"
    assert set(doc["target"]) == {"url", "host", "port", "proxy"} and doc["target"]["proxy"].startswith("http://")
    assert set(doc["verdict"]) >= {"code", "summary", "remedy", "curl_code", "nel_type"}
    assert doc["findings"][0]["code"] == doc["verdict"]["code"]
    assert isinstance(doc["elapsed_ms"], (int, float))
    direct = demo_results["ok"].diagnosis
    assert diagnosis_document(direct)["target"]["proxy"] is None  # type: ignore[arg-type]


def test_a_shifted_clock_alone_turns_ok_into_clock_skew(tls_lab: Lab) -> None:
    entry = tls_lab["ok"]
    options = options_for(entry, os_store=entry.ca_file)
    assert diagnose(entry.url, **options).ok
    skewed = diagnose(entry.url, **{**options, "clock": ShiftedClock(timedelta(days=400))})
    assert skewed.verdict.code == "clock.skewed"


@pytest.mark.parametrize("url", ["not a url", "http://127.0.0.1/", "ftp://x/", "https://", "https://x:99999/", ""])
def test_bad_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(DiagnoseError):
        diagnose(url, timeout=0.5)


def test_ca_files_that_cannot_be_read_are_usage_errors(tmp_path: Path) -> None:
    # A path that is not a file is a typo as likely as a setting: the user hears it at once. A
    # file that is there but holds no certificate is the client's problem: a diagnosis (above).
    for path in (tmp_path / "missing.pem", tmp_path):
        with pytest.raises(DiagnoseError):
            diagnose("https://127.0.0.1:1/", ca_bundle=path, timeout=0.5)


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tlsdoctor", *args], capture_output=True, text=True,
                          timeout=120, input=stdin, check=False)


def test_cli_usage_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_text("not a certificate\n")
    for args in (["diagnose", "http://127.0.0.1/"], ["diagnose", "https://x y/"],
                 ["diagnose", "https://127.0.0.1:1/", "--ca-bundle", str(tmp_path / "nope.pem")],
                 ["diagnose", "https://127.0.0.1:1/", "--extra-ca", str(tmp_path / "bad.pem")],
                 ["diagnose"], ["diagnose", "--batch", str(tmp_path / "none.txt")], ["explain", str(tmp_path / "no")]):
        done = run_cli(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr


def test_cli_diagnose_json_and_exit_codes(tls_lab: Lab) -> None:
    expired, ok = tls_lab["expired"], tls_lab["ok"]
    done = run_cli("diagnose", expired.url, "--ca-bundle", str(expired.ca_file), "--json", "--timeout", "2")
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["verdict"]["code"] == "cert.expired"
    done = run_cli("diagnose", ok.url, "--ca-bundle", str(ok.ca_file), "--timeout", "2")
    assert done.returncode == 0, done.stdout
    assert "ok" in done.stdout


def test_cli_batch_json_lines(tls_lab: Lab, tmp_path: Path) -> None:
    batch = tmp_path / "urls.txt"
    batch.write_text(f"# lab\n{tls_lab['ok'].url}\n{tls_lab['tcp-refused'].url}\nhttp://not-https/\n")
    done = run_cli("diagnose", "--batch", str(batch), "--ca-bundle", str(tls_lab["ok"].ca_file), "--json",
                   "--timeout", "2")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1
    codes = sorted(line.get("verdict", {}).get("code", "error") for line in lines)
    assert codes == ["error", "ok", "tcp.refused"]


def test_cli_explain_reads_stdin() -> None:
    done = run_cli("explain", "--json", stdin="curl: (60) SSL certificate problem: certificate has expired\n")
    assert done.returncode == 0
    assert json.loads(done.stdout)["candidates"][0]["code"] == "cert.expired"


class GarbageServer:
    """A loopback server that answers every connection with the given bytes, then closes."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        for _ in range(200):  # bounded: a diagnosis opens a dozen connections at most
            if self.stop.is_set():
                return
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(0.5)
                try:
                    conn.recv(4096)
                    conn.sendall(self.payload)
                except OSError:
                    pass

    def __enter__(self) -> "GarbageServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=300))
def test_random_server_bytes_never_crash_a_diagnosis(payload: bytes) -> None:
    with GarbageServer(payload) as server:
        result = diagnose(f"https://127.0.0.1:{server.port}/", timeout=0.5, deadline=6, libcurl=False,
                          env={}, os_store_env={"SSL_CERT_FILE": "", "SSL_CERT_DIR": ""})
    assert result.verdict.code in FINDING_CODES


@settings(max_examples=200, deadline=None)
@given(url=st.text(max_size=60) | st.builds(lambda s, p: f"https://{s}:{p}/", st.text(max_size=20),
                                             st.integers(-5, 70000)))
def test_random_urls_are_parsed_or_refused_cleanly(url: str) -> None:
    from tlsdoctor.observe.route import TargetError, parse_target

    try:
        target = parse_target(url)
    except TargetError:
        return
    assert 0 < target.port < 65536 and target.url.startswith("https://") and "?" not in target.url


def test_package_level_api_survives_submodule_imports(tls_lab: Lab) -> None:
    import tlsdoctor
    import tlsdoctor.diagnosis  # noqa: F401 - importing the module must not shadow the function

    entry = tls_lab["tcp-refused"]
    assert tlsdoctor.diagnose(entry.url, timeout=1, libcurl=False).verdict.code == "tcp.refused"
    assert asyncio.run(tlsdoctor.diagnose_async(entry.url, timeout=1, libcurl=False)).verdict.code == "tcp.refused"


def test_a_forked_child_diagnoses_on_threads_of_its_own(tls_lab) -> None:
    """The probe thread pool outlives one diagnosis; a fork (batch workers) must not inherit it half-alive."""
    import multiprocessing

    entry = tls_lab["ok"]
    options = {"ca_bundle": entry.ca_file, "env": {}, "timeout": 3.0,
               "os_store_env": {"SSL_CERT_FILE": str(entry.ca_file), "SSL_CERT_DIR": ""}}
    assert diagnose(entry.url, **options).verdict.code == "ok"  # the parent's pool now has threads
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        verdict, curl_seen, cut = pool.apply_async(_verdict_of, (entry.url, options)).get(timeout=60)
    assert (verdict, curl_seen, cut) == ("ok", True, ())


def _verdict_of(url: str, options: dict) -> tuple[str, bool, tuple]:
    d = diagnose(url, **options)
    return d.verdict.code, d.observations.curl is not None, d.observations.cut

"""A host with several addresses, some dead; and curl's --resolve, which pins them.

Broken IPv6 behind an AAAA record, or a retired load-balancer address still in DNS: curl and
browsers race a host's addresses (Happy Eyeballs) and work, while clients that try them one
by one wait out a connect timeout first. The loopback network has room for this: the server
on 127.0.0.1, a dead twin on 127.0.0.2 (same port), and the name pinned to both with
``resolve`` (curl's ``--resolve``), which is also how a support engineer aims a diagnosis at
one backend. Real sockets throughout; skipped where 127.0.0.2 is not a local address (macOS).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlsdoctor.diagnosis import DiagnoseError, Diagnosis, diagnose
from tlsdoctor.lab import Lab
from tlsdoctor.lab.runner import silent_socket
from tlsdoctor.observe.route import TargetError, parse_resolve, parse_target


def _second_loopback_works() -> bool:
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.2", 0))
        return True
    except OSError:
        return False


needs_second_loopback = pytest.mark.skipif(not _second_loopback_works(), reason="127.0.0.2 is not local here")


def pinned(lab: Lab, scenario_id: str, host: str, addresses: str, timeout: float = 1.0) -> Diagnosis:
    entry = lab[scenario_id]
    ca = str(entry.ca_file)
    return diagnose(f"https://{host}:{entry.port}/", ca_bundle=ca, timeout=timeout, env={},
                    os_store_env={"SSL_CERT_FILE": ca, "SSL_CERT_DIR": ""},
                    resolve=[f"{host}:{entry.port}:{addresses}"])


@pytest.fixture()
def silent_twin(tls_lab: Lab) -> Iterator[int]:
    """127.0.0.2 on the ok scenario's port, dropping every SYN (its one queue place taken)."""
    port = tls_lab["ok"].port
    assert port is not None
    listener, filler = silent_socket("127.0.0.2", port)
    with listener, filler:
        yield port


@pytest.fixture()
def refusing_twin(tls_lab: Lab) -> Iterator[int]:
    port = tls_lab["ok"].port
    assert port is not None
    with socket.socket() as bound:  # bound, never listening: refused
        bound.bind(("127.0.0.2", port))
        yield port


@needs_second_loopback
def test_a_dead_address_before_a_live_one_is_a_warning_and_the_probes_use_the_live_one(
        tls_lab: Lab, silent_twin: int) -> None:
    d = pinned(tls_lab, "ok", "localhost", "127.0.0.2,127.0.0.1")
    assert d.verdict.code == "ok", d.verdict.summary
    [warning] = [f for f in d.findings if f.code == "tcp.timed_out"]
    assert warning.evidence["dead_addresses"] == ["127.0.0.2"]
    assert warning.evidence["live_addresses"] == ["127.0.0.1"]
    assert "one by one" in warning.summary and "given with --resolve" in warning.summary
    assert "A record" in warning.remedy
    obs = d.observations
    assert obs.resolution is not None and obs.resolution.pinned
    assert obs.handshake is not None and obs.handshake.ok
    assert obs.curl is not None and obs.curl.curl_code == 0


@needs_second_loopback
def test_a_refusing_address_before_a_live_one_is_a_milder_warning(tls_lab: Lab, refusing_twin: int) -> None:
    d = pinned(tls_lab, "ok", "localhost", "127.0.0.2,127.0.0.1")
    assert d.verdict.code == "ok"
    [warning] = [f for f in d.findings if f.code == "tcp.refused"]
    assert warning.evidence["refused_addresses"] == ["127.0.0.2"]
    assert "tcp.timed_out" not in {f.code for f in d.findings}


@needs_second_loopback
def test_when_no_pinned_address_accepts_it_is_the_route_not_a_dns_filter(tls_lab: Lab, refusing_twin: int) -> None:
    d = pinned(tls_lab, "ok", "api.example.com", "127.0.0.2")
    assert d.verdict.code == "tcp.refused"
    assert "DNS filter" not in d.verdict.summary  # the user pinned loopback: no resolver said so


def test_a_name_dns_does_not_know_is_diagnosed_at_its_pinned_address(tls_lab: Lab) -> None:
    # libcurl's attempt takes the same addresses (CURLOPT_RESOLVE): it meets the certificate, not DNS.
    d = pinned(tls_lab, "ok", "tlsdoctor-lab.invalid", "127.0.0.1")
    assert d.verdict.code == "cert.hostname_mismatch"  # the lab's certificate names localhost and its addresses
    assert d.observations.curl is not None and d.observations.curl.curl_code == 60


def test_resolve_entries_are_read_as_curl_reads_them() -> None:
    target = parse_target("https://api.example.com:8443/")
    assert parse_resolve(["api.example.com:8443:192.0.2.7,[2001:db8::1]"], target) == ("192.0.2.7", "2001:db8::1")
    assert parse_resolve(["other.example:8443:192.0.2.1", "*:8443:192.0.2.9"], target) == ("192.0.2.9",)
    assert parse_resolve(["api.example.com:443:192.0.2.7"], target) == ()  # another port: unused
    assert parse_resolve(["+API.example.com.:8443:192.0.2.7"], target) == ("192.0.2.7",)


@pytest.mark.parametrize("entry", ["api.example.com:8443", "api.example.com:8443:not-an-ip", "api.example.com:99999:1.2.3.4",
                                   "api.example.com:x:1.2.3.4"])
def test_a_malformed_resolve_entry_is_a_usage_error(entry: str) -> None:
    with pytest.raises(TargetError):
        parse_resolve([entry], parse_target("https://api.example.com:8443/"))
    with pytest.raises(DiagnoseError):
        diagnose("https://api.example.com:8443/", resolve=[entry], timeout=0.5, env={})


def test_the_cli_takes_resolve_and_refuses_a_bad_one_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "tlsdoctor", "diagnose", "https://api.example.com/",
                           "--resolve", "api.example.com:443:nowhere"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "nowhere" in done.stderr and "Traceback" not in done.stderr


@settings(max_examples=300, deadline=None)
@given(entry=st.text(max_size=80))
def test_any_resolve_entry_is_pinned_or_refused_in_words(entry: str) -> None:
    # A --resolve value comes from a person's keyboard: a usage error or addresses, never a crash.
    try:
        pinned = parse_resolve([entry], parse_target("https://api.example.com:8443/"))
    except TargetError as exc:
        assert str(exc).startswith("--resolve ")
    else:
        assert all(isinstance(address, str) for address in pinned)

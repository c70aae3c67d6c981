"""clock-skew: a valid certificate that a client with a wrong clock calls expired.

Two ways to shift a client's clock, both tested: the real one (the ``faketime`` tool
around a child process, which is how libcurl and OpenSSL see it) and tlsdoctor's own
injectable clock (what diagnosis uses to reason about "valid at the server's time").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from tlsdoctor.clock import SYSTEM_CLOCK, ShiftedClock, faketime_argv, faketime_spec
from tlsdoctor.lab import Lab

needs_faketime = pytest.mark.skipif(
    shutil.which("faketime") is None and os.environ.get("CI") != "true",
    reason="the faketime tool is not installed (CI installs it)",
)

CLIENT = """
import json, sys
from pathlib import Path
from tlsdoctor.observe.curl import CurlAttempt, curl_attempt
r = curl_attempt(CurlAttempt(sys.argv[1], ca_file=Path(sys.argv[2]), timeout=5))
print(json.dumps({"curl_code": r.curl_code, "verify_result": r.verify_result, "error": r.error}))
"""


def run_client(argv: list[str], url: str, ca_file: str) -> dict[str, object]:
    done = subprocess.run(
        [*argv, sys.executable, "-c", CLIENT, url, ca_file],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.faketime
@needs_faketime
def test_libcurl_under_faketime_sees_the_certificate_expired(tls_lab: Lab) -> None:
    entry = tls_lab["clock-skew"]
    shifted = entry.command([])  # faketime -f +259200s
    assert shifted[:2] == [shutil.which("faketime"), "-f"]
    result = run_client(shifted, entry.url, str(entry.ca_file))
    assert (result["curl_code"], result["verify_result"]) == (60, 10), result


@pytest.mark.faketime
@needs_faketime
def test_the_same_client_with_the_true_clock_connects(tls_lab: Lab) -> None:
    entry = tls_lab["clock-skew"]
    result = run_client([], entry.url, str(entry.ca_file))
    assert result["curl_code"] == 0, result


@pytest.mark.faketime
@needs_faketime
def test_faketime_really_moves_the_child_clock() -> None:
    offset = timedelta(days=3)
    done = subprocess.run(
        faketime_argv(offset, [sys.executable, "-c", "import time; print(time.time())"]),
        capture_output=True, text=True, timeout=30, check=True,
    )
    import time

    assert abs(float(done.stdout) - (time.time() + offset.total_seconds())) < 60


def test_injectable_clock_judges_the_served_certificate(tls_lab: Lab) -> None:
    """The served leaf is valid by the true clock and expired by a clock 3 days ahead."""
    import ssl
    import urllib.parse

    entry = tls_lab["clock-skew"]
    url = urllib.parse.urlsplit(entry.url)
    leaf = x509.load_pem_x509_certificate(ssl.get_server_certificate((url.hostname, url.port), timeout=5).encode())
    root = x509.load_pem_x509_certificate(entry.ca_file.read_bytes())
    intermediate = tls_lab.authorities.intermediate.cert  # type: ignore[union-attr]

    def verify_at(clock: object) -> None:
        verifier = PolicyBuilder().store(Store([root])).time(clock.now()).build_server_verifier(  # type: ignore[attr-defined]
            x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))
        )
        verifier.verify(leaf, [intermediate])

    verify_at(SYSTEM_CLOCK)
    with pytest.raises(VerificationError, match="expired|not valid"):
        verify_at(ShiftedClock(entry.scenario.client.clock_offset))  # type: ignore[arg-type]


def test_faketime_spec_is_exact_seconds() -> None:
    assert faketime_spec(timedelta(days=3)) == "+259200s"
    assert faketime_spec(timedelta(hours=-2)) == "-7200s"


@pytest.mark.faketime
@needs_faketime
def test_tlsdoctor_diagnose_under_faketime_names_the_clock(tls_lab: Lab) -> None:
    """The real thing: the whole diagnose command runs with its clock 3 days ahead."""
    entry = tls_lab["clock-skew"]
    argv = entry.command([sys.executable, "-m", "tlsdoctor", "diagnose", entry.url, "--ca-bundle",
                          str(entry.ca_file), "--json", "--timeout", "3"])
    env = {**entry.client_env(), "SSL_CERT_FILE": str(entry.ca_file), "SSL_CERT_DIR": ""}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=90, env=env, check=False)
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert document["verdict"]["code"] == "clock.skewed"
    clock = next(f for f in document["findings"] if f["code"] == "clock.skewed")
    assert 3 * 86400 - 300 <= clock["evidence"]["offset_s"] <= 3 * 86400 + 300

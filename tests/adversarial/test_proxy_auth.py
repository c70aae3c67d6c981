"""A proxy that wants credentials (407): what the client's setting can give it, and what tlsdoctor cannot see.

Two field traps. A corporate proxy that logs users in with NTLM or Negotiate only: the browser
works (it logs in as the Windows user by itself), curl and Python get 407 however right the
password in their proxy URL is, because a proxy URL's credentials go as Basic. And a proxy URL
that carries credentials: tlsdoctor never sends them, so its own 407 (and libcurl's, in the
diagnosis) says nothing about the client's; the honest verdict is that it could not see past
the proxy, never "configure the credentials". Real sockets on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tlsdoctor.diagnosis import Diagnosis, diagnose

from .conftest import TIMEOUT, assert_honest_and_in_time
from .servers import RecordingProxy, serving

ORIGIN = "https://127.0.0.1:9/"  # never reached: the proxy refuses first


def through(proxy: str, ca_file: Path) -> Diagnosis:
    return diagnose(ORIGIN, proxy=proxy, ca_bundle=ca_file, timeout=TIMEOUT, env={},
                    os_store_env={"SSL_CERT_FILE": str(ca_file), "SSL_CERT_DIR": ""})


def test_credentials_in_the_proxy_setting_are_never_sent_and_never_blamed(root_file: Path) -> None:
    recorder = RecordingProxy()
    with serving(recorder) as port:
        d = through(f"http://alice:s3cret-pw@127.0.0.1:{port}", root_file)
    assert_honest_and_in_time(d)
    assert recorder.heard and all(b"CONNECT 127.0.0.1:9 " in h for h in recorder.heard)
    assert not any(b"proxy-authorization" in h.lower() or b"s3cret" in h or b"alice" in h for h in recorder.heard)
    # Its own 407 says nothing of the client's credentials: what is behind the proxy went unseen.
    assert d.verdict.code == "diagnosis.incomplete", d.verdict.summary
    assert "never sends" in d.verdict.summary and "--timeout" not in d.verdict.remedy
    warning = next(f for f in d.findings if f.code == "proxy.auth_required")
    assert warning.severity.value == "warning" and warning.evidence["credentials_in_setting"] is True
    assert "s3cret" not in str(d.findings) and "alice" not in str(d.findings)


@pytest.mark.parametrize("credentials", ["", "alice:s3cret-pw@"])
def test_a_proxy_that_logs_windows_users_in_is_named_with_what_the_client_must_do(root_file: Path,
                                                                                   credentials: str) -> None:
    with serving(RecordingProxy(challenges=("Negotiate", 'NTLM'))) as port:
        d = through(f"http://{credentials}127.0.0.1:{port}", root_file)
    assert (d.verdict.code, d.verdict.confidence) == ("proxy.auth_required", 0.95), d.verdict.summary
    assert "Negotiate, NTLM only" in d.verdict.summary and "logged-in user" in d.verdict.summary
    assert ("go as Basic" in d.verdict.summary) == bool(credentials)
    assert "--proxy-negotiate" in d.verdict.remedy and d.verdict.evidence["schemes"] == ["negotiate", "ntlm"]


def test_a_proxy_without_basic_says_which_scheme_it_takes(root_file: Path) -> None:
    with serving(RecordingProxy(challenges=('Digest realm="corp", nonce="abc", qop="auth"',))) as port:
        d = through(f"http://127.0.0.1:{port}", root_file)
    assert (d.verdict.code, d.verdict.confidence) == ("proxy.auth_required", 0.85), d.verdict.summary
    assert "accepts Digest, not Basic" in d.verdict.summary and "--proxy-anyauth" in d.verdict.remedy


def test_a_basic_proxy_and_no_credentials_is_the_verdict(root_file: Path) -> None:
    with serving(RecordingProxy()) as port:
        d = through(f"http://127.0.0.1:{port}", root_file)
    assert (d.verdict.code, d.verdict.confidence) == ("proxy.auth_required", 0.95)
    assert "wants credentials (Basic) and the client's proxy setting has none" in d.verdict.summary

"""A proxy that never answers (a firewall drops the packets, or the office proxy met from home).

The proxy's port is the lab's silent socket (a listener whose one accept-queue place is taken,
so the kernel drops every further SYN, as in the tcp-silent scenario): the client's connect to the proxy
times out, and the diagnosis says so in words, not as an empty error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tlsdoctor.diagnosis import diagnose
from tlsdoctor.lab.runner import silent_socket


@pytest.mark.parametrize("scheme", ["http", "socks5h"])
def test_a_silent_proxy_is_named_as_not_answering(root_file: Path, scheme: str) -> None:
    listener, filler = silent_socket()
    with listener, filler:
        port = listener.getsockname()[1]
        d = diagnose("https://127.0.0.1:8443/", proxy=f"{scheme}://127.0.0.1:{port}", ca_bundle=root_file,
                     timeout=0.5, env={}, os_store_env={"SSL_CERT_FILE": str(root_file), "SSL_CERT_DIR": ""})
    assert d.verdict.code == "proxy.unreachable", d.verdict.summary
    assert "does not answer" in d.verdict.summary and ": ." not in d.verdict.summary
    assert d.verdict.evidence["error"].endswith("timed out")

"""Test-wide hygiene: no test inherits the machine's trust or proxy settings.

Machines preset SSL_CERT_FILE, REQUESTS_CA_BUNDLE, proxies...; a test that relies on one
sets it itself. The lab fixtures (``tls_lab``, ``tls_scenario``) come from tlsdoctor's own
pytest plugin, which the package registers through its ``pytest11`` entry point.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INHERITED = (
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in INHERITED:
        monkeypatch.delenv(name, raising=False)

"""Test-wide hygiene: no test inherits the machine's trust or proxy settings.

Machines preset SSL_CERT_FILE, REQUESTS_CA_BUNDLE, proxies...; a test that relies on one
sets it itself. The lab fixtures (``tls_lab``, ``tls_scenario``) come from tlsdoctor's own
pytest plugin, which the package registers through its ``pytest11`` entry point.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

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


@pytest.fixture(scope="session", autouse=True)
def _private_trust_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The on-disk trust-store cache of this run, in its own directory: never the user's ~/.cache.

    Set in ``os.environ`` so that the CLI processes tests start use it too.
    """
    previous = os.environ.get("TLSDOCTOR_CACHE_DIR")
    directory = tmp_path_factory.mktemp("trust-cache")
    os.environ["TLSDOCTOR_CACHE_DIR"] = str(directory)
    yield directory
    if previous is None:
        os.environ.pop("TLSDOCTOR_CACHE_DIR", None)
    else:
        os.environ["TLSDOCTOR_CACHE_DIR"] = previous

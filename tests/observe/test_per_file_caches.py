"""The per-process caches of the CA-file lint and of OpenSSL's loaded store: a changed file is read again.

A batch or a long-lived client diagnoses many URLs against one CA file, so its reading
is kept; these tests prove the cache never hides an edit (issue 9 made the caches,
issue 12 says a changed file must be believed).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.pki import CA, pem_bundle, shadow_of
from tlsdoctor.observe.ca_file_lint import lint_ca_file
from tlsdoctor.observe.openssl_verify import openssl_verify

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture(scope="module")
def pki() -> LabAuthorities:
    return LabAuthorities.create("http://127.0.0.1:1")


def _rewrite(path: Path, data: bytes) -> None:
    """Replace the file's content, and make sure its mtime moves even on a coarse clock."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_bytes(data)
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


def test_the_lint_sees_a_shadow_added_to_a_file_it_has_linted(pki: LabAuthorities, tmp_path: Path) -> None:
    path = tmp_path / "ca.pem"
    _rewrite(path, pem_bundle([pki.root.cert]))
    assert lint_ca_file(path, at=NOW).problems == ()
    _rewrite(path, pem_bundle([shadow_of(pki.root), pki.root.cert]))
    (problem,) = lint_ca_file(path, at=NOW).problems
    assert problem.problem == "shadows"


def test_the_lint_judges_expiry_at_each_time_asked_even_from_its_cache(tmp_path: Path) -> None:
    short = CA("Short-lived Root", not_before=NOW - timedelta(days=2), not_after=NOW + timedelta(days=1))
    path = tmp_path / "short.pem"
    _rewrite(path, pem_bundle([short.cert]))
    assert lint_ca_file(path, at=NOW).problems == ()
    (problem,) = lint_ca_file(path, at=NOW + timedelta(days=3)).problems
    assert problem.problem == "expired"


def test_openssl_verification_sees_a_root_removed_from_its_ca_file(pki: LabAuthorities, tmp_path: Path) -> None:
    leaf = pki.root.issue_cert("example.test")
    path = tmp_path / "ca.pem"
    _rewrite(path, pem_bundle([pki.root.cert]))
    assert openssl_verify([leaf.cert], ca_file=path, at=NOW).ok
    other = CA("Another Root")
    _rewrite(path, pem_bundle([other.cert]))
    again = openssl_verify([leaf.cert], ca_file=path, at=NOW)
    assert not again.ok and again.verify_code == 20  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY


def test_openssl_verification_from_a_cached_store_uses_each_call_s_time(pki: LabAuthorities, tmp_path: Path) -> None:
    leaf = pki.root.issue_cert("example.test")
    path = tmp_path / "ca.pem"
    _rewrite(path, pem_bundle([pki.root.cert]))
    assert openssl_verify([leaf.cert], ca_file=path, at=NOW).ok
    late = openssl_verify([leaf.cert], ca_file=path, at=NOW + timedelta(days=5000))
    assert not late.ok and late.verify_code == 10  # X509_V_ERR_CERT_HAS_EXPIRED
    assert openssl_verify([leaf.cert], ca_file=path, at=NOW).ok

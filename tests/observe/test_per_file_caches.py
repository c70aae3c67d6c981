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


def _both_ways(monkeypatch: pytest.MonkeyPatch, chain: list, path: Path, at: datetime) -> tuple[object, object]:
    """OpenSSL's verdict from the parsed-once certificates, and from OpenSSL loading the file itself."""
    import tlsdoctor.observe.openssl_verify as module

    cached = openssl_verify(chain, ca_file=path, at=at)
    with monkeypatch.context() as patch:
        patch.setattr(module, "trusted_certificates", lambda _path: None)
        loaded = openssl_verify(chain, ca_file=path, at=at)
    return cached, loaded


def test_the_parsed_once_ca_file_gives_openssls_own_verdicts(pki: LabAuthorities, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from tlsdoctor.observe.openssl_verify import trusted_certificates

    leaf = pki.intermediate.issue_cert("example.test")
    chain = [leaf.cert, *leaf.chain]
    cases = {
        "healthy": pem_bundle([pki.root.cert]),
        "corrupt": pem_bundle([shadow_of(pki.root), pki.root.cert]),  # the broken twin first: 79
        "other": pem_bundle([CA("Another Root").cert]),
    }
    codes = {}
    for name, data in cases.items():
        path = tmp_path / f"{name}.pem"
        _rewrite(path, data)
        assert trusted_certificates(str(path)) is not None  # plain bundles are the cached kind
        cached, loaded = _both_ways(monkeypatch, chain, path, NOW)
        assert cached == loaded
        codes[name] = cached.verify_code  # type: ignore[attr-defined]
    assert codes == {"healthy": 0, "corrupt": 79, "other": 20}


def test_a_ca_file_with_anything_but_plain_certificates_is_left_to_openssl(pki: LabAuthorities, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding as Enc

    from tlsdoctor.observe.openssl_verify import trusted_certificates

    leaf = pki.intermediate.issue_cert("example.test")
    chain = [leaf.cert, *leaf.chain]
    crl = pki.intermediate.crl().public_bytes(Enc.PEM)
    truncated = pem_bundle([pki.root.cert])[:-40]
    for name, data in {"with-crl": pem_bundle([pki.root.cert]) + crl, "truncated": truncated}.items():
        path = tmp_path / f"{name}.pem"
        _rewrite(path, data)
        assert trusted_certificates(str(path)) is None
        cached, loaded = _both_ways(monkeypatch, chain, path, NOW)
        assert cached == loaded


def test_a_ca_file_is_parsed_once_per_version(pki: LabAuthorities, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import tlsdoctor.observe.openssl_verify as module

    parses = []
    real = module._parse_plain_bundle
    monkeypatch.setattr(module, "_parse_plain_bundle", lambda path: parses.append(path) or real(path))
    path = tmp_path / "ca.pem"
    _rewrite(path, pem_bundle([pki.root.cert]))
    leaf = pki.root.issue_cert("example.test")
    for _ in range(3):
        assert openssl_verify([leaf.cert], ca_file=path, at=NOW).ok
    assert len(parses) == 1
    _rewrite(path, pem_bundle([pki.root.cert, CA("Another Root").cert]))
    assert openssl_verify([leaf.cert], ca_file=path, at=NOW).ok
    assert len(parses) == 2

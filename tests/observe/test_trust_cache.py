"""The on-disk cache of parsed trust stores: used when it is exactly right, ignored on any doubt."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import certifi
import pytest

from tlsdoctor.observe import os_store, trust_cache, trust_sources
from tlsdoctor.observe.trust import load_ca_file, os_trust_store


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("TLSDOCTOR_CACHE_DIR", str(directory))
    trust_sources.clear_cache()
    yield directory
    trust_sources.clear_cache()


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    copy = tmp_path / "bundle.pem"
    shutil.copyfile(certifi.where(), copy)  # large enough to be cached (>= MIN_CERTIFICATES)
    return copy


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts real reads of a CA file from here on."""
    reads: list[str] = []
    real = trust_sources._read_ca_file

    def counting(text: str, name: str, description: str | None):  # type: ignore[no-untyped-def]
        reads.append(text)
        return real(text, name, description)

    monkeypatch.setattr(trust_sources, "_read_ca_file", counting)
    return reads


def test_a_large_bundle_is_read_once_then_comes_from_disk(cache: Path, bundle: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    reads = _parses(monkeypatch)
    first = load_ca_file(bundle)
    assert reads == [str(bundle)] and len(list(cache.glob("trust-*.json"))) == 1
    trust_sources.clear_cache()  # a new process, as far as the in-memory cache knows
    second = load_ca_file(bundle)
    assert reads == [str(bundle)]  # not parsed again
    assert second.certificates == first.certificates and len(first.certificates) >= trust_cache.MIN_CERTIFICATES
    assert (second.description, second.entries_total, second.notes) == (first.description, first.entries_total,
                                                                         first.notes)


def test_changed_content_is_read_again(cache: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = _parses(monkeypatch)
    before = load_ca_file(bundle)
    text = bundle.read_text()
    last = text.rindex("-----BEGIN CERTIFICATE-----")
    bundle.write_text(text[:last])  # one certificate fewer
    trust_sources.clear_cache()
    after = load_ca_file(bundle)
    assert len(reads) == 2 and len(after.certificates) == len(before.certificates) - 1


@pytest.mark.parametrize("spoil", ["world-writable", "corrupt", "other-key", "symlink"])
def test_a_doubtful_cache_file_is_ignored(cache: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch,
                                          spoil: str) -> None:
    reads = _parses(monkeypatch)
    good = load_ca_file(bundle)
    (entry,) = cache.glob("trust-*.json")
    if spoil == "world-writable":
        entry.chmod(0o666)
    elif spoil == "corrupt":
        entry.write_text("{not json")
    elif spoil == "other-key":
        document = json.loads(entry.read_text())
        document["key"] = "0" * 64
        entry.write_text(json.dumps(document))
    else:
        target = entry.with_name("elsewhere.json")
        entry.rename(target)
        entry.symlink_to(target)
    trust_sources.clear_cache()
    again = load_ca_file(bundle)
    assert len(reads) == 2  # parsed again rather than trusted
    assert again.certificates == good.certificates


def test_an_empty_cache_dir_setting_turns_the_cache_off(tmp_path: Path, bundle: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TLSDOCTOR_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    trust_sources.clear_cache()
    load_ca_file(bundle)
    assert not (tmp_path / "xdg").exists() and not (tmp_path / "home").exists()


def test_small_files_are_not_cached(cache: Path, tmp_path: Path) -> None:
    text = Path(certifi.where()).read_text()
    small = tmp_path / "small.pem"
    small.write_text(text[: text.index("-----END CERTIFICATE-----") + 26])
    assert len(load_ca_file(small).certificates) == 1
    assert not cache.exists() or not list(cache.glob("trust-*.json"))


def test_the_os_store_comes_from_disk_the_second_time(cache: Path, bundle: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    certs_dir = tmp_path / "certs"
    certs_dir.mkdir()
    env = {"SSL_CERT_FILE": str(bundle), "SSL_CERT_DIR": str(certs_dir)}
    first = os_trust_store(env)
    trust_sources.clear_cache()
    monkeypatch.setattr(os_store, "_read_os_store", lambda *a: pytest.fail("read again"))
    second = os_trust_store(env)
    assert second.certificates == first.certificates and second.description == first.description
    # A new file in the directory changes its listing: the store is read again.
    (certs_dir / "extra.pem").write_text("")
    trust_sources.clear_cache()
    with pytest.raises(pytest.fail.Exception):
        os_trust_store(env)


def test_the_cache_files_are_private(cache: Path, bundle: Path) -> None:
    load_ca_file(bundle)
    (entry,) = cache.glob("trust-*.json")
    assert entry.stat().st_mode & 0o077 == 0 and cache.stat().st_mode & 0o077 == 0
    assert os.stat(entry).st_uid == os.geteuid()

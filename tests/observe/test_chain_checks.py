"""ChainChecks: one diagnosis's questions about a chain, each answered once, the OS store awaited only where needed."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.pki import CA, pem_bundle
from tlsdoctor.observe import chain_checks
from tlsdoctor.observe.chain_checks import ChainChecks
from tlsdoctor.observe.trust import load_ca_file

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture(scope="module")
def pki() -> LabAuthorities:
    return LabAuthorities.create("http://127.0.0.1:1")


def test_each_question_is_answered_once_and_the_observation_reuses_the_answers(
        pki: LabAuthorities, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    leaf = pki.intermediate.issue_cert("example.test")
    chain = (leaf.cert, *leaf.chain)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(pem_bundle([pki.root.cert]))
    other = tmp_path / "other.pem"
    other.write_bytes(pem_bundle([CA("Another Root").cert]))
    calls: list[object] = []
    real = chain_checks.verify_presented_chain
    monkeypatch.setattr(chain_checks, "verify_presented_chain",
                        lambda *args, **kwargs: calls.append(kwargs.get("host")) or real(*args, **kwargs))

    async def main() -> None:
        os_store: asyncio.Future = asyncio.get_running_loop().create_future()
        checks = ChainChecks(load_ca_file(str(other), name="ca-bundle"), (), os_store, "example.test", NOW)
        assert not checks.client_accepts(chain)  # the client's file lacks the root
        checks.check_offline(chain)
        assert len(calls) == 2  # with the name (asked once already), then without
        os_store.set_result(load_ca_file(str(ca), name="os-store"))
        assert await checks.verifies_somewhere(chain)  # the OS store has the root
        seen = len(calls)
        trust = checks.observation(chain, None, None)
        assert len(calls) == seen  # nothing asked twice
        assert [v.ok for v in trust.chain_only_now] == [False, True]
        assert not trust.client_now[0].ok and trust.openssl_client is not None and not trust.openssl_client.ok

    asyncio.run(main())


def test_the_observation_leaves_out_an_os_store_still_being_read(pki: LabAuthorities, tmp_path: Path) -> None:
    leaf = pki.intermediate.issue_cert("example.test")
    ca = tmp_path / "ca.pem"
    ca.write_bytes(pem_bundle([pki.root.cert]))

    async def main() -> None:
        pending: asyncio.Future = asyncio.get_running_loop().create_future()
        checks = ChainChecks(load_ca_file(str(ca), name="ca-bundle"), (), pending, "example.test", NOW)
        trust = checks.observation((leaf.cert, *leaf.chain), None, None)
        assert [s.name for s in trust.sources] == ["ca-bundle"] and trust.client_now[0].ok
        pending.cancel()

    asyncio.run(main())

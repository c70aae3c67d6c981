"""client/rollout.py split in three (the payload document, the install id, the per-install decision):
every name stays importable from tlsdoctor.client.rollout, and the two small modules stay small."""

from __future__ import annotations

import subprocess
import sys

import tlsdoctor.client.growthbook_payload as payload
import tlsdoctor.client.install_identity as install_identity
import tlsdoctor.client.rollout as rollout


def test_every_public_name_is_still_importable_from_rollout() -> None:
    for name in ("STACKS", "HASH_VERSION", "HASH_ATTRIBUTE", "MAX_PAYLOAD_BYTES", "PayloadError", "rollout_payload",
                 "check_payload"):
        assert getattr(rollout, name) is getattr(payload, name), name
    assert rollout.install_id is install_identity.install_id
    assert rollout.INSTALL_ID_FILE == install_identity.INSTALL_ID_FILE == "install-id"
    assert set(rollout.__all__) <= set(dir(rollout))


def test_the_document_and_the_id_need_neither_the_sdk_nor_an_http_client() -> None:
    # Writing or checking a payload (tlsdoctor rollout, fleet gate) and reading the install id
    # (every client start) must not pay for growthbook or httpx.
    code = ("import sys, tlsdoctor.client.growthbook_payload as p, tlsdoctor.client.install_identity\n"
            "p.check_payload(p.rollout_payload(0.05))\n"
            "print(sorted(m for m in ('growthbook', 'httpx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"

"""Readings several rules share are made once per diagnosis, and never leak into another one."""

from __future__ import annotations

import threading

from tlsdoctor.diagnosis import diagnose
from tlsdoctor.judge.rules.evidence import interceptor
from tlsdoctor.lab import Lab


def _diagnosis(lab: Lab, scenario: str):  # type: ignore[no-untyped-def]
    entry = lab[scenario]
    return diagnose(entry.url, ca_bundle=entry.ca_file, proxy=entry.proxy, env={}, timeout=3.0,
                    os_store_env={"SSL_CERT_FILE": str(entry.ca_file), "SSL_CERT_DIR": ""})


def test_the_interceptor_reading_is_made_once_per_observations_and_belongs_to_them(tls_lab: Lab) -> None:
    intercepted = _diagnosis(tls_lab, "intercepting-proxy").observations
    healthy = _diagnosis(tls_lab, "ok").observations

    first = interceptor(intercepted)
    assert first is not None and first[1]["product_hint"]
    assert interceptor(intercepted) is first  # the same answer, not a second reading
    assert interceptor(healthy) is None
    again = interceptor(intercepted)
    assert again == first  # read again after another diagnosis: the same facts

    # Two threads judging two diagnoses at once each get their own answer.
    wrong: list[str] = []

    def judge_many(obs, expected_none: bool) -> None:  # type: ignore[no-untyped-def]
        for _ in range(2000):
            if (interceptor(obs) is None) != expected_none:
                wrong.append("crossed")
                return

    threads = [threading.Thread(target=judge_many, args=(intercepted, False)),
               threading.Thread(target=judge_many, args=(healthy, True))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not wrong

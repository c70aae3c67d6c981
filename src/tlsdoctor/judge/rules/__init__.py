"""Rules: observations in, findings out. One function per question, none touches the network.

Each rule answers one question a support engineer would ask ("did the name resolve?",
"is this chain someone else's?") from the facts in :class:`Observations`, and says how
sure the evidence makes it. Low-level signals (an alert number, a CONNECT status, a
libcurl code) are named through :mod:`tlsdoctor.classify`, the one table; rules add the
evidence that turns a likely reading into a diagnosis. A rule that lacks the facts it
needs says nothing: a wrong verdict is worse than none.

Rules live in one module per layer, in the order a connection meets them:
:mod:`.route`, :mod:`.tls`, :mod:`.trust`, :mod:`.certificate`, :mod:`.names`,
:mod:`.revocation`, :mod:`.http`. Each registers itself with :func:`~.registry.rule`, naming the codes it may
emit; adding a rule touches its layer's module only.
"""

from __future__ import annotations

from importlib import import_module
from typing import Iterator

from tlsdoctor.classify import Signal, classify
from tlsdoctor.judge.coverage import could_not_check, credentials_withheld, ok_confidence, proofs_of_ok
from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.rules.registry import E, I, RULES, Rule, finding, rule
from tlsdoctor.judge.verdict import choose_verdict, ordered
from tlsdoctor.observe.observations import Observations


LAYERS = ("route", "tls", "trust", "certificate", "names", "revocation", "http", "completeness")
for _layer in LAYERS:
    import_module(f"{__name__}.{_layer}")  # registers the layer's rules, in this order

__all__ = ["LAYERS", "RULES", "Rule", "finding", "judge", "rule", "unexplained_failure"]


def judge(obs: Observations) -> tuple[list[Finding], Finding]:
    """All findings (verdict first) and the verdict."""
    found: list[Finding] = []
    for entry in RULES:
        found.extend(entry.check(obs))
    # "ok" is a claim that needs its evidence (judge/coverage.py; rule `completeness`): an
    # incomplete diagnosis is the verdict only when nothing else, not even the safety net,
    # explains the failure.
    incomplete = [f for f in found if f.code == "diagnosis.incomplete"]
    found = [f for f in found if f.code != "diagnosis.incomplete"]
    if not any(f.severity is E for f in found):
        found.extend(unexplained_failure(obs))
    if not any(f.severity is E for f in found):
        found.extend(incomplete)
    unchecked, proofs = could_not_check(obs), proofs_of_ok(obs)
    ok = finding("ok", I, ok_confidence(proofs, unchecked, bool(obs.cut)),
                 "The request works: TLS and HTTP succeed with this client's trust."
                 + (f" Not checked: {'; '.join(u.what for u in unchecked[:4])}." if unchecked else ""),
                 proven_by=proofs, **_ok_evidence(obs))
    verdict = choose_verdict(found, ok)
    rest = [f for f in ordered(found) if f is not verdict]
    return [verdict, *rest], verdict


def unexplained_failure(obs: Observations) -> Iterator[Finding]:
    """The safety net: something failed and no rule could say why. Never let that read "ok".

    The best reading of libcurl's own error (the one table) becomes the verdict, with a
    confidence that says how little we know.
    """
    if credentials_withheld(obs):
        return  # libcurl's 407 too: it was not given the setting's credentials either
    hs, curl = obs.handshake, obs.curl
    failed_handshake = hs is not None and not hs.ok
    failed_curl = curl is not None and curl.curl_code != 0
    if not (failed_handshake or failed_curl):
        return
    text = " ".join(t for t in (curl.error if curl else None, hs.error if hs else None) if t)
    signal = Signal(curl_code=curl.curl_code if failed_curl else None,  # type: ignore[union-attr]
                    verify_result=curl.verify_result if failed_curl and curl.curl_code == 60 else None,  # type: ignore[union-attr]
                    text=text)
    candidates = classify(signal)
    code = candidates[0].code if candidates else "tls.handshake_alert"
    yield finding(code, E, min(0.35, candidates[0].likelihood if candidates else 0.2),
                  f"The connection fails ({text or 'no error text'}), and no probe could pin down why; this is the "
                  "most likely reading of that error.", "Run `tlsdoctor explain` on the error for the other "
                  "candidates, and collect `curl -v` output from the affected machine.",
                  libcurl_code=curl.curl_code if curl else None, error=text,
                  candidates=[c.code for c in candidates[:4]])


def _ok_evidence(obs: Observations) -> dict[str, object]:
    hs = obs.handshake
    return {"tls_version": hs.version if hs else None, "cipher": hs.cipher if hs else None,
            "alpn": hs.alpn if hs else None,
            "http_status": obs.http.answer.status if obs.http and obs.http.answer else None}

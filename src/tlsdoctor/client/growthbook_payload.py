"""The rollout's GrowthBook payload document: write one, and check one before any install uses it.

The document is GrowthBook's own SDK payload (``{"features": {"http-stack": {...}}}``), so a
GrowthBook server's payload works unchanged and an operator can predict the cohort from
GrowthBook's docs. This module knows its shape only: :func:`rollout_payload` writes the one
percentage-rollout rule (and the kill switch) we publish, :func:`check_payload` refuses what
every install could not evaluate alike. Which stack *this* install gets from a payload is
:mod:`tlsdoctor.client.rollout`'s business (the GrowthBook SDK decides, per install id).
"""

from __future__ import annotations

import math
from typing import Any

#: The values the feature may take: the names of the client's stacks.
STACKS = ("curl", "native")

#: GrowthBook's hash version 2: 10,000 buckets and no bias for short seeds (version 1
#: had 1,000 buckets and correlated neighbouring seeds). Rules without it would be
#: bucketed with version 1 by the SDK (``hashVersion or 1``), reshuffling the cohort.
HASH_VERSION = 2

#: The attribute the rules hash: the random install id.
HASH_ATTRIBUTE = "id"

#: A payload is a few hundred bytes; anything past 1 MiB is not a rollout payload, and
#: reading it whole would let a broken server or a wrong path exhaust memory.
MAX_PAYLOAD_BYTES = 1 << 20


class PayloadError(ValueError):
    """A rollout payload that must not be used; the message says why, for ``last_error``."""


def rollout_payload(
    coverage: float,
    *,
    feature: str = "http-stack",
    kill_switch: bool = False,
    seed: str | None = None,
) -> dict[str, Any]:
    """The GrowthBook payload that puts ``coverage`` (0..1) of installs on ``curl``.

    One GrowthBook *percentage rollout* rule: a ``force`` rule with ``coverage``. The
    SDK includes an install when ``gbhash(seed, id, 2) < coverage``, which is stable per
    id and monotonic in coverage (the 1% cohort stays in at 3%). An experiment-style rule
    (``variations``/``weights``) would bucket the same way but means "A/B test" to the
    SDK and to GrowthBook's UI (tracking callbacks, experiment keys); this is a rollout.

    ``seed`` defaults to the feature name, which is what the SDK uses for a rule without
    one; it is written out so that a payload shows what its cohort depends on. Keep it
    across steps; change it only to draw a fresh cohort.

    ``kill_switch=True`` puts a rule ``{"id": "kill-switch", "force": "native"}`` first.
    GrowthBook applies the first matching rule, and a force rule without coverage matches
    every install, so it overrides everything below it at the next reload. The rollout
    rule stays in place underneath: removing the kill-switch rule restores exactly the
    same cohort, and reports name the rule (``"rule": "kill-switch"``), so a dashboard
    tells "switched off" apart from "not in the cohort".
    """
    if isinstance(coverage, bool) or not isinstance(coverage, (int, float)) or not (
        math.isfinite(coverage) and 0.0 <= coverage <= 1.0
    ):
        raise ValueError(f"coverage must be a number between 0 and 1, not {coverage!r}")
    percent = f"{round(coverage * 100, 4):g}"
    rules: list[dict[str, Any]] = [
        {
            "id": f"rollout-{percent}pct",
            "force": "curl",
            "coverage": float(coverage),
            "hashAttribute": HASH_ATTRIBUTE,
            "hashVersion": HASH_VERSION,
            "seed": seed if seed is not None else feature,
        }
    ]
    if kill_switch:
        rules.insert(0, {"id": "kill-switch", "force": "native"})
    return {"features": {feature: {"defaultValue": "native", "rules": rules}}}


def check_payload(doc: Any, feature: str = "http-stack") -> None:
    """Raise :class:`PayloadError` unless ``doc`` is a payload every install can evaluate.

    The checks do not depend on the install id, so a payload is accepted or refused by
    all installs alike (never by half of them). Refused: a value other than a stack
    name anywhere in the feature (a typo like ``"Curl"`` must not reach the client), a
    rule that hashes anything but ``id`` with hash version 2 (it would silently include
    nobody, or reshuffle the cohort), a coverage outside 0..1. Unknown keys are allowed:
    GrowthBook adds fields over time and the SDK ignores those it does not know.
    """
    if not isinstance(doc, dict):
        raise PayloadError("payload is not a JSON object")
    features = doc.get("features")
    if features is None and "encryptedFeatures" in doc:
        raise PayloadError("encrypted payloads are not supported; publish the plain SDK payload")
    if not isinstance(features, dict):
        raise PayloadError('payload has no "features" object')
    if "savedGroups" in doc and not isinstance(doc["savedGroups"], dict):
        raise PayloadError('"savedGroups" is not an object')
    spec = features.get(feature)
    if spec is None:
        raise PayloadError(f"feature {feature!r} is not in the payload")
    if not isinstance(spec, dict):
        raise PayloadError(f"feature {feature!r} is not an object")
    _check_value(spec.get("defaultValue"), f"{feature}.defaultValue")
    rules = spec.get("rules", [])
    if not isinstance(rules, list):
        raise PayloadError(f"{feature}.rules is not a list")
    for index, rule in enumerate(rules):
        where = f"{feature}.rules[{index}]"
        if isinstance(rule, dict) and rule.get("id"):
            where += f" ({rule['id']})"
        if not isinstance(rule, dict):
            raise PayloadError(f"{where} is not an object")
        if rule.get("force") is not None:
            _check_value(rule["force"], f"{where}.force")
        elif rule.get("variations") is not None:
            variations = rule["variations"]
            if not isinstance(variations, list) or not variations:
                raise PayloadError(f"{where}.variations is not a non-empty list")
            for k, value in enumerate(variations):
                _check_value(value, f"{where}.variations[{k}]")
        else:
            raise PayloadError(f"{where} has neither force nor variations")
        hashes = any(rule.get(key) is not None for key in ("coverage", "range", "variations"))
        if hashes:
            if rule.get("hashAttribute", HASH_ATTRIBUTE) != HASH_ATTRIBUTE:
                raise PayloadError(
                    f"{where} hashes {rule.get('hashAttribute')!r}; installs only have {HASH_ATTRIBUTE!r}"
                )
            if rule.get("hashVersion") != HASH_VERSION:
                raise PayloadError(f"{where} must set hashVersion {HASH_VERSION} (got {rule.get('hashVersion')!r})")
        coverage = rule.get("coverage")
        if coverage is not None and (
            isinstance(coverage, bool) or not isinstance(coverage, (int, float))
            or not (math.isfinite(coverage) and 0.0 <= coverage <= 1.0)
        ):
            raise PayloadError(f"{where}.coverage must be a number between 0 and 1 (got {coverage!r})")


def _check_value(value: Any, where: str) -> None:
    if value not in STACKS or not isinstance(value, str):
        raise PayloadError(f"{where} is {value!r}; expected one of {', '.join(STACKS)}")

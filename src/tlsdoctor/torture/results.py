"""Typed results of a torture run, and their JSON form (``tlsdoctor.torture/1``).

Frozen records, like the diagnosis's observations: the runner fills them, renderers and
tests read them. The JSON schema is in docs/spec/diagnosis-json.md.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from tlsdoctor.torture.catalogue import Attack, BugClass
from tlsdoctor.torture.connection import Close
from tlsdoctor.torture.outcome import Baseline, Outcome, Symptom
from tlsdoctor.torture.sanity import SanityResult
from tlsdoctor.torture.target import Target

SCHEMA = "tlsdoctor.torture/1"


@dataclass(frozen=True)
class RoundRecord:
    """One round: what the attack did, and the sanity request that followed (or ran during)."""

    index: int
    close: Close
    tls_version: str | None
    note: str  # what the attack saw: evidence, never judged
    sanity: SanityResult
    during_hold: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"round": self.index, "close": self.close, "tls_version": self.tls_version, "note": self.note,
                "during_hold": self.during_hold, "sanity": self.sanity.to_dict()}


@dataclass(frozen=True)
class AttackResult:
    attack: Attack
    outcome: Outcome
    symptom: Symptom | None
    bug_class: BugClass | None  # the likely bug, for a degraded or dead server
    cause: str | None
    fix: str | None
    rounds: tuple[RoundRecord, ...] = ()
    grace: tuple[SanityResult, ...] = ()  # requests after the last round, until recovery or the grace ends
    recovered_after: float | None = None
    elapsed: float = 0.0
    reason: str | None = None  # why it was skipped

    @property
    def id(self) -> str:
        return self.attack.id

    @property
    def latencies(self) -> list[float]:
        return [r.sanity.latency for r in self.rounds if r.sanity.answered]

    def to_dict(self) -> dict[str, object]:
        lat = sorted(x * 1000 for x in self.latencies)
        return {
            "id": self.id,
            "outcome": self.outcome.value,
            "symptom": self.symptom.value if self.symptom else None,
            "bug_class": self.bug_class.value if self.bug_class else None,
            "cause": self.cause,
            "fix": self.fix,
            "recovered_after_s": None if self.recovered_after is None else round(self.recovered_after, 3),
            "reason": self.reason,
            "elapsed_s": round(self.elapsed, 3),
            "latencies_ms": {"min": round(lat[0], 2), "median": round(statistics.median(lat), 2),
                             "max": round(lat[-1], 2)} if lat else None,
            "rounds": [r.to_dict() for r in self.rounds],
            "grace": [g.to_dict() for g in self.grace],
        }


@dataclass(frozen=True)
class TortureReport:
    target: Target
    baseline: Baseline
    tls_versions: tuple[str, ...]  # what the server offers, of 1.3 and 1.2
    http2: bool
    results: tuple[AttackResult, ...]
    elapsed: float

    @property
    def failed(self) -> list[AttackResult]:
        return [r for r in self.results if r.outcome.failed]

    @property
    def survived_all(self) -> bool:
        return not self.failed

    @property
    def exit_code(self) -> int:
        """0 when every attack survived or slowed (or did not apply), 1 otherwise."""
        return 1 if self.failed else 0

    def __getitem__(self, attack_id: str) -> AttackResult:
        for result in self.results:
            if result.id == attack_id:
                return result
        raise KeyError(attack_id)

    def to_dict(self) -> dict[str, object]:
        counts = {o.value: sum(r.outcome is o for r in self.results) for o in Outcome}
        return {
            "schema": SCHEMA,
            "target": {"url": self.target.url, "address": self.target.address, "port": self.target.port},
            "baseline": self.baseline.to_dict(),
            "tls_versions": list(self.tls_versions),
            "http2": self.http2,
            "attacks": [r.to_dict() for r in self.results],
            "summary": counts,
            "elapsed_s": round(self.elapsed, 3),
            "exit_code": self.exit_code,
        }

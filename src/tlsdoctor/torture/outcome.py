"""Judging an attack from its sanity requests: outcome, symptom, recovery, likely bug.

Pure functions over :class:`~tlsdoctor.torture.sanity.SanityResult` records: no sockets.
A failed sanity request is named the way a user of the server sees it; the low-level
reading goes through the project's one table (:mod:`tlsdoctor.classify`), and only what
that table does not cover — an HTTP-level answer (curl 52's empty reply, a wrong status or
body) — is read here, because it is what the server *did*, not a connection failure.

Outcomes (documented in docs/torture.md):

- ``survived``: every sanity request answered like the baseline, in time.
- ``slowed``: every one answered, but the median latency exceeded
  ``SLOW_FACTOR`` x the baseline's median (and the baseline plus ``SLOW_FLOOR``).
- ``degraded``: some sanity requests failed, and the server answered again later.
- ``dead``: from some request on, every one failed, through the grace period too.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from enum import Enum
from typing import Sequence

from tlsdoctor.classify import Signal, classify_one
from tlsdoctor.torture.catalogue import BUGS, Attack, BugClass
from tlsdoctor.torture.sanity import SanityResult

SLOW_FACTOR = 5.0
SLOW_FLOOR = 0.05  # seconds: on loopback a 2 ms baseline x 5 is still noise


class Outcome(str, Enum):
    SURVIVED = "survived"
    SLOWED = "slowed"
    DEGRADED = "degraded"
    DEAD = "dead"
    SKIPPED = "skipped"  # not applicable (no HTTP/2, no TLS 1.2) or not run after a death

    @property
    def failed(self) -> bool:
        return self in (Outcome.DEGRADED, Outcome.DEAD)


class Symptom(str, Enum):
    EMPTY_REPLY = "empty reply"  # curl 52: connected, TLS fine, closed without a response
    RESET = "connection reset"  # RST, or closed mid-handshake
    REFUSED = "connection refused"  # nothing listens any more: the process is gone
    TIMEOUT = "timeout"
    HANDSHAKE_FAILURE = "handshake failure"
    WRONG_RESPONSE = "wrong response"  # another status, or another body, than the baseline's
    OTHER = "other error"


# Finding codes from the one table, read as what the user of the server sees.
_SYMPTOM_OF_CODE = {
    "tcp.refused": Symptom.REFUSED,
    "tcp.reset": Symptom.RESET,
    "tls.abrupt_close": Symptom.RESET,
    "tcp.timed_out": Symptom.TIMEOUT,
    "tls.handshake_timeout": Symptom.TIMEOUT,
}

_CURL_EMPTY_REPLY = 52


@dataclass(frozen=True)
class Baseline:
    """What the server answers when nobody abuses it."""

    status: int
    body_sha256: str | None  # None when the body changes from request to request
    latency: float  # median seconds
    http_version: str | None

    @classmethod
    def of(cls, results: Sequence[SanityResult]) -> "Baseline":
        digests = {r.body_sha256 for r in results}
        return cls(
            status=results[0].status or 0,
            body_sha256=results[0].body_sha256 if len(digests) == 1 else None,
            latency=statistics.median(r.latency for r in results),
            http_version=results[0].http_version,
        )

    def to_dict(self) -> dict[str, object]:
        return {"status": self.status, "body_sha256": self.body_sha256,
                "latency_ms": round(self.latency * 1000, 2), "http_version": self.http_version}


def symptom_of(result: SanityResult, baseline: Baseline) -> Symptom | None:
    """None when the request was answered as the baseline was; else what the user saw."""
    if result.curl_code == 0:
        if result.status != baseline.status:
            return Symptom.WRONG_RESPONSE
        if baseline.body_sha256 is not None and result.body_sha256 != baseline.body_sha256:
            return Symptom.WRONG_RESPONSE
        return None
    if result.curl_code == _CURL_EMPTY_REPLY:
        return Symptom.EMPTY_REPLY
    candidate = classify_one(Signal(curl_code=result.curl_code, text=result.error))
    if candidate is None:
        return Symptom.OTHER
    if candidate.code in _SYMPTOM_OF_CODE:
        return _SYMPTOM_OF_CODE[candidate.code]
    if candidate.code.startswith(("tls.", "cert.", "http2.")):
        return Symptom.HANDSHAKE_FAILURE
    return Symptom.OTHER


@dataclass(frozen=True)
class Judgement:
    outcome: Outcome
    symptom: Symptom | None
    failed_requests: int
    recovered_after: float | None  # seconds from the first failure to the next answer
    median_latency: float | None


def judge(baseline: Baseline, results: Sequence[SanityResult]) -> Judgement:
    """The outcome of one attack from its sanity requests in order (grace requests last)."""
    symptoms = [symptom_of(r, baseline) for r in results]
    answered = [r.latency for r, s in zip(results, symptoms) if s is None]
    median = statistics.median(answered) if answered else None
    failures = [s for s in symptoms if s is not None]
    if not failures:
        slow = median is not None and median > max(SLOW_FACTOR * baseline.latency, baseline.latency + SLOW_FLOOR)
        return Judgement(Outcome.SLOWED if slow else Outcome.SURVIVED, None, 0, None, median)
    symptom = Counter(failures).most_common(1)[0][0]
    first = symptoms.index(failures[0])
    if symptoms[-1] is not None:
        return Judgement(Outcome.DEAD, symptom, len(failures), None, median)
    recovery = next(r for r, s in zip(results[first:], symptoms[first:]) if s is None)
    return Judgement(Outcome.DEGRADED, symptom, len(failures), max(0.0, recovery.at - results[first].at), median)


@dataclass(frozen=True)
class LikelyBug:
    bug_class: BugClass
    cause: str
    fix: str


def likely_bug(attack: Attack, symptom: Symptom | None, *, reset_sent: bool, one_blocks: bool | None = None) -> LikelyBug:
    """The attack's own bug class, refined by what was seen (the way a diagnosis reads it).

    ``one_blocks`` (held attacks): whether a single held connection was enough to make a
    sanity request fail. Many stalled handshakes that exhaust a server say "slots"; one
    that blocks everyone says "the handshake runs in the accept loop".
    """
    bug = attack.bug_class
    if attack.bug_class is BugClass.BLOCKING_HANDSHAKE and one_blocks is False:
        bug = BugClass.SLOT_EXHAUSTION
    elif symptom is Symptom.REFUSED and reset_sent:
        bug = BugClass.WRITE_TO_RESET  # the process is gone after an RST: SIGPIPE
    elif symptom is Symptom.EMPTY_REPLY and not attack.held:
        bug = BugClass.UNCLEAN_CLOSE_STATE  # handshakes work, requests die: stale per-thread state
    info = BUGS[bug]
    return LikelyBug(bug, info.cause, info.fix)

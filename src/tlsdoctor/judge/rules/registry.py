"""The rule registry: a rule is a function from observations to findings, and the codes it may emit.

A rule registers itself with the :func:`rule` decorator in the module of its layer
(``route``, ``tls``, ``trust``, ``certificate``, ``revocation``, ``http``): adding one
touches one place. The docs per finding code are generated from :data:`RULES`, so
documentation and detection cannot drift.
"""

from __future__ import annotations

from typing import Callable, Iterable

from tlsdoctor.findings import FINDING_CODES, Severity
from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.verdict import RANK
from tlsdoctor.observe.observations import Observations
from tlsdoctor.records import record

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

Check = Callable[[Observations], Iterable[Finding]]


@record
class Rule:
    """One question a support engineer would ask, the codes its answer may carry, and its check."""

    name: str
    emits: tuple[str, ...]
    question: str
    check: Check
    module: str = ""  # where it lives, for the docs ("tlsdoctor/judge/rules/tls.py")


RULES: list[Rule] = []


def rule(*emits: str) -> Callable[[Check], Check]:
    """Register the decorated check as a rule that may emit ``emits`` (codes of the contract)."""
    for code in emits:
        assert code in FINDING_CODES, code

    def register(fn: Check) -> Check:
        module = fn.__module__.replace(".", "/") + ".py"
        RULES.append(Rule(fn.__name__, emits, (fn.__doc__ or "").strip().splitlines()[0], fn, module))
        return fn

    return register


def finding(code: str, severity: Severity, confidence: float, summary: str, remedy: str = "",
            **evidence: object) -> Finding:
    """A finding; evidence that is None is left out (not observed is not a fact)."""
    return Finding(code, severity, confidence, summary, remedy,
                   {k: v for k, v in evidence.items() if v is not None}, RANK[code])

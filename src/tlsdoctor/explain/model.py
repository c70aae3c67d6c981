"""What ``explain`` returns: the kind of input, ranked causes, the signals read."""

from __future__ import annotations

from dataclasses import dataclass

from tlsdoctor.classify import Signal

MAX_INPUT_CHARS = 1 << 20  # 1 MiB of text is far more than any transcript; more is a wrong file

# What to collect when nothing in the input is recognised (issue 10: say what would help).
COLLECT = (
    "`curl -v https://HOST/` run on the affected machine (the whole output)",
    "`tlsdoctor diagnose https://HOST/` run on that machine",
    "the full error text with the exception type and any status code (0x8009..., Code=-12xx, NET::ERR_...)",
)


@dataclass(frozen=True)
class RankedCandidate:
    """One possible root cause, with the input that points to it and how to confirm it."""

    code: str  # a finding code (docs/spec/findings.md)
    likelihood: float  # 0..1; the candidates of one explanation sum to at most 1
    why: str  # quoted from the (redacted) input: the line or token that matched
    check: str  # what to run or collect to confirm it
    reason: str = ""  # the table's reading of that evidence, in words
    tells_apart: str = ""  # for an ambiguous signal: what separates this cause from its rivals


@dataclass(frozen=True)
class Explanation:
    """What :func:`explain` found: the kind of input, ranked causes and the raw signals."""

    input_kind: str
    candidates: tuple[RankedCandidate, ...]
    signals: tuple[Signal, ...] = ()
    notes: tuple[str, ...] = ()  # said about the input itself ("truncated to 1 MiB", ...)
    host: str | None = None  # the origin the input talks about, when it names one
    ecosystems: tuple[str, ...] = ()  # the recognisers whose vocabulary the input used, best first
    collect: tuple[str, ...] = ()  # when nothing is recognised: what to collect instead

    @property
    def top(self) -> RankedCandidate | None:
        return self.candidates[0] if self.candidates else None

"""``tlsdoctor explain``: rank root causes from text the user already has.

The package: :mod:`~tlsdoctor.explain.core` (the entry point), one recogniser per ecosystem
in :mod:`~tlsdoctor.explain.recognisers` (tables from each ecosystem's error words to shared
signals), :mod:`~tlsdoctor.explain.read` (the linear-time engine that runs them),
:mod:`~tlsdoctor.explain.rank` and :mod:`~tlsdoctor.explain.priors` (the field's order among
the causes of an ambiguous signal), :mod:`~tlsdoctor.explain.checks` (how to confirm each
cause). It never decides a finding code itself: :mod:`tlsdoctor.classify` is the one table.
"""

from __future__ import annotations

from tlsdoctor.explain.checks import CHECKS, check_for
from tlsdoctor.explain.core import explain, sanitise
from tlsdoctor.explain.kinds import SHAPE_KINDS
from tlsdoctor.explain.model import COLLECT, MAX_INPUT_CHARS, Explanation, RankedCandidate
from tlsdoctor.explain.recognisers import RECOGNISERS

# Every value Explanation.input_kind can take: a text's shape, or the ecosystem it speaks.
INPUT_KINDS: tuple[str, ...] = SHAPE_KINDS + tuple(dict.fromkeys(
    r.input_kind for r in RECOGNISERS if r.input_kind and r.input_kind not in SHAPE_KINDS))

__all__ = [
    "CHECKS", "COLLECT", "INPUT_KINDS", "MAX_INPUT_CHARS", "RECOGNISERS", "Explanation",
    "RankedCandidate", "check_for", "explain", "sanitise",
]

"""From what was read to ranked causes: the table's readings, then the field's priors.

1. :func:`signals` turns what the recognisers found into :class:`~tlsdoctor.classify.Signal`
   values: one with the most trusted value of every field (so rows that need a curl code
   *and* a text can match), and one per further value. Spellings of WRAPPER trust ("The SSL
   connection could not be established, see inner exception") count only when nothing
   better was found.
2. :func:`rank` asks :func:`tlsdoctor.classify.classify` — the one table — what each signal
   means, keeps every code's best row, then applies :mod:`tlsdoctor.explain.priors`: the
   field order among the causes of an ambiguous signal, and the context that moves it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator

from tlsdoctor.classify import Row, Signal, classify
from tlsdoctor.explain import priors
from tlsdoctor.explain.checks import check_for
from tlsdoctor.explain.model import RankedCandidate
from tlsdoctor.explain.read import Found, quote
from tlsdoctor.explain.recognisers.base import WRAPPER

MAX_QUOTES = 3
SECONDARY = 0.7  # a further value (a second verify result) counts for less
OUTRANKED = 0.35  # a further value in a less trusted spelling than the first
MAX_FURTHER = 12
GENERIC = 0.25  # rows that read a bare curl code, when the text says more than the code
_FIELDS = {"curl": "curl_code", "verify": "verify_result", "alert": "alert", "errno": "errno",
           "connect_status": "connect_status", "http_status": "http_status", "condition": "condition"}


def signals(found: Found, text_lines: list[str]) -> tuple[tuple[Signal, float], ...]:
    """The primary signal (the best value of each field) and one per further value, each with
    the weight its readings get: a further value spelled as trustworthily as the first counts
    :data:`SECONDARY`, one spelled less trustworthily (words, where the first was a status
    code) :data:`OUTRANKED` — "hex codes always win"."""
    strong = any(trust < WRAPPER for kind in found.values for (trust, _seq, _q) in found.values[kind].values())
    ordered = {
        kind: [v for v in found.ordered(kind) if not (strong and found.trust_of(kind, v) >= WRAPPER)]
        for kind in _FIELDS
    }
    text = "\n".join(text_lines)
    firsts = {name: (ordered[kind] or [None])[0] for kind, name in _FIELDS.items()}
    primary = Signal(text=text, **firsts)  # type: ignore[arg-type]
    result = [(primary, 1.0)] if (text or any(v is not None for v in firsts.values())) else []
    # Further values carry no text: the table's text rows were read with the primary signal,
    # and reading them again per value is what made a log of many codes slow. At most
    # MAX_FURTHER of them, the most trusted first.
    further = []
    for kind, name in _FIELDS.items():
        for value in ordered[kind][1:]:
            trust = found.trust_of(kind, value)
            outranked = trust > found.trust_of(kind, ordered[kind][0])
            further.append((trust, Signal(**{name: value}), OUTRANKED if outranked else SECONDARY))  # type: ignore[arg-type]
    further.sort(key=lambda entry: entry[0])
    result += [(signal, weight) for _trust, signal, weight in further[:MAX_FURTHER]]
    return tuple(result)


@dataclass
class _Score:
    likelihood: float
    specificity: int
    order: int
    rows: list[Row] = field(default_factory=list)
    generic_only: bool = True
    primary: bool = False  # reached by a specific row reading the primary signal
    tells_apart: str = ""


def _is_generic(row: Row) -> bool:
    """A row that reads nothing but a curl code: the weakest evidence there is."""
    return bool(row.curl) and row.specificity == 1


def _evidence(row: Row, found: Found, text_lines: list[str]) -> Iterator[str]:
    """The quotes that made ``row`` match: one per condition it checks."""
    for kind, wanted in (("curl", row.curl), ("verify", row.verify), ("alert", row.alert), ("errno", row.errno),
                         ("condition", row.condition)):
        if wanted:
            value = next((v for v in found.ordered(kind) if v in wanted), None)
            if value is not None:
                yield found.quote(kind, value)
    if row.connect_status is not None:
        value = next((v for v in found.ordered("connect_status") if v in row.connect_status), None)
        if value is not None:
            yield found.quote("connect_status", value)
    if row.text is not None:
        for line in text_lines:
            match = row.text.search(line)
            if match:
                yield quote(line, match.span())
                break


def rank(all_signals: tuple[tuple[Signal, float], ...], found: Found, text_lines: list[str],
         host: tuple[str, str | None] | None, context_text: str) -> tuple[RankedCandidate, ...]:
    """Every code the table supports for these signals, weighted by the field's priors."""
    scored: dict[str, _Score] = {}
    order = 0
    for index, (signal, weight) in enumerate(all_signals):
        for candidate in classify(signal):
            for row in candidate.rows:
                order += 1
                likelihood = row.likelihood * weight
                score = scored.setdefault(candidate.code, _Score(likelihood, row.specificity, order))
                if not any(seen is row for seen in score.rows):
                    score.rows.append(row)
                if (likelihood, row.specificity) > (score.likelihood, score.specificity):
                    score.likelihood, score.specificity = likelihood, row.specificity
                score.generic_only = score.generic_only and _is_generic(row)
                score.primary = score.primary or (index == 0 and not _is_generic(row))
    if not scored:
        return ()
    _apply_priors(scored, found, context_text, text_lines)
    ranked = sorted(scored.items(), key=lambda item: (-item[1].likelihood, -item[1].specificity, item[1].order))
    total = sum(score.likelihood for _code, score in ranked)
    scale = max(1.0, total)
    result = []
    for code, score in ranked:
        rows = sorted(score.rows, key=lambda r: (r.likelihood, r.specificity), reverse=True)
        quotes: list[str] = []
        for row in rows:
            for line in _evidence(row, found, text_lines):
                if line and line not in quotes:
                    quotes.append(line)
        why = " | ".join(quotes[:MAX_QUOTES]) or rows[0].why
        share = math.floor(round(score.likelihood / scale * 1000, 6)) / 1000  # floor: the shares never exceed 1
        result.append(RankedCandidate(code, max(share, 0.001), why, check_for(code, host), rows[0].why,
                                      score.tells_apart))
    return tuple(result)


def _apply_priors(scored: dict[str, _Score], found: Found, context_text: str, text_lines: list[str]) -> None:
    codes = set(scored)
    for ambiguity in priors.AMBIGUITIES:
        if not ambiguity.anchors <= codes:
            continue
        # The primary signal must say it (a weaker second reading does not re-order the first's
        # causes), unless the family is how a bare curl code is read.
        bare = all(score.generic_only for score in scored.values())
        if ambiguity.only_bare and not bare:
            continue
        said = not ambiguity.only_bare and all(scored[code].primary and scored[code].likelihood >= ambiguity.min_likelihood
                   for code in ambiguity.anchors)
        if not (said or (ambiguity.bare_code and bare)):
            continue
        for prior in ambiguity.priors:
            score = scored.get(prior.code)
            if score is None:
                continue
            evidence = score.likelihood if score.likelihood >= priors.SPECIFIC else 0.0
            score.likelihood = max(prior.weight, evidence)
            score.tells_apart = prior.tells_apart
            score.generic_only = False
    lowered = context_text.lower()
    verify_results = set(found.ordered("verify"))
    for context in priors.CONTEXTS:
        if any(phrase in lowered for phrase in context.phrases) or verify_results & context.verify:
            _multiply(scored, context.factors)
    if priors.clock_years_off(text_lines):
        _multiply(scored, priors.CLOCK_FACTORS)
    if any(not score.generic_only for score in scored.values()):
        for score in scored.values():
            if score.generic_only:
                score.likelihood *= GENERIC


def _multiply(scored: dict[str, _Score], factors: dict[str, float] | object) -> None:
    for code, factor in factors.items():  # type: ignore[attr-defined]
        if code in scored:
            scored[code].likelihood *= factor

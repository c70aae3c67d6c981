"""One table from low-level failure signals to finding codes. Nobody else re-classifies.

What a client reports when HTTPS fails is a handful of low-level signals
(:class:`tlsdoctor.signals.Signal`): a libcurl code and its error text, an OpenSSL verify
result (``X509_V_ERR_*``), an OpenSSL reason string ("wrong version number"), a TLS alert,
an errno, the status line a proxy gave to CONNECT, or a condition explain's recognisers read
in another client's words (:data:`tlsdoctor.signals.CONDITIONS`; their text is recognised
there, never here).
:data:`SIGNAL_TABLE` maps combinations of them to finding codes
(``docs/spec/findings.md``), and :func:`classify` returns every matching row, the most
specific first (the way httpx maps httpcore's exceptions). ``diagnose`` uses it to name
what libcurl said, ``explain`` to rank causes from pasted text, the client to label its
failures.

A signal alone rarely proves a root cause (verify result 20 is an untrusted root *or* a
missing intermediate; a handshake_failure alert is a cipher mismatch *or* a policy
refusal), so rows carry a ``likelihood``: how often that reading is right when nothing
else is known. Diagnosis then replaces likelihoods with evidence.
"""

from __future__ import annotations

from dataclasses import field

from tlsdoctor.classify.grammar import LazyPattern, Row, row
from tlsdoctor.classify.table import _signal_table
from tlsdoctor.records import record
from tlsdoctor.signals import CONDITIONS, Signal  # the vocabulary the table reads (importable from here too)

__all__ = ["CONDITIONS", "SIGNAL_TABLE", "Candidate", "LazyPattern", "Row", "Signal", "classify", "classify_one",
           "row"]


@record
class Candidate:
    """One reading of a signal: a finding code, how likely, and which rows said so."""

    code: str
    likelihood: float
    why: str
    rows: tuple[Row, ...] = field(default=(), repr=False)


def classify(signal: Signal) -> list[Candidate]:
    """Every finding code the signal supports, best first; one entry per code.

    Best = most specific matching row (most conditions), then highest likelihood. A code
    matched by several rows keeps its best row's likelihood.
    """
    best: dict[str, tuple[int, float, Row, list[Row]]] = {}
    for row in _signal_table():
        if not row.matches(signal):
            continue
        key = (row.specificity, row.likelihood)
        if row.code not in best or key > best[row.code][:2]:
            rows = best[row.code][3] if row.code in best else []
            best[row.code] = (row.specificity, row.likelihood, row, rows)
        best[row.code][3].append(row)
    ranked = sorted(best.values(), key=lambda entry: (entry[0], entry[1]), reverse=True)
    return [Candidate(row.code, likelihood, row.why, tuple(rows)) for _spec, likelihood, row, rows in ranked]


def classify_one(signal: Signal) -> Candidate | None:
    """The single best reading of a signal, or None when nothing matches."""
    candidates = classify(signal)
    return candidates[0] if candidates else None


def __getattr__(name: str) -> tuple[Row, ...]:
    if name == "SIGNAL_TABLE":  # the one table, as a module attribute (PEP 562)
        return _signal_table()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""docs/explain.md, generated from the recognisers, the priors and the conditions.

``tests/explain/test_docs.py`` regenerates it and compares, so the page lists exactly the
ecosystems and languages the code reads::

    python -m tlsdoctor.explain.docs docs/explain.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from tlsdoctor.signals import CONDITIONS
from tlsdoctor.explain.priors import AMBIGUITIES, CONTEXTS, PROFILE
from tlsdoctor.explain.recognisers import RECOGNISERS

INTRO = """\
# How `tlsdoctor explain` works

`tlsdoctor explain [FILE]` reads an error text a user already has — a `curl -v` transcript, a
traceback, a .NET exception in Chinese, a browser's `NET::ERR_CERT_AUTHORITY_INVALID`, an
error-report event as JSON — and ranks the root causes it points to, each with the evidence
quoted from the text, how to confirm it, what tells it apart from its rivals, the fix, and the
page of the cause (`docs/findings/CODE.md`). With no file on a terminal it asks for a paste
(end it with Ctrl-D); `--json` prints `tlsdoctor.explanation/1` (`docs/spec/diagnosis-json.md`).
It exits 0 when it found a cause, 1 when nothing in the text was recognised (it then says what
to collect: `curl -v URL` and `tlsdoctor diagnose URL` on the affected machine), 2 when the
file cannot be read.

## The pipeline

1. **Clean and bound.** Control characters and terminal escape sequences are removed; input
   is capped at 1 MiB, lines at 2,000 characters; past 128 KiB a log is read as its distinct
   lines, its first and its last ones (a note says so).
2. **Recognise.** One recogniser per ecosystem (`src/tlsdoctor/explain/recognisers/`) is a
   *table* from that ecosystem's own words to shared signals — a curl code, an OpenSSL verify
   result, a TLS alert, an errno, a proxy's CONNECT status, or a *condition* (below). The
   engine (`explain/read.py`) matches phrases as substrings of an NFKC-normalised, lower-cased,
   space-free copy of the text (so `：` equals `:` and `SSL/TLS 安全通道` equals
   `SSL/TLS安全通道`), names as whole tokens (`SEC_E_UNTRUSTED_ROOT`, `0x80090325`,
   `-2146893019`), and the few numbered spellings with bounded regular expressions that run
   only when their literal gate occurs. Every pattern is linear (tests/explain/test_hostile_input.py).
3. **Trust.** Each spelling has a trust: status codes by number or hex first (they are
   language-independent and always win), then names, English phrases, translations, and last
   generic wrappers ("see inner exception"), which count only when nothing better was read.
4. **Classify.** `tlsdoctor/classify/table.py` — the one table, shared with `diagnose` and the
   client — says which finding codes the signals can mean, with a generic likelihood.
5. **Rank.** `explain/priors.py` orders the causes of an ambiguous signal as the field does
   for the client tlsdoctor serves first, and context in the text moves them (below).
6. **Redact on the way out.** Every quoted line and the text the table reads are redacted
   (credentials in URLs — any character, `/` and `@` included — auth headers, cookies, query
   strings) before anything is printed.

## Ecosystems and languages

"""

ADDING = """\
## Adding a recogniser

1. Write `src/tlsdoctor/explain/recognisers/NAME.py` with a `RECOGNISER = Recogniser(...)`
   (`recognisers/base.py`): `phrases` (message text → `Means`), `names` (identifiers and status
   codes → `Means`), `patterns` (a bounded regex with one number group, its literal `gate`,
   and a table), `localised` (language → phrases), `markers` and `input_kind`. Take the words
   from the product's own sources and documentation; write the table yourself.
2. A `Means` names shared signals only. If no signal says what a message means, add a
   *condition* to `CONDITIONS` in `tlsdoctor/signals.py` and its rows to `SIGNAL_TABLE` in
   `tlsdoctor/classify/table.py` —
   never a finding code in a recogniser (a second classifier is a bug).
3. Add it to `RECOGNISERS` in `recognisers/__init__.py`, add corpus cases to
   `tests/explain/corpus/`, and regenerate this page: `python -m tlsdoctor.explain.docs docs/explain.md`.
4. `tests/explain/test_hostile_input.py` checks the new patterns are linear and that explain
   stays linear on the ecosystem's own words.
"""


def render() -> str:
    lines = [INTRO.rstrip(), "",
             "| ecosystem | what it reads | languages | spellings |", "|---|---|---|---|"]
    for r in RECOGNISERS:
        spellings = len(r.phrases) + len(r.names) + len(r.patterns) + sum(len(t) for t in r.localised.values())
        lines.append(f"| **{r.title}** (`{r.ecosystem}`) | {r.covers} | {', '.join(r.languages) or '—'} | "
                     f"{spellings} |")
    languages = sorted({lang for r in RECOGNISERS for lang in r.languages})
    lines += ["", f"Languages read: {', '.join(languages)}.", ""]
    lines += ["## Conditions", "", "What other ecosystems say that no OpenSSL verify result, alert or errno says "
              "exactly (`CONDITIONS` in `tlsdoctor/signals.py`; their rows in `tlsdoctor/classify/table.py` map them to "
              "finding codes):", ""]
    lines += [f"- `{name}`: {meaning}" for name, meaning in CONDITIONS.items()]
    lines += ["", "## Priors: how often each cause is behind an ambiguous signal", "",
              f"For {PROFILE}. Where the table holds specific evidence (a row of likelihood ≥ 0.6, such as an "
              "inspection product named as the issuer), the evidence outranks the prior.", ""]
    for ambiguity in AMBIGUITIES:
        lines += [f"### {ambiguity.name}", "", "| cause | weight | why | what tells it apart |", "|---|---|---|---|"]
        lines += [f"| `{p.code}` | {p.weight:.2f} | {p.why} | {p.tells_apart} |" for p in ambiguity.priors]
        lines.append("")
    lines += ["### Context that moves them", "", "| clue | effect | why |", "|---|---|---|"]
    for context in CONTEXTS:
        effect = ", ".join(f"`{code}` ×{factor:g}" for code, factor in context.factors.items())
        lines.append(f"| {context.name} | {effect} | {context.why} |")
    lines += ["| a date years away from today | `clock.skewed` ×4 | a clock speaks in the text (a log time stamp, "
              "Go's 'current time') |", "", ADDING.rstrip(), ""]
    return "\n".join(lines)


def write(path: Path) -> None:
    path.write_text(render(), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/explain.md"))

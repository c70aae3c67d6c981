"""The engine that runs every recogniser's table over one text, in linear time.

The text is prepared once — redacted lines, an NFKC-normalised, lower-cased copy with
horizontal whitespace removed (for phrases), and the set of its tokens (for names) — and then
each spelling costs a substring search or a set look-up, never a backtracking match. The
few numbered spellings (:class:`~tlsdoctor.explain.recognisers.base.Pattern`) run only when
their literal gate occurs, and are written so that each start position costs bounded work.

What comes out is :class:`Found`: every signal value with the trust of its spelling and the
(redacted) line it came from, and which ecosystems spoke.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from tlsdoctor.explain.recognisers.base import NAME, PHRASE, Means, Recogniser
from tlsdoctor.redact import redact_text as redact

QUOTE_CAP = 200  # one quoted line
MAX_MATCHES = 200  # per pattern: beyond that, a text only repeats itself

_HSPACE = re.compile(r"[^\S\n]+")
# Typographic quotes as plain ones: Safari and Windows write "can’t", wget writes ‘host’.
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})
# Identifiers, with C++/Chrome "::" joins and a leading minus for signed status codes.
_TOKEN = re.compile(r"-?[A-Za-z0-9_]+(?:::[A-Za-z0-9_]+)*")


def squeeze(text: str) -> str:
    """The form phrases are compared in: NFKC, lower case, no spaces or tabs (newlines kept)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _HSPACE.sub("", text.translate(_QUOTES))


@dataclass
class Found:
    """Signal values found so far, each with its spelling's trust and the quote it came from."""

    values: dict[str, dict[object, tuple[int, int, str]]] = field(default_factory=dict)
    ecosystems: dict[str, int] = field(default_factory=dict)  # ecosystem → best trust it matched with
    sequence: int = 0

    def add(self, kind: str, value: object, quote: str, trust: int = 5, ecosystem: str | None = None) -> None:
        """Record ``value`` for signal field ``kind``; lower trust = more trustworthy spelling."""
        self.sequence += 1
        seen = self.values.setdefault(kind, {})
        if value not in seen or trust < seen[value][0]:
            seen[value] = (trust, self.sequence, quote)
        if ecosystem is not None:
            self.ecosystems[ecosystem] = min(trust, self.ecosystems.get(ecosystem, trust))

    def add_means(self, meaning: Means, quote: str, trust: int, ecosystem: str | None = None) -> None:
        trust = meaning.trust if meaning.trust is not None else trust
        for kind, value in meaning.items():
            self.add(kind, value, quote, trust, ecosystem)

    def ordered(self, kind: str) -> list[object]:
        """The values found for ``kind``, the most trustworthy (then the first seen) first."""
        seen = self.values.get(kind, {})
        return sorted(seen, key=lambda value: seen[value][:2])

    def trust_of(self, kind: str, value: object) -> int:
        return self.values.get(kind, {}).get(value, (99, 0, ""))[0]

    def wants(self, kind: str, value: object, trust: int) -> bool:
        """Whether ``value`` is new, or now seen in a more trustworthy spelling (quotes cost)."""
        seen = self.values.get(kind, {})
        return value not in seen or trust < seen[value][0]

    def quote(self, kind: str, value: object) -> str:
        return self.values.get(kind, {}).get(value, (0, 0, ""))[2]

    def __bool__(self) -> bool:
        return any(self.values.values())


def quote(line: str, span: tuple[int, int] | None = None) -> str:
    """One line as a quote: stripped, and cut around the match when it is long."""
    line = line.strip()
    if len(line) <= QUOTE_CAP:
        return line
    if span is None:
        return line[:QUOTE_CAP - 1] + "…"
    start = max(0, min(span[0] - 60, len(line) - QUOTE_CAP))
    cut = line[start:start + QUOTE_CAP]
    return ("…" if start else "") + cut + ("…" if start + QUOTE_CAP < len(line) else "")


def quote_line(line: str, needle: str = "") -> str:
    """``line`` redacted, as a quote cut around ``needle`` when it is long.

    The whole line is redacted before it is cut, so that a cut can never split a secret
    into pieces the redactor no longer recognises.
    """
    redacted = redact(line)
    position = redacted.find(needle) if needle else -1
    return quote(redacted, (position, position + len(needle)) if position >= 0 else None)


def quote_at(text: str, start: int, end: int) -> str:
    """The (redacted) line around ``text[start:end]`` as a quote (lines are at most LINE_CAP long)."""
    newline = text.rfind("\n", 0, start)
    low = newline + 1
    newline = text.find("\n", end)
    high = newline if newline >= 0 else len(text)
    return quote_line(text[low:high], text[start:end])


def matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """At most :data:`MAX_MATCHES` matches of ``pattern``."""
    for count, match in enumerate(pattern.finditer(text)):
        if count >= MAX_MATCHES:
            return
        yield match


@dataclass(frozen=True)
class _Index:
    """Every recogniser's spellings, merged once for the whole process."""

    phrases: dict[str, list[tuple[str, Means, int]]]  # squeezed phrase → (ecosystem, meaning, trust)
    containing: dict[str, tuple[str, ...]]  # phrase → the longer phrases that contain it
    names: dict[str, list[tuple[str, Means]]]
    recognisers: tuple[Recogniser, ...]


def build_index(recognisers: Iterable[Recogniser]) -> _Index:
    from tlsdoctor.explain.recognisers.base import LOCALISED

    phrases: dict[str, list[tuple[str, Means, int]]] = {}
    names: dict[str, list[tuple[str, Means]]] = {}
    recognisers = tuple(recognisers)
    for recogniser in recognisers:
        tables = [(recogniser.phrases, PHRASE)] + [(table, LOCALISED) for table in recogniser.localised.values()]
        for table, trust in tables:
            for phrase, meaning in table.items():
                key = squeeze(phrase)
                if not key:
                    raise ValueError(f"{recogniser.ecosystem}: an empty phrase")
                phrases.setdefault(key, []).append((recogniser.ecosystem, meaning, trust))
        for name, meaning in recogniser.names.items():
            key = name.lower() if name[:2].lower() == "0x" else name
            names.setdefault(key, []).append((recogniser.ecosystem, meaning))
    containing = {p: tuple(q for q in phrases if p != q and p in q) for p in phrases}
    return _Index(phrases, containing, names, recognisers)


def read_text(text: str, index: _Index, found: Found) -> None:
    """Every spelling of every recogniser found in ``text`` → ``found`` (quotes redacted)."""
    lines = text.split("\n")
    squeezed = squeeze(text)
    squeezed_lines: list[int] | None = None

    def line_of(position: int) -> str:
        nonlocal squeezed_lines
        if squeezed_lines is None:  # offsets of the line starts in the squeezed text, on first use
            squeezed_lines = [0] + [m.end() for m in re.finditer("\n", squeezed)]
        low, high = 0, len(squeezed_lines) - 1
        while low < high:  # the last line start at or before position
            middle = (low + high + 1) // 2
            if squeezed_lines[middle] <= position:
                low = middle
            else:
                high = middle - 1
        return lines[low] if low < len(lines) else ""

    for phrase, readers in index.phrases.items():
        position = squeezed.find(phrase)
        if position < 0:
            continue
        longer = [q for q in index.containing[phrase] if q in squeezed]
        if longer and squeezed.count(phrase) <= sum(squeezed.count(q) * q.count(phrase) for q in longer):
            continue  # only ever part of a longer phrase ("self-signed certificate in certificate chain")
        line = quote_line(line_of(position))
        for ecosystem, meaning, trust in readers:
            found.add_means(meaning, line, trust, ecosystem)

    tokens = set(_TOKEN.findall(text))
    tokens |= {token.lower() for token in tokens if token[:2] in ("0x", "0X")}
    for token in tokens & index.names.keys():
        position = text.find(token) if not token.startswith("0x") else text.lower().find(token)
        line = quote_at(text, position, position + len(token)) if position >= 0 else token
        for ecosystem, meaning in index.names[token]:
            found.add_means(meaning, line, NAME, ecosystem)

    lowered: str | None = None
    for recogniser in index.recognisers:
        for pattern in recogniser.patterns:
            if pattern.gate:
                lowered = text.lower() if lowered is None else lowered
                if pattern.gate not in lowered:
                    continue
            for match in matches(pattern.regex, text):
                meaning = pattern.meaning(match)
                if meaning is None:
                    continue
                trust = meaning.trust if meaning.trust is not None else pattern.trust
                if any(found.wants(kind, value, trust) for kind, value in meaning.items()):
                    found.add_means(meaning, quote_at(text, *match.span()), pattern.trust, recogniser.ecosystem)

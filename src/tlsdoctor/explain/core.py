"""``explain()``: read the text, recognise every ecosystem's words, rank what they mean.

A failed HTTPS request usually reaches support as text, not as a reproducible URL: a
``curl -v`` transcript, a Python traceback, a .NET exception in Chinese, a Chrome
interstitial's ``NET::ERR_CERT_AUTHORITY_INVALID``, a Sentry event. That text carries the
same low-level signals a live diagnosis gets from libcurl, in a hundred spellings. The
recognisers (one per ecosystem, :mod:`tlsdoctor.explain.recognisers`) translate spellings to
shared signals; :mod:`tlsdoctor.classify` (the one table) says what the signals mean;
:mod:`tlsdoctor.explain.priors` orders the causes of an ambiguous signal as the field does.

Everything quoted back is redacted first, and control characters (terminal escapes) are
removed before anything reads the text, so no explanation can carry a credential or move
the user's cursor. Input is capped at 1 MiB, every pattern is linear, and no input makes
:func:`explain` raise.
"""

from __future__ import annotations

import re

from tlsdoctor.explain.hosts import find_host
from tlsdoctor.explain.json_events import parse_json_object, walk_json
from tlsdoctor.explain.kinds import (
    LINE_CAP, VERBOSE_CONNECT, VERBOSE_STATUS, message_lines, select_lines, shape_of,
)
from tlsdoctor.explain.model import COLLECT, MAX_INPUT_CHARS, Explanation
from tlsdoctor.explain.rank import rank, signals
from tlsdoctor.explain.read import Found, build_index, quote_line, read_text
from tlsdoctor.explain.recognisers import RECOGNISERS
from tlsdoctor.redact import bounded, printable
from tlsdoctor.redact import redact_text as redact

INDEX = build_index(RECOGNISERS)
_BLANKS = re.compile(r"[ \t]{2,}")
_KIND_OF = {r.ecosystem: r.input_kind for r in RECOGNISERS if r.input_kind}

def sanitise(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (newlines and tabs kept):
    a pasted log must not be able to move the cursor, retitle the window or hide text."""
    return printable(text.replace("\r\n", "\n").replace("\r", "\n"))


def explain(text: str | bytes) -> Explanation:
    """Rank candidate root causes for a failure described by ``text``. Never raises.

    ``text`` is whatever the user has: ``curl -v`` output, a ``curl: (N)`` line, a
    traceback, an exception in any of the languages Windows ships, a browser's error code,
    a JSON event (or JSON Lines: the first object is read).
    """
    try:
        return _explain(text)
    except Exception as error:  # noqa: BLE001 - user input must never crash the command
        return Explanation("text", (), (), (f"internal error while reading the input: {type(error).__name__}",),
                           collect=COLLECT)


def _explain(text: str | bytes) -> Explanation:
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    text = str(text)
    notes: list[str] = []
    if len(text) > MAX_INPUT_CHARS:
        notes.append(f"input truncated to its first {MAX_INPUT_CHARS} characters (of {len(text)})")
        text = bounded(text, MAX_INPUT_CHARS)
    text = sanitise(text)
    text, cut = select_lines(text)
    if cut:
        notes.append(cut)

    found = Found()
    document = parse_json_object(text)
    if document is not None:
        shape = "json-event"
        all_lines: list[str] = []
        walk_json(document, found, all_lines)  # message strings only, redacted
        all_lines = [bounded(line, LINE_CAP) for line in all_lines]
    else:
        # Not redacted as a whole: what leaves this function is (quotes, message lines), and
        # each of those is redacted on its way out (read.quote_line, below).
        all_lines = [bounded(line, LINE_CAP) for line in text.split("\n")]
        shape = shape_of("\n".join(all_lines))
        if shape == "curl-verbose":
            _read_verbose_exchange(all_lines, found)
    whole = "\n".join(all_lines)
    read_text(whole, INDEX, found)

    inner = shape_of(whole) if shape == "json-event" else shape
    if inner == "text":
        inner = _ecosystem_kind(found) or inner
    kind = shape if shape == "json-event" else inner
    lines_kind = inner
    # The table's ~100 case-insensitive patterns cost per character they see: runs of blanks
    # become one space (the words are the same) and the message lines are at most 8 KiB.
    text_lines = [redact(_BLANKS.sub(" ", line)) for line in message_lines(all_lines, lines_kind)]

    host = find_host(whole)
    weighted = signals(found, text_lines)
    candidates = rank(weighted, found, text_lines, host, "\n" + whole)
    all_signals = tuple(signal for signal, _weight in weighted)
    ecosystems = tuple(sorted(found.ecosystems, key=lambda name: found.ecosystems[name]))
    collect = () if candidates else tuple(
        line.replace("HOST", host[0]) if host else line.replace("https://HOST/", "URL") for line in COLLECT)
    return Explanation(kind, candidates, all_signals, tuple(notes), host[0] if host else None, ecosystems, collect)


def _ecosystem_kind(found: Found) -> str | None:
    """The input kind of the ecosystem whose words were read with the most trust."""
    for ecosystem in sorted(found.ecosystems, key=lambda name: found.ecosystems[name]):
        if ecosystem in _KIND_OF:
            return _KIND_OF[ecosystem]
    return None


def _read_verbose_exchange(lines: list[str], found: Found) -> None:
    """curl -v: the status after ``> CONNECT`` is the proxy's; later ones are the origin's."""
    after_connect = False
    for line in lines:
        line = line[:4000]
        if VERBOSE_CONNECT.match(line):
            after_connect = True
            continue
        status = VERBOSE_STATUS.match(line)
        if status is None:
            continue
        code = int(status[1])
        if after_connect:
            found.add("connect_status", code, quote_line(line), 0, "curl")
            after_connect = code < 200  # an interim 1xx answer: the real one follows
        else:
            found.add("http_status", code, quote_line(line), 0, "curl")

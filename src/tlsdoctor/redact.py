"""Redaction in one place: what tlsdoctor removes before text is printed, stored or sent.

People paste ``curl -v`` transcripts with ``Authorization`` headers into tickets, type URLs with
passwords into ``--batch`` files, and hostile servers answer with status lines made of escape
sequences. Every part of tlsdoctor that shows, logs or reports such text (``explain``, batch
output, the client's ``report/1`` events, logs) goes through this module, so there is one
definition of "secret" to review and to test:

- :func:`redact_url` — one URL: userinfo (any characters, ``/``, ``@`` and ``:`` included),
  query and fragment go; the path is kept, cut to the origin, or replaced by ``/`` according to a
  ``path_policy`` (``"root"`` is what a request to a server whose certificate did not verify may
  carry: nothing that the user typed after the host).
- :func:`redact_text` — free text: every URL in it as above, secret headers (``Authorization``,
  ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie``, ``X-Api-Key`` and kin) to the end of their
  line, ``Bearer``/``Basic``/... credentials, ``password=``/``token:``-style pairs, query strings
  outside URLs, and the user name in curl's "auth using ... with user '...'".
- :func:`redact_input` — a URL or proxy as the user typed it, for an error message that quotes
  it: parsed or not (a space, a bad port, no scheme), nothing between the scheme and the last
  ``@`` before the query survives, nor the query and fragment.
- :func:`redact_headers` — a header mapping with secret values replaced.
- :func:`printable` — text safe for a terminal: control characters, ANSI/OSC escape sequences and
  bidirectional overrides removed.
- :func:`bounded` — text cut to a size before anything else looks at it.

Every pattern here is linear in its input: URLs are parsed by hand (``str.find`` and slicing,
never a regex that guesses where a password ends), the remaining regular expressions have no
nested or adjacent overlapping quantifiers, and each of them is guarded by a hypothesis test with
adversarial inputs and a timing-ratio test (100 KB vs 10 KB) in ``tests/test_redact.py``. A
hostile server's 16 KB error text costs well under a millisecond per kilobyte.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal

REDACTED = "[redacted]"

PathPolicy = Literal["keep", "origin", "root"]
PATH_POLICIES: tuple[str, ...] = ("keep", "origin", "root")

# Header names whose values are credentials or session state, wherever they are printed.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "apikey",
     "x-auth-token", "x-access-token", "x-csrf-token", "x-xsrf-token", "x-amz-security-token",
     "x-goog-api-key", "x-session-id", "x-refresh-token"}
)
# ``X-Something-Token``-style names: an ``X-`` header naming one of these words is secret too.
_SECRET_HEADER_WORDS = ("token", "key", "secret", "auth", "session", "password", "signature", "credential")

# A URL scheme is short (RFC 3986 §3.1 allows any length; real ones are under 32 characters).
_SCHEME_MAX = 32
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
# Characters after a URL that belong to the surrounding prose or markup, not to the URL: kept
# outside a replaced segment. "]" is not among them, since it closes our own marker.
_TRAILING_PUNCTUATION = "'\")>,.;:!}"


# -- bounding and printing -----------------------------------------------------------------------


def bounded(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars`` characters, at whitespace when there is some.

    Cutting a token in half (``https://user:pa``) could hide it from the patterns that follow, so
    the cut drops the whole token it would split; text without any whitespace is cut hard.
    """
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    cut = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
    if cut > 0:
        return head[:cut]
    # One token longer than the limit: never keep the start of a URL whose end is cut off
    # (``https://user:pa`` cut before its ``@`` no longer looks like credentials).
    scheme = head.rfind("://")
    if scheme < 0:
        return head
    start = scheme
    while start > 0 and head[start - 1].isalpha():
        start -= 1
    return head[:start]


# CSI (ESC [ params intermediates final), OSC (ESC ] ... BEL or ESC \), and two-character escapes.
# The three classes of a CSI are disjoint byte ranges, so no character can be matched two ways.
# Only 7-bit (ESC-introduced) strings are parsed: a stray C1 byte in mis-decoded text must not
# swallow the rest of it; the C1 controls themselves are then removed one by one.
_CSI = r"\x1b\[[0-?]*[ -/]*[@-~]?"
_OSC = r"\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"
_ESCAPE = re.compile(f"{_CSI}|{_OSC}|\\x1b[ -~]?")
# Remaining C0/C1 controls, DEL, and the Unicode bidirectional controls ("Trojan Source",
# CVE-2021-42574) that reorder what a terminal shows.
_CONTROL_CODEPOINTS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x061C, 0x200E, 0x200F,
                       *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_STRIP_ALL = {cp: None for cp in _CONTROL_CODEPOINTS}
_STRIP_KEEP_LINES = {cp: None for cp in _CONTROL_CODEPOINTS if cp not in (0x09, 0x0A)}


def printable(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` without terminal escape sequences, control characters or bidi overrides.

    Tabs and newlines stay when ``keep_newlines`` (multi-line output); otherwise each becomes a
    space, for a value printed in one table cell or one log line. A carriage return always goes:
    it lets text overwrite what was printed before it on the line.
    """
    if not text:
        return ""
    text = _ESCAPE.sub("", str(text))
    if keep_newlines:
        return text.translate(_STRIP_KEEP_LINES)
    return text.replace("\n", " ").replace("\t", " ").translate(_STRIP_ALL)


# -- URLs ------------------------------------------------------------------------------------------


def _is_port(text: str) -> bool:
    return 0 < len(text) <= 5 and text.isdigit()


def _userinfo_end(rest: str, *, strict: bool = False) -> int:
    """Where the userinfo of ``rest`` (a URL after ``scheme://``) ends: the index of its ``@``, or -1.

    RFC 3986 ends the authority at the first ``/``, ``?`` or ``#``, but people write passwords
    with those unescaped (``https://bob:pa/ss@host``), and a browser or curl then reads the user
    name as the host. So: an ``@`` before the first delimiter is userinfo; a ``user:secret``
    shape before the first delimiter (a colon not followed by a port) means the password holds a
    delimiter and the userinfo runs to the *last* ``@``. Where the two readings differ, this
    one removes more — the safe way to be wrong. ``strict`` (text that leaves the machine) ends
    the userinfo at the last ``@`` whatever precedes it: a user name can hold a ``/`` too.
    """
    last_at = rest.rfind("@")
    if last_at < 0 or strict:
        return last_at
    first_delimiter = len(rest)
    for delimiter in "/?#":
        index = rest.find(delimiter, 0, first_delimiter)
        if index >= 0:
            first_delimiter = index
    head = rest[:first_delimiter]
    head_at = head.rfind("@")
    if head_at >= 0 and ":" in head[:head_at]:
        return last_at  # user:password@, the password possibly holding "/", "?", "#" or "@"
    host_part = head[head_at + 1:]
    colon = host_part.find(":")
    if colon >= 0 and not host_part.startswith("[") and not _is_port(host_part[colon + 1:]):
        # "user:pa/ss@host" (or "a@corp:pa/ss@host"): what follows the colon is no port, so it is
        # a password that runs on past the delimiter. Only a password of at most five digits
        # before its first delimiter reads as a port: then the URL is read as RFC 3986 reads it.
        return last_at
    return head_at


def _split_trailing(segment: str) -> tuple[str, str]:
    stripped = segment.rstrip(_TRAILING_PUNCTUATION)
    return stripped, segment[len(stripped):]


def _redact_after_scheme(scheme: str, rest: str, path_policy: str) -> str:
    """``scheme://`` + ``rest`` redacted; ``rest`` holds no whitespace."""
    at = _userinfo_end(rest, strict=path_policy == "origin")
    userinfo, hostpart = (rest[:at], rest[at + 1:]) if at >= 0 else ("", rest)
    end = len(hostpart)
    for delimiter in "/?#":
        index = hostpart.find(delimiter, 0, end)
        if index >= 0:
            end = index
    host, tail = hostpart[:end], hostpart[end:]
    if path_policy == "keep" or not tail:
        host, closing = (host, "") if tail else _split_trailing(host)
    else:
        tail, closing = _split_trailing(tail)
    if path_policy == "origin":
        # Everything after the origin may be personal (paths name accounts and reset tokens).
        return f"{scheme}://{host}/{REDACTED}{closing}" if tail else f"{scheme}://{host}{closing}"
    prefix = f"{scheme}://{REDACTED}@{host}" if userinfo and path_policy == "keep" else f"{scheme}://{host}"
    if path_policy == "root":
        return f"{prefix}/{closing}" if tail else f"{prefix}{closing}"
    return prefix + _redact_path_query_fragment(tail) + closing


def _redact_path_query_fragment(tail: str) -> str:
    """``/path?query#fragment`` with query and fragment replaced (a path is kept)."""
    query = tail.find("?")
    fragment = tail.find("#")
    if query >= 0 and (fragment < 0 or query < fragment):
        path, rest = tail[:query], tail[query:]
    elif fragment >= 0:
        path, rest = tail[:fragment], tail[fragment:]
    else:
        return tail
    # The query and fragment may be followed by prose punctuation: keep that outside the marker.
    body, closing = _split_trailing(rest)
    if not body[1:]:
        return path + rest
    out = path + body[0] + REDACTED
    if body[0] == "?":
        hash_at = body.find("#")
        if hash_at >= 0 and body[hash_at + 1:]:
            out += "#" + REDACTED
    return out + closing


def redact_url(url: str, *, path_policy: PathPolicy = "keep") -> str:
    """One URL with its secrets removed.

    - ``"keep"``: ``https://[redacted]@host:8443/path?[redacted]#[redacted]`` — the path is kept
      (it is what a user needs to recognise a request in ``explain`` output or a batch table).
    - ``"origin"``: ``https://host:8443/[redacted]`` — for reports that leave the machine; the
      userinfo ends at the last ``@`` of the URL (a path holding ``@`` then loses its host too).
    - ``"root"``: ``https://host:8443/`` — what may be sent to a server whose certificate did
      not verify: the path can carry tokens (``/reset/SECRET``) and must not reach it.

    Text that is not ``scheme://...`` is returned as :func:`redact_text` would leave it.
    """
    if path_policy not in PATH_POLICIES:
        raise ValueError(f"path_policy must be one of {', '.join(PATH_POLICIES)}, not {path_policy!r}")
    return _redact_urls(str(url), path_policy)


def _redact_urls(text: str, path_policy: str) -> str:
    """Every ``scheme://`` token of ``text`` redacted. One left-to-right pass: each ``://`` is
    found with ``str.find``, its scheme read backwards (at most 32 characters) and the token read
    forwards to the next whitespace, after which the search resumes — linear in ``len(text)``."""
    out: list[str] = []
    done = 0  # text[:done] is already in out
    search = 0
    length = len(text)
    token_end = -1  # where the current whitespace-delimited token ends (a nested URL shares it)
    while True:
        sep = text.find("://", search)
        if sep < 0:
            break
        start = sep
        floor = max(done, sep - _SCHEME_MAX)
        while start > floor and text[start - 1] in _SCHEME_CHARS:
            start -= 1
        # A scheme starts with a letter; skip leading digits/punctuation of the run.
        while start < sep and not text[start].isalpha():
            start += 1
        if start == sep:  # "://" without a scheme: not a URL
            search = sep + 3
            continue
        if sep + 3 > token_end:  # a new whitespace-delimited token: find its end once
            token_end = sep + 3
            while token_end < length and not text[token_end].isspace():
                token_end += 1
        end = token_end
        if path_policy == "keep":
            end = _before_nested_url(text, sep + 3, end)
        out.append(text[done:start])
        out.append(_redact_after_scheme(text[start:sep], text[sep + 3:end], path_policy))
        done = search = end
    out.append(text[done:])
    return "".join(out)


def _before_nested_url(text: str, begin: int, end: int) -> int:
    """Where a URL token ``text[begin:end]`` (after its ``://``) ends if another URL starts in its path.

    ``https://archive.example/web/https://user:pw@host/`` keeps its path, so the URL inside
    would be kept whole, credentials and all: the outer token ends where the inner URL's
    scheme starts, and the scan redacts that one in turn. A ``://`` in the query or
    fragment stays inside the token: the query is redacted whole, and splitting there
    would put part of it back in the text.
    """
    inner = text.find("://", begin, end)
    if inner < 0:
        return end
    if text.find("/", begin, inner) < 0:
        # No path has started: the "://" is inside the outer URL's authority, a password such as
        # "abc://x" in "user:abc://x@host". (Checked up to ``inner`` only: linear, as the scan is.)
        return end
    for delimiter in "?#":
        index = text.find(delimiter, begin, inner)
        if index >= 0:
            return end
    start = inner
    while start > begin and text[start - 1] in _SCHEME_CHARS:
        start -= 1
    while start < inner and not text[start].isalpha():
        start += 1
    return start if start < inner else end


# -- free text -------------------------------------------------------------------------------------

# A header line, possibly behind curl's verbose markers ("> ", "< ", "* ") or a list bullet. The
# name is a bounded run of token characters; which names are secret is decided in Python.
_HEADER_LINE = re.compile(r"^([ \t*<>-]{0,8})([A-Za-z0-9_-]{1,64})([ \t]{0,8}:)([^\r\n]*)", re.MULTILINE)
# The strongest secret headers are redacted wherever they appear on a line (an error message
# that quotes a request: "sent Proxy-Authorization: Basic ..."), not only at its start.
_HEADER_ANYWHERE = re.compile(r"\b((?:Proxy-)?Authorization|Set-Cookie|Cookie)([ \t]*:)[^\r\n]*", re.IGNORECASE)
# Authentication schemes followed by their credentials. ``Bearer`` tokens go however short;
# the other schemes need a credential-looking word, so that prose ("Basic constraints", "Token
# expired") reads as it was written.
_BEARER = re.compile(r"\b(Bearer)[ \t]+[^\s\[][^\s]*", re.IGNORECASE)
_AUTH_SCHEME = re.compile(
    r"\b(Basic|Negotiate|NTLM|Token)[ \t]+(?!constraints\b|expired\b)[A-Za-z0-9._~+/=-]{6}[^\s]*", re.IGNORECASE
)
# Digest credentials are a list of parameters (username, nonce, response...): the rest of the line.
_DIGEST = re.compile(r"\b(Digest)[ \t]+(?:username|realm|nonce|uri|response)=[^\r\n]*", re.IGNORECASE)
# A query string outside a URL, as in curl's "> GET /reset?token=... HTTP/1.1".
_QUERY = re.compile(r"(?<=[\w/.~%-])\?(?!\[redacted\])[^\s'\"<>`]+")
# key=value and "key": "value" secrets. The key may be the tail of a longer identifier
# (``access_token``, ``db_password``), so no word boundary before it; the value ends at
# whitespace or a delimiter, or at its closing quote.
_SECRET_PAIR = re.compile(
    r"(password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|session[_-]?id|sessionid|"
    r"signature|sig|auth|credentials?|authorization|cookie|private[_-]?key)"
    r"(['\"]?[ \t]*[:=][ \t]*)('[^'\r\n]*'?|\"[^\"\r\n]*\"?|[^\s'\"&,;}]+)",
    re.IGNORECASE,
)
_CURL_AUTH_USER = re.compile(r"\b(auth using \w{1,32} with user[ \t]+)'[^'\r\n]*'", re.IGNORECASE)


def is_secret_header(name: str) -> bool:
    """Whether a header of this name carries credentials or session state."""
    lowered = name.strip().lower()
    if lowered in SECRET_HEADERS or lowered.endswith(("api-key", "apikey", "api_key")):
        return True
    return lowered.startswith("x-") and any(word in lowered for word in _SECRET_HEADER_WORDS)


def _header_line(match: re.Match[str]) -> str:
    if not is_secret_header(match[2]):
        return match[0]
    return f"{match[1]}{match[2]}{match[3]} {REDACTED}" if match[4].strip() else match[0]


def _redact_pair(match: re.Match[str]) -> str:
    value = match[3]
    quote = value[0] if value[:1] in ("'", '"') else ""
    closing = quote if quote and len(value) > 1 and value.endswith(quote) else ""
    return f"{match[1]}{match[2]}{quote}{REDACTED}{closing}"


def redact_text(text: str, *, path_policy: PathPolicy = "keep") -> str:
    """``text`` with every credential, cookie, auth header, URL userinfo, query string and
    fragment replaced by ``[redacted]``; URL paths per ``path_policy`` (see :func:`redact_url`).

    Idempotent: ``redact_text(redact_text(x)) == redact_text(x)``. Callers bound ``text`` first
    (:func:`bounded`) where its size is not already bounded: the work is linear, not free.
    """
    if path_policy not in PATH_POLICIES:
        raise ValueError(f"path_policy must be one of {', '.join(PATH_POLICIES)}, not {path_policy!r}")
    if not text:
        return ""
    text = str(text)
    text = _HEADER_LINE.sub(_header_line, text)
    text = _HEADER_ANYWHERE.sub(lambda m: f"{m[1]}{m[2]} {REDACTED}", text)
    text = _redact_urls(text, path_policy)
    text = _BEARER.sub(lambda m: f"{m[1]} {REDACTED}", text)
    text = _DIGEST.sub(lambda m: f"{m[1]} {REDACTED}", text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m[1]} {REDACTED}", text)
    text = _QUERY.sub(f"?{REDACTED}", text)
    text = _SECRET_PAIR.sub(_redact_pair, text)
    return _CURL_AUTH_USER.sub(lambda m: f"{m[1]}'{REDACTED}'", text)


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,31}")  # RFC 3986 §3.1


def redact_input(value: str) -> str:
    """``value`` — a URL or proxy the user typed, perhaps malformed — as an error may quote it.

    An error exists because the value did not parse, so URL parsing cannot find its userinfo:
    ``https://user:pa ss@host/`` (a space) and ``bob:hunter2@proxy:3128`` (no scheme) pass
    :func:`redact_url` untouched. Here whatever precedes the last ``@`` before the query (and
    after ``scheme://``) is the userinfo, and the query and fragment go. A path holding ``@``
    loses its start too, which an error message can afford. Linear in ``len(value)``.
    """
    text = str(value)
    scheme, sep, rest = text.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):  # "a:b://..." is a password holding "://", not a scheme
        scheme, sep, rest = "", "", text
    ends = [i for i in (rest.find("?"), rest.find("#")) if i >= 0]
    cut = min(ends) if ends else len(rest)
    head, query = rest[:cut], rest[cut:]
    at = head.rfind("@")
    if at >= 0:
        head = f"{REDACTED}@{head[at + 1:]}"
    return scheme + sep + head + (query[0] + REDACTED if query else "")


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(name, value)`` pairs with the values of secret headers replaced (names are kept: that
    a request carried a cookie can explain a failure; its value never does)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return [(name, REDACTED if is_secret_header(name) else redact_text(value)) for name, value in pairs]

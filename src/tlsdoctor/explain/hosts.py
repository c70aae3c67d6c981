"""Which origin the text talks about, so that suggested commands name it.

Never the user name of a URL's userinfo (``https://alice:pa/ss@host`` is about ``host``),
never the proxy of a curl -v transcript when the CONNECT names the origin, never curl's
documentation site from its help text. Every pattern is anchored by a literal and bounded.
"""

from __future__ import annotations

import re
_NAME = r"[A-Za-z0-9.-]{1,253}"
# Userinfo may hold "/" or "@" when pasted unencoded; it is skipped (up to the last "@" before
# any whitespace), and redaction has already replaced it by "[redacted]" anyway.
_USERINFO = r"(?:\S{0,256}@)?"

HOST_PATTERNS = (
    # Most specific first: a transcript also names the proxy and curl's documentation site.
    re.compile(rf"^>[ \t]{{0,8}}CONNECT (?P<host>{_NAME}):(?P<port>\d{{1,5}})", re.MULTILINE),
    re.compile(rf"^>[ \t]{{0,8}}Host: (?P<host>{_NAME})(?::(?P<port>\d{{1,5}}))?[ \t]{{0,8}}$",
               re.IGNORECASE | re.MULTILINE),
    re.compile(rf"\bhost='(?P<host>{_NAME})', port=(?P<port>\d{{1,5}})"),
    re.compile(rf"\bin connection to (?P<host>{_NAME}):(?P<port>\d{{1,5}})"),
    re.compile(rf"target host name '(?P<host>{_NAME})'"),
    re.compile(rf"Cannot connect to host (?P<host>{_NAME}):(?P<port>\d{{1,5}})"),
    re.compile(rf"\bhttps://{_USERINFO}(?!curl\.se/|curl\.haxx\.se/)(?P<host>{_NAME}|\[[0-9A-Fa-f:]{{2,45}}\])"
               rf"(?::(?P<port>\d{{1,5}}))?"),
    re.compile(rf"Could not resolve host: (?P<host>{_NAME})"),
)
_PLAUSIBLE = re.compile(r"[A-Za-z0-9]")
_TOKEN_END = re.compile(r"[\s'\"<>]")


def _is_userinfo(text: str, end: int) -> bool:
    """Whether what was read as a host is followed, in the same token, by "@": a user name."""
    stop = _TOKEN_END.search(text, end, end + 600)
    return "@" in text[end:stop.start() if stop else end + 600]


def find_host(text: str) -> tuple[str, str | None] | None:
    """(host, port or None) of the first pattern that matches (in pattern order), else None."""
    for pattern in HOST_PATTERNS:
        for count, match in enumerate(pattern.finditer(text)):
            if count >= 20:
                break
            if not _PLAUSIBLE.search(match["host"]) or _is_userinfo(text, match.end("host")):
                continue
            return match["host"].strip("."), match.groupdict().get("port")
    return None

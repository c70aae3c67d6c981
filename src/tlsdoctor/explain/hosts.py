"""Which origin the text talks about, so that suggested commands name it.

Never the user name of a URL's userinfo (``https://alice:pa/ss@host`` is about ``host``),
never the proxy of a curl -v transcript when the CONNECT names the origin, never curl's
documentation site from its help text. Every pattern is anchored by a literal and bounded.
"""

from __future__ import annotations

import re
from typing import Iterable

_NAME = r"[A-Za-z0-9.-]{1,253}"
# Userinfo may hold "/" or "@" when pasted unencoded; it is skipped (up to the last "@" before
# any whitespace), and redaction has already replaced it by "[redacted]" anyway.
_USERINFO = r"(?:[^\s@]{0,256}@)?"

HOST_PATTERNS = (
    # Most specific first: a transcript also names the proxy and curl's documentation site.
    re.compile(rf"^>[ \t]{{0,8}}CONNECT (?P<host>{_NAME}):(?P<port>\d{{1,5}})"),
    re.compile(rf"^>[ \t]{{0,8}}Host: (?P<host>{_NAME})(?::(?P<port>\d{{1,5}}))?[ \t]{{0,8}}$", re.IGNORECASE),
    re.compile(rf"\bhost='(?P<host>{_NAME})', port=(?P<port>\d{{1,5}})"),
    re.compile(rf"\bin connection to (?P<host>{_NAME}):(?P<port>\d{{1,5}})"),
    re.compile(rf"target host name '(?P<host>{_NAME})'"),
    re.compile(rf"Cannot connect to host (?P<host>{_NAME}):(?P<port>\d{{1,5}})"),
    re.compile(rf"\bhttps://{_USERINFO}(?!curl\.se/|curl\.haxx\.se/)(?P<host>{_NAME}|\[[0-9A-Fa-f:]{{2,45}}\])"
               rf"(?::(?P<port>\d{{1,5}}))?"),
    re.compile(rf"Could not resolve host: (?P<host>{_NAME})"),
)
_PLAUSIBLE = re.compile(r"[A-Za-z0-9]")


def find_host(lines: Iterable[str]) -> tuple[str, str | None] | None:
    """(host, port or None) of the first pattern that matches any line, else None."""
    lines = list(lines)
    for pattern in HOST_PATTERNS:
        for line in lines:
            match = pattern.search(line[:4000])
            if match and _PLAUSIBLE.search(match["host"]) and "redacted" not in match["host"]:
                return match["host"].strip("."), match.groupdict().get("port")
    return None

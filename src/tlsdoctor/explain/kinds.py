"""What kind of text the user pasted, and which of its lines carry the error.

The kind is the *shape* of the text (a ``curl -v`` transcript, a Python traceback, a Java
stack trace...) when one shows, else the ecosystem whose vocabulary it used. It decides
which lines are messages: stack frames, request headers and hex dumps would only add false
matches (a Python frame's source line can mention ``ConnectionRefusedError`` in an
``except`` clause).

Every pattern here runs on lines already cut to :data:`LINE_CAP` characters and is written
without nested or adjacent unbounded quantifiers, so each costs time linear in its input.
"""

from __future__ import annotations

import re

SHAPE_KINDS = (
    "curl-verbose",
    "curl-error",
    "python-traceback",
    "openssl-error",
    "json-event",
    "nodejs",
    "java",
    "go",
    "text",
)

LINE_CAP = 2000  # a single line longer than this is data, not an error message
SIGNAL_TEXT_BUDGET = 64 * 1024  # what goes into Signal.text: the table's regexes run over it

VERBOSE_CONNECT = re.compile(r"^>[ \t]{0,8}CONNECT[ \t]")
VERBOSE_STATUS = re.compile(r"^<[ \t]{0,8}HTTP/[\d.]{1,5}[ \t]{1,8}(\d{3})\b")

_VERBOSE_LINE = re.compile(r"^[*<>] ")
_VERBOSE_MARKER = re.compile(
    r"^\* {1,8}(?:Trying|Connected to|TLSv|SSL|ALPN|Establish|Uses proxy|Host |Could not|Failed|Closing|Connection #|"
    r"CAfile|CApath|Server certificate|using HTTP|Recv failure|OpenSSL|schannel|Proxy|CONNECT|subject:|issuer:|"
    r"start date|expire date|\[HTTP/2\]|IPv[46]|processing:|Operation timed out|Send failure|Request completely)"
    r"|^> (?:GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|CONNECT) |^< HTTP/"
)
_KIND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("python-traceback", re.compile(
        r"Traceback \(most recent call last\)|\b(?:ssl\.SSL[A-Za-z]{0,40}Error|requests\.exceptions\.[A-Za-z]{1,40}|"
        r"urllib3\.exceptions\.[A-Za-z]{1,40}|httpx\.[A-Za-z]{1,40}Error|httpcore\.[A-Za-z]{1,40}Error|"
        r"aiohttp\.[\w.]{0,60}Error|ClientConnector[A-Za-z]{0,40}Error|pycurl\.error|"
        r"MaxRetryError|SSLCertVerificationError|SSLZeroReturnError|SSLEOFError)\b")),
    ("curl-error", re.compile(r"\bcurl: \(\d{1,3}\)|\bcurl error \d{1,3}|\bCURLE_[A-Z_]{2,40}", re.IGNORECASE)),
    ("java", re.compile(
        r"PKIX path building failed|javax\.net\.ssl\.|\bjava\.(?:security|net|io)\.|\bsun\.security\.|"
        r"SSLHandshakeException|SunCertPathBuilderException|CertPathValidatorException")),
    ("nodejs", re.compile(
        r"\b(?:UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_GET_ISSUER_CERT|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|"
        r"DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_UNTRUSTED|"
        r"CERT_REVOKED|ERR_TLS_[A-Z_]{2,40}|ERR_SSL_[A-Z_]{2,60})\b|node:(?:internal|_tls_wrap|net)\b|\bat TLSSocket\.|"
        r"\bcode: '[A-Z_]{2,60}'")),
    ("go", re.compile(
        r"\bx509: |\bremote error: tls: |\btls: (?:failed to|first record|handshake|no supported|server selected)|"
        r"\bproxyconnect tcp\b|\bdial tcp\b|\bnet/http: ")),
    ("openssl-error", re.compile(
        r"\berror:[0-9A-Fa-f]{8}:|\b(?:SSL|X509 V3|x509 certificate|PEM|asn1 encoding|system library) routines\b|"
        r"verify error:num=|Verify return code:|\bSSL_connect\b|\bs_client\b")),
)

_PY_FRAME = re.compile(r"^[ \t]*File \"[^\"\n]{0,1000}\", line \d")
_CARETS = re.compile(r"^[ \t]*[\^~]+[ \t]*$")
# A stack frame of Java, Node, .NET or PowerShell: indented "at ...", or Java's "... N more".
_STACK_FRAME = re.compile(r"^[ \t]+at [^\n]|^[ \t]*\.\.\. \d{1,6} more[ \t]*$")
_VERBOSE_DATA = re.compile(r"^[{}] \[\d{1,12} bytes data\]")
_RELEVANT = re.compile(
    r"error|fail|refus|reset|timed? ?out|ssl|tls|x509|cert|alert|handshake|verify|proxy|connect|eof|resolv|"
    r"pkix|errno|curl|denied|abort|closed|not known|no such|unreachable|expired|valid|issuer|trust|version|cipher|"
    r"revok|ocsp|\b50[24]\b|\b407\b|\bE[A-Z]{3,}\b|[^\x00-\x7f]",
    re.IGNORECASE,
)
_FRAME_KINDS = frozenset({"java", "nodejs", "python-traceback", "dotnet", "powershell", "android", "text"})


def shape_of(text: str) -> str:
    """Which of :data:`SHAPE_KINDS` the text is ("text" when none shows; JSON is found earlier)."""
    lines = text.split("\n", 5000)[:5000]
    verbose = [line for line in lines if _VERBOSE_LINE.match(line)]
    if len(verbose) >= 2 and any(_VERBOSE_MARKER.match(line[:LINE_CAP]) for line in verbose):
        return "curl-verbose"
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(text):
            return kind
    return "text"


def message_lines(lines: list[str], kind: str) -> list[str]:
    """The lines whose words the table should read: messages, not headers, frames or data."""
    kept: list[str] = []
    skip_source_line = False
    for line in lines:
        line = line[:LINE_CAP]
        if skip_source_line:
            skip_source_line = False
            if line.startswith((" ", "\t")) and not _PY_FRAME.match(line):
                continue
        if not line.strip() or _CARETS.match(line) or _VERBOSE_DATA.match(line):
            continue
        if _PY_FRAME.match(line):
            skip_source_line = True
            continue
        if kind in _FRAME_KINDS and _STACK_FRAME.match(line):
            continue
        is_header = kind == "curl-verbose" and line.startswith((">", "<"))
        if is_header and not (VERBOSE_CONNECT.match(line) or VERBOSE_STATUS.match(line)):
            continue  # request/response headers: only the status lines say anything about failure
        kept.append(line)
    if sum(len(line) + 1 for line in kept) <= SIGNAL_TEXT_BUDGET:
        return kept
    # Too much to read in full: keep the lines that can carry an error, the last ones first
    # (a failure is usually at the end of a log), within the budget.
    chosen: list[str] = []
    used = 0
    for line in reversed(kept):
        if not _RELEVANT.search(line):
            continue
        if used + len(line) + 1 > SIGNAL_TEXT_BUDGET:
            break
        chosen.append(line)
        used += len(line) + 1
    return chosen[::-1]

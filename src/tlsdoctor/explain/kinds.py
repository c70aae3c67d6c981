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

from tlsdoctor.redact import bounded

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
SIGNAL_TEXT_BUDGET = 8 * 1024  # what goes into Signal.text: the table's regexes run over it
READ_BUDGET = 128 * 1024  # what the recognisers read of a longer input (see select_lines)

VERBOSE_CONNECT = re.compile(r"^>[ \t]{0,8}CONNECT[ \t]")
VERBOSE_STATUS = re.compile(r"^<[ \t]{0,8}HTTP/[\d.]{1,5}[ \t]{1,8}(\d{3})\b")

_VERBOSE_LINE = re.compile(r"^[*<>] ")
_VERBOSE_MARKER = re.compile(
    r"^\* {1,8}(?:Trying|Connected to|TLSv|SSL|ALPN|Establish|Uses proxy|Host |Could not|Failed|Closing|Connection #|"
    r"CAfile|CApath|Server certificate|using HTTP|Recv failure|OpenSSL|schannel|Proxy|CONNECT|subject:|issuer:|"
    r"start date|expire date|\[HTTP/2\]|IPv[46]|processing:|Operation timed out|Send failure|Request completely)"
    r"|^> (?:GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|CONNECT) |^< HTTP/"
)
# Literal markers (lower case) of each shape, tested in this order with substring search:
# linear, and cheap on a quarter of a megabyte.
_KIND_MARKERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("python-traceback", (
        "traceback (most recent call last)", "ssl.sslerror", "ssl.sslcert", "ssl.sslzero", "ssl.ssleof", "ssl.sslsyscall",
        "requests.exceptions.", "urllib3.exceptions.", "httpx.",
        "httpcore.", "aiohttp.", "clientconnector", "pycurl.error", "maxretryerror", "sslcertverificationerror",
        "sslzeroreturnerror", "ssleoferror")),
    ("curl-error", ("curl: (", "curl error ", "curle_")),
    ("java", ("pkix path building failed", "javax.net.ssl.", "java.security.", "java.net.", "java.io.",
              "sun.security.", "sslhandshakeexception", "suncertpathbuilderexception", "certpathvalidatorexception")),
    ("nodejs", ("unable_to_get_issuer_cert", "cert_has_expired", "cert_not_yet_valid", "depth_zero_self_signed_cert",
                "self_signed_cert_in_chain", "unable_to_verify_leaf_signature", "cert_untrusted", "cert_revoked",
                "err_tls_", "node:internal", "node:_tls_wrap", "node:net", "at tlssocket.", "code: '")),
    ("go", ("x509: ", "remote error: tls: ", "tls: failed to", "tls: first record", "tls: handshake",
            "tls: no supported", "tls: server selected", "proxyconnect tcp", "dial tcp", "net/http: ")),
    ("openssl-error", ("error:", " routines", "verify error:num=", "verify return code:", "ssl_connect", "s_client")),
)
_OPENSSL_ERROR = re.compile(r"\berror:[0-9A-Fa-f]{8}:|\b(?:SSL|X509 V3|x509 certificate|PEM|asn1 encoding|"
                            r"system library) routines\b|verify error:num=|Verify return code:|\bSSL_connect\b|"
                            r"\bs_client\b")

_PY_FRAME = re.compile(r"^[ \t]*File \"[^\"\n]{0,1000}\", line \d")
_CARETS = re.compile(r"^[ \t]*[\^~]+[ \t]*$")
# A stack frame of Java, Node, .NET or PowerShell: indented "at ...", or Java's "... N more".
_STACK_FRAME = re.compile(r"^[ \t]+at [^\n]|^[ \t]*\.\.\. \d{1,6} more[ \t]*$")
_VERBOSE_DATA = re.compile(r"^[{}] \[\d{1,12} bytes data\]")
# Words a line that carries an error is likely to hold (a substring test, not a regex: it runs
# on every line of a megabyte). Non-ASCII lines always count: they may be a translated message.
RELEVANT_WORDS = (
    "error", "fail", "refus", "reset", "timeout", "timed out", "ssl", "tls", "x509", "cert", "alert", "handshake",
    "verify", "proxy", "connect", "eof", "resolv", "pkix", "errno", "curl", "denied", "abort", "closed", "not known",
    "no such", "unreachable", "expired", "valid", "issuer", "trust", "version", "cipher", "revok", "ocsp", "502",
    "504", "407", "econn", "etimedout", "err_", "sec_e", "0x8", "code=", "exception", "-98", "-12",
)


_RELEVANT = re.compile("|".join(re.escape(word) for word in RELEVANT_WORDS))  # literals only: linear


def is_relevant(line: str) -> bool:
    """Whether ``line`` can carry an error message."""
    return not line.isascii() or _RELEVANT.search(line.lower()) is not None
_FRAME_KINDS = frozenset({"java", "nodejs", "python-traceback", "dotnet", "powershell", "android", "text"})


def select_lines(text: str) -> tuple[str, str | None]:
    """At most :data:`READ_BUDGET` characters of ``text`` worth reading, and a note if cut.

    A megabyte of paste is a log: its lines repeat, and the failure is near its end. Lines
    are cut to :data:`LINE_CAP` and read once each; past the budget, the first few lines
    (which often hold the command) and then the last ones are kept. Linear, and no pattern
    runs on what is dropped.
    """
    if len(text) <= READ_BUDGET:
        return text, None
    unique = list(dict.fromkeys(bounded(line, LINE_CAP) for line in text.split("\n")))
    joined = "\n".join(unique)
    if len(joined) <= READ_BUDGET:
        return joined, "repeated lines were read once"
    head = list(range(min(20, len(unique))))
    used = sum(len(unique[i]) + 1 for i in head)
    chosen: list[int] = []
    for index in range(len(unique) - 1, len(head) - 1, -1):
        cost = len(unique[index]) + 1
        if used + cost > READ_BUDGET:
            break
        chosen.append(index)
        used += cost
    kept = head + sorted(chosen)
    return "\n".join(unique[i] for i in kept), (
        f"a long input: read its first {len(head)} and last {len(chosen)} of {len(unique)} distinct lines")


def shape_of(text: str) -> str:
    """Which of :data:`SHAPE_KINDS` the text is ("text" when none shows; JSON is found earlier)."""
    lines = text.split("\n", 5000)[:5000]
    verbose = [line for line in lines if _VERBOSE_LINE.match(line)]
    if len(verbose) >= 2 and any(_VERBOSE_MARKER.match(line[:LINE_CAP]) for line in verbose):
        return "curl-verbose"
    lowered = text.lower()
    for kind, markers in _KIND_MARKERS:
        if any(marker in lowered for marker in markers):
            # "error:" and " routines" are common words: OpenSSL's shape is confirmed by its pattern,
            # which runs only here, on a text that has the markers.
            if kind != "openssl-error" or _OPENSSL_ERROR.search(text):
                return kind
    return "text"


# A 407's Proxy-Authenticate names the scheme the proxy wants (NTLM/Negotiate: Windows' own login).
_PROXY_CHALLENGE = re.compile(r"< Proxy-Authenticate: ", re.IGNORECASE)


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
        if is_header and not (VERBOSE_CONNECT.match(line) or VERBOSE_STATUS.match(line)
                              or _PROXY_CHALLENGE.match(line)):
            continue  # request/response headers: only the status lines (and a proxy's challenge) say why it failed
        kept.append(line)
    if sum(len(line) + 1 for line in kept) <= SIGNAL_TEXT_BUDGET:
        return kept
    # Too much to read in full: keep the lines that can carry an error, the last ones first
    # (a failure is usually at the end of a log), within the budget.
    chosen: list[str] = []
    used = 0
    for line in reversed(kept):
        if not is_relevant(line):
            continue
        if used + len(line) + 1 > SIGNAL_TEXT_BUDGET:
            break
        chosen.append(line)
        used += len(line) + 1
    return chosen[::-1]

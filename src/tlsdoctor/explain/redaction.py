"""explain's redaction, until the shared ``tlsdoctor.redact`` lands (then this module goes)."""

from __future__ import annotations

import re

REDACTED = "[redacted]"


# Each pattern stays within one line ([^\S\n] rather than \s), so that redact() gives the same
# result on a whole text as on each of its lines.
_SECRET_HEADER = re.compile(
    r"^(?P<lead>[ \t*<>]*)(?P<name>(?:Proxy-)?Authorization|Cookie|Set-Cookie|"
    r"X-[\w-]*(?:Token|Key|Secret|Auth|Session)[\w-]*|[\w-]*Api-?Key)(?P<sep>[ \t]*:[ \t]*).*$",
    re.IGNORECASE | re.MULTILINE,
)
_AUTH_SCHEME = re.compile(
    r"\b(Bearer|Basic|Negotiate|NTLM|Token)[^\S\n]+(?!constraints\b)[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE
)
_DIGEST = re.compile(r"\bDigest[^\S\n]+(?:username|realm|nonce)=.*$", re.IGNORECASE | re.MULTILINE)
# Userinfo may hold any character users type, "/" and "@" included (a password pasted
# unencoded): everything between "://" and the last "@" of the run is redacted. Bounded
# quantifiers keep it linear on "a.a.a.a..." lines.
_URL_USERINFO = re.compile(r"\b([a-zA-Z][\w+.-]{0,30}://)[^\s'\"<>]{0,512}@")
_QUERY = re.compile(r"(?<=[\w/.~%-])\?[^\s'\"<>`]+")
_FRAGMENT_PARAMS = re.compile(r"#[^\s'\"<>#`]*=[^\s'\"<>`]*")
_SECRET_PAIR = re.compile(
    r"\b(password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?token|auth[_-]?token|refresh[_-]?token|"
    r"client[_-]?secret|session[_-]?id|sessionid|authorization|cookie|sig|signature)"
    r"(['\"]?[^\S\n]*[:=][^\S\n]*)('[^'\n]*'?|\"[^\"\n]*\"?|[^\s'\"&,;}]+)",
    re.IGNORECASE,
)
_CURL_AUTH_USER = re.compile(r"\b(auth using \w+ with user[^\S\n]+)'[^'\n]*'", re.IGNORECASE)


def _redact_pair(match: re.Match[str]) -> str:
    """``password=x`` → ``password=[redacted]``, keeping quotes so a JSON or repr stays readable."""
    value = match[3]
    quote = value[0] if value[:1] in ("'", '"') else ""
    closing = quote if quote and len(value) > 1 and value.endswith(quote) else ""
    return f"{match[1]}{match[2]}{quote}{REDACTED}{closing}"


def redact(line: str) -> str:
    """``line`` (or a whole text) with credentials, cookies, auth headers and query strings
    replaced by [redacted]."""
    line = _SECRET_HEADER.sub(lambda m: f"{m['lead']}{m['name']}{m['sep']}{REDACTED}", line)
    line = _DIGEST.sub(f"Digest {REDACTED}", line)
    line = _AUTH_SCHEME.sub(lambda m: f"{m[1]} {REDACTED}", line)
    line = _URL_USERINFO.sub(lambda m: f"{m[1]}{REDACTED}@", line)
    line = _QUERY.sub(f"?{REDACTED}", line)
    line = _FRAGMENT_PARAMS.sub(f"#{REDACTED}", line)
    line = _SECRET_PAIR.sub(_redact_pair, line)
    return _CURL_AUTH_USER.sub(lambda m: f"{m[1]}{REDACTED}", line)



"""Error-report events as JSON (a Sentry event, a tlsdoctor.report/1 line, a log record).

Structured fields become signals directly (``"curl_code": 60``); message-like strings become
lines (redacted) for the recognisers and the table. Only keys that name a message are read
as text: a Sentry event also holds breadcrumbs, request headers and source context, whose
words are not the failure. Secret-bearing keys are never read at all.
"""

from __future__ import annotations

import errno as _errno
import json
import re

from tlsdoctor.explain.read import QUOTE_CAP as _QUOTE_CAP
from tlsdoctor.explain.read import Found as _Found
from tlsdoctor.explain.recognisers.openssl import alert_from_name as _alert_from_name
from tlsdoctor.explain.recognisers.openssl import alert_from_number as _alert_from_number
from tlsdoctor.redact import redact_text as redact

_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_INT_LIKE = re.compile(r"[ \t]{0,8}-?\d{1,6}[ \t]{0,8}")

_JSON_TEXT_KEYS = frozenset({
    "message", "msg", "error", "err", "errormessage", "errmsg", "errorstring", "value", "type", "detail", "details",
    "reason", "description", "title", "formatted", "code", "errno", "exception", "culprit", "stderr", "text",
    "summary", "cause", "log", "output", "errortext",
})
_JSON_SECRET_KEYS = frozenset({
    "password", "passwd", "token", "secret", "authorization", "proxyauthorization", "cookie", "cookies", "setcookie",
    "apikey", "accesstoken", "refreshtoken", "clientsecret", "headers", "credentials", "auth", "query",
    "querystring", "body", "data",
})
_JSON_NUMBER_FIELDS: dict[str, str] = {
    "curlcode": "curl", "curlerror": "curl", "curlerrno": "curl", "curlresult": "curl", "curle": "curl",
    "code": "curl", "errorcode": "curl", "errcode": "curl",
    "verifyresult": "verify", "verifycode": "verify", "sslverifyresult": "verify", "x509verifyresult": "verify",
    "verifyerror": "verify",
    "alert": "alert", "alertdescription": "alert", "tlsalert": "alert",
    "errno": "errno", "oserrno": "errno",
    "connectstatus": "connect_status", "proxystatus": "connect_status", "connectresponse": "connect_status",
    "httpstatus": "http_status", "statuscode": "http_status", "status": "http_status",
}
_JSON_MAX_NODES = 20_000


def parse_json_object(text: str) -> dict[str, object] | None:
    """The JSON object the text is (or the first of JSON Lines / of an array), else None."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    candidates = [stripped]
    first_line = stripped.split("\n", 1)[0].strip()
    if first_line != stripped:
        candidates.append(first_line)
    for candidate in candidates:
        try:
            document = json.loads(candidate)
        except (ValueError, RecursionError):
            continue
        if isinstance(document, list):
            document = next((item for item in document if isinstance(item, dict)), None)
        if isinstance(document, dict):
            return document
    return None


def _int_like(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and len(value) <= 64 and _INT_LIKE.fullmatch(value):
        return int(value)
    return None


def walk_json(document: object, found: _Found, lines: list[str]) -> None:
    """Structured fields → signals; message-like strings → lines (redacted) for the table.

    Only keys that name a message are read as text: a Sentry event also holds breadcrumbs,
    request headers and source context, whose words are not the failure.
    """
    stack: list[tuple[str, object]] = [("", document)]
    nodes = 0
    while stack and nodes < _JSON_MAX_NODES:
        key, value = stack.pop()
        nodes += 1
        norm = _NOT_ALNUM.sub("", key.lower()[:200])
        if norm in _JSON_SECRET_KEYS:
            continue
        if isinstance(value, dict):
            stack.extend((str(k), v) for k, v in reversed(list(value.items())))
            continue
        if isinstance(value, list):
            stack.extend((key, v) for v in reversed(value))
            continue
        field_kind = _JSON_NUMBER_FIELDS.get(norm)
        number = _int_like(value)
        quote = redact(f'"{key}": {json.dumps(value)[:_QUOTE_CAP]}')
        if field_kind and number is not None:
            if field_kind == "curl" and 0 < number < 200:
                found.add("curl", number, quote, -1)
            elif field_kind == "verify" and 0 <= number < 1000:
                found.add("verify", number, quote, -1)
            elif field_kind == "alert" and _alert_from_number(number) is not None:
                found.add("alert", number, quote, -1)
            elif field_kind == "errno" and number in _errno.errorcode:
                found.add("errno", _errno.errorcode[number], quote, -1)
            elif field_kind in ("connect_status", "http_status") and 100 <= number < 600:
                found.add(field_kind, number, quote, -1)
        elif field_kind == "alert" and isinstance(value, str):
            alert = _alert_from_name(value)
            if alert is not None:
                found.add("alert", int(alert), quote, -1)
        if isinstance(value, str) and norm in _JSON_TEXT_KEYS:
            lines.extend(redact(line) for line in value.splitlines()[:2000])



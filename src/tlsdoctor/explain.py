"""``tlsdoctor explain``: rank root causes from text the user already has.

A failed HTTPS request usually reaches support as text, not as a reproducible URL: a
``curl -v`` transcript, a Python traceback, a Java stack trace, one ``curl: (35) ...`` line
from a CI log, an error-reporting event. That text carries the same low-level signals a live
diagnosis gets from libcurl — a curl code, an OpenSSL verify result, a TLS alert, an errno,
the proxy's answer to CONNECT, an error string — only in a dozen spellings.

This module does two things, and deliberately only two:

1. **Extract** those signals from the text into :class:`~tlsdoctor.classify.Signal`\\ s
   (translating spellings: ``CURLE_SSL_CONNECT_ERROR`` → 35, ``CERT_HAS_EXPIRED`` → verify
   result 10, ``alert handshake failure`` → alert 40, ``[Errno 111] Connection refused`` →
   ``ECONNREFUSED``).
2. **Rank** what :func:`tlsdoctor.classify.classify` says about them. It never decides a
   finding code itself: ``classify.py`` holds the one table (a second classifier anywhere is
   a bug), so a message this module cannot explain is fixed by a row there, not by an ``if``
   here.

Everything quoted back to the user is redacted first (credentials, cookies, query strings),
because people paste ``curl -v`` output with ``Authorization`` headers into tickets, and an
explanation is often pasted onward. Input is capped at 1 MiB, and no input makes
:func:`explain` raise: it runs on whatever a user pipes into it.
"""

from __future__ import annotations

import errno as _errno
import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from tlsdoctor.classify import SIGNAL_TABLE, Row, Signal, classify
from tlsdoctor.wire import AlertDescription

MAX_INPUT_CHARS = 1 << 20  # 1 MiB of text is far more than any transcript; more is a wrong file
SIGNAL_TEXT_BUDGET = 64 * 1024  # what goes into Signal.text: the table's regexes run over it
_LINE_CAP = 2000  # a single line longer than this is data, not an error message
_QUOTE_CAP = 200  # one quoted line in ``why``
_MAX_QUOTES = 3

INPUT_KINDS = (
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

REDACTED = "[redacted]"


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedCandidate:
    """One possible root cause, with the input that points to it and how to confirm it."""

    code: str  # a finding code (docs/spec/findings.md)
    likelihood: float  # 0..1; the candidates of one explanation sum to at most 1
    why: str  # quoted from the (redacted) input: the line or token that matched
    check: str  # what to run or collect to confirm it
    reason: str = ""  # the table's reading of that evidence, in words


@dataclass(frozen=True)
class Explanation:
    """What :func:`explain` found: the kind of input, ranked causes and the raw signals."""

    input_kind: str
    candidates: tuple[RankedCandidate, ...]
    signals: tuple[Signal, ...] = ()
    notes: tuple[str, ...] = ()  # said about the input itself ("truncated to 1 MiB", ...)
    host: str | None = None  # the origin the input talks about, when it names one

    @property
    def top(self) -> RankedCandidate | None:
        return self.candidates[0] if self.candidates else None


# -- how to confirm each finding ------------------------------------------------------------
# One entry per finding code (a test checks that none is missing). HOST and PORT are
# replaced with the origin named in the input, when there is one.

CHECKS: dict[str, str] = {
    "ok": "nothing to confirm here; if it fails elsewhere, run `tlsdoctor diagnose URL` on the affected machine",
    "dns.name_not_resolved": "resolve the name on the affected machine: `getent hosts HOST` (or `nslookup HOST`), "
    "and against another resolver: `dig @1.1.1.1 HOST`",
    "tcp.refused": "test the port from the affected machine: `nc -vz HOST PORT`; check that the service listens "
    "there and that no firewall rejects it",
    "tcp.timed_out": "`nc -vz -w 5 HOST PORT` from the affected machine; a silent drop is a firewall or a wrong "
    "route, `traceroute -T -p PORT HOST` shows where it stops",
    "tcp.reset": "`nc -vz HOST PORT` and `curl -v https://HOST/` from the affected machine: a reset before any TLS "
    "is a firewall or another service on that port",
    "proxy.unresolvable": "print the proxy settings (`env | grep -i _proxy`, the PAC file) and resolve the "
    "proxy's name: `getent hosts PROXYHOST`",
    "proxy.unreachable": "print the proxy settings (`env | grep -i _proxy`) and test the proxy's port: "
    "`nc -vz PROXYHOST PROXYPORT`",
    "proxy.auth_required": "`curl -v -x http://PROXYHOST:PROXYPORT https://HOST/` and look for `< HTTP/1.1 407` "
    "and its `Proxy-Authenticate` scheme; retry with `--proxy-user` or `--proxy-negotiate`",
    "proxy.connect_refused": "`curl -v -x http://PROXYHOST:PROXYPORT https://HOST/` shows the proxy's answer to "
    "CONNECT (403/405/5xx and its page); the proxy's administrators must allow HOST:PORT",
    "proxy.upstream_failed": "`curl -v -x http://PROXYHOST:PROXYPORT https://HOST/` shows the 502/504 and the "
    "proxy's error page; run `tlsdoctor diagnose URL` from a machine that needs no proxy",
    "tls.not_tls": "`curl -v http://HOST:PORT/` (plain HTTP) or `openssl s_client -connect HOST:PORT`: if plain "
    "HTTP answers, the port or the scheme is wrong",
    "tls.protocol_mismatch": "`openssl s_client -connect HOST:PORT -tls1_2` and `-tls1_3` (or `nmap --script "
    "ssl-enum-ciphers -p PORT HOST`) show which versions the server takes; compare with the client's range",
    "tls.cipher_mismatch": "`nmap --script ssl-enum-ciphers -p PORT HOST` lists what the server accepts; compare "
    "with the client's cipher suites, groups and signature algorithms",
    "tls.handshake_alert": "`openssl s_client -connect HOST:PORT -servername HOST -msg` shows which alert the "
    "server sends and after which message (SNI, client certificate, policy)",
    "tls.client_cert_required": "`openssl s_client -connect HOST:PORT -servername HOST -msg </dev/null`: a "
    "CertificateRequest from the server, then the alert certificate_required (TLS 1.3) or handshake_failure "
    "(TLS 1.2); `curl -v --cert CERT --key KEY https://HOST/` with the expected certificate",
    "tls.abrupt_close": "`openssl s_client -connect HOST:PORT -servername HOST` from the affected machine and from "
    "another network: a close right after ClientHello on one network only is a middlebox",
    "tls.handshake_timeout": "`time openssl s_client -connect HOST:PORT -servername HOST`: TCP connects, then "
    "it hangs; try another network (middleboxes that drop large ClientHellos) and the server's load",
    "cert.expired": "`openssl s_client -connect HOST:PORT -servername HOST </dev/null | openssl x509 -noout "
    "-dates`; compare notAfter with the real time, and this machine's `date -u` with it",
    "cert.not_yet_valid": "`openssl s_client -connect HOST:PORT -servername HOST </dev/null | openssl x509 "
    "-noout -dates`; compare notBefore with the real time, and this machine's `date -u` with it",
    "cert.hostname_mismatch": "`openssl s_client -connect HOST:PORT -servername HOST </dev/null | openssl x509 "
    "-noout -ext subjectAltName` lists the names the certificate is for; compare with the URL's host",
    "cert.self_signed": "`openssl s_client -connect HOST:PORT -servername HOST -showcerts`: one certificate whose "
    "subject is its issuer; trust it explicitly (CA file) or replace it",
    "cert.untrusted_root": "`openssl s_client -connect HOST:PORT -servername HOST -showcerts` and read the last "
    "issuer; `tlsdoctor diagnose URL` says which trust sources hold it",
    "cert.incomplete_chain": "`openssl s_client -connect HOST:PORT -servername HOST -showcerts`: if only the leaf "
    "comes back and its issuer is an intermediate, the server must send that intermediate",
    "cert.revoked": "`openssl s_client -connect HOST:PORT -servername HOST -status` shows the stapled OCSP status; "
    "or ask the OCSP responder: `openssl ocsp -issuer ISSUER.pem -cert LEAF.pem -url OCSP_URL`",
    "cert.revocation_unavailable": "`openssl x509 -noout -ocsp_uri -ext crlDistributionPoints` on the leaf, then "
    "`curl -v` each URL from the affected machine: no answer, or an error, means the status cannot be checked",
    "cert.must_staple_missing": "`openssl s_client -connect HOST:PORT -servername HOST -status </dev/null | grep "
    "-A2 'OCSP response'`: 'no response sent' confirms the server does not staple",
    "cert.weak_signature": "`openssl s_client -connect HOST:PORT -servername HOST -showcerts`, then `openssl x509 "
    "-noout -text` on each: look for `sha1WithRSAEncryption` or md5",
    "cert.weak_key": "`openssl s_client -connect HOST:PORT -servername HOST </dev/null | openssl x509 -noout "
    "-text | grep Public-Key`: RSA below 2048 bits is refused",
    "cert.bad_usage": "`openssl s_client -connect HOST:PORT -servername HOST </dev/null | openssl x509 -noout "
    "-ext keyUsage,extendedKeyUsage`: a server certificate needs `TLS Web Server Authentication`",
    "clock.skewed": "compare `date -u` with the server's Date header: `curl -sI https://HOST | grep -i ^date` "
    "(add `-k` if verification fails)",
    "trust.interception": "run `tlsdoctor diagnose URL` on the affected machine; or `openssl s_client -connect "
    "HOST:PORT -showcerts` and look at the issuer",
    "trust.store_mismatch": "run `tlsdoctor diagnose URL` on the affected machine: it verifies the chain against "
    "each trust source (OS store, certifi, the app's CA file) and says which one lacks the root",
    "trust.bundle_corrupt": "run `tlsdoctor diagnose URL --ca-bundle FILE`; it names the broken entry",
    "trust.bundle_outdated": "`tlsdoctor diagnose URL --ca-bundle APP_CA_FILE`: the chain's root is in certifi's "
    "and the OS store but not in the app's file; compare the file's date and root count with a current certifi",
    "trust.bundle_missing": "check the CA file the client is configured with (`curl -v` prints `CAfile:`; "
    "`ls -l \"$SSL_CERT_FILE\" \"$CURL_CA_BUNDLE\" \"$REQUESTS_CA_BUNDLE\"`): it must exist and be readable",
    "http2.negotiation_failed": "`curl -v --http2 https://HOST/` against `curl -v --http1.1 https://HOST/`: if "
    "only HTTP/1.1 works, HTTP/2 breaks after ALPN (server or middlebox)",
    "http.error": "`curl -sv https://HOST/ -o /dev/null` shows the status and who answered (server, load "
    "balancer); TLS itself is fine",
    "http.timed_out": "`curl -sv --max-time 30 https://HOST/ -o /dev/null`: the TLS handshake completes, then "
    "the response headers never (or only slowly) arrive",
    "diagnosis.incomplete": "`tlsdoctor diagnose --timeout 15 URL`, and `curl -v --max-time 30 https://HOST/` "
    "from the affected machine",
}


# -- redaction -------------------------------------------------------------------------------
# Applied to every line before anything else looks at it, so no quote, signal or note can
# carry a secret (tlsdoctor.report/1 promises the same for events: no credentials, cookies
# or query strings).

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
_URL_USERINFO = re.compile(r"\b([a-zA-Z][\w+.-]*://)[^/\s@'\"<>]+@")
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


# -- spellings of the signals -----------------------------------------------------------------


def _curle_names() -> dict[str, int]:
    """CURLE_* names → numbers, from pycurl's E_* constants plus the ones it lacks.

    Field reports from libcurl users (PHP, Rust, C) often print the enum name instead of
    the number. pycurl is a dependency anyway; the fallback keeps the names that matter
    for TLS if its constants ever change.
    """
    names = {
        "CURLE_UNSUPPORTED_PROTOCOL": 1, "CURLE_COULDNT_RESOLVE_PROXY": 5, "CURLE_COULDNT_RESOLVE_HOST": 6,
        "CURLE_COULDNT_CONNECT": 7, "CURLE_WEIRD_SERVER_REPLY": 8, "CURLE_HTTP2": 16, "CURLE_HTTP_RETURNED_ERROR": 22,
        "CURLE_OPERATION_TIMEDOUT": 28, "CURLE_SSL_CONNECT_ERROR": 35, "CURLE_GOT_NOTHING": 52,
        "CURLE_SEND_ERROR": 55, "CURLE_RECV_ERROR": 56, "CURLE_SSL_CERTPROBLEM": 58, "CURLE_SSL_CIPHER": 59,
        "CURLE_PEER_FAILED_VERIFICATION": 60, "CURLE_SSL_CACERT": 60, "CURLE_SSL_CACERT_BADFILE": 77,
        "CURLE_SSL_CRL_BADFILE": 82, "CURLE_SSL_ISSUER_ERROR": 83, "CURLE_SSL_PINNEDPUBKEYNOTMATCH": 90,
        "CURLE_SSL_INVALIDCERTSTATUS": 91, "CURLE_HTTP2_STREAM": 92, "CURLE_HTTP3": 95,
        "CURLE_QUIC_CONNECT_ERROR": 96, "CURLE_PROXY": 97, "CURLE_SSL_CLIENTCERT": 98,
        "CURLE_UNRECOVERABLE_POLL": 99, "CURLE_TOO_LARGE": 100, "CURLE_ECH_REQUIRED": 101,
    }
    try:
        import pycurl
    except ImportError:  # pragma: no cover - pycurl is a dependency; explain must not need libcurl to load
        return names
    for name in dir(pycurl):
        value = getattr(pycurl, name)
        if name.startswith("E_") and not name.startswith("E_MULTI_") and isinstance(value, int) and 0 <= value < 200:
            names.setdefault("CURL" + name, value)
    return names


CURLE_NAMES: dict[str, int] = _curle_names()

# OpenSSL's X509_verify_cert_error_string() for the results the table reads, as OpenSSL 3
# words them (and OpenSSL 1.1, where it differed). Python's SSLCertVerificationError and
# Node's Error messages are exactly these strings, so mapping them back to the number is
# reading, not judging.
VERIFY_STRINGS: dict[str, int] = {
    "unable to get issuer certificate": 2,
    "certificate signature failure": 7,
    "certificate is not yet valid": 9,
    "certificate has expired": 10,
    "self-signed certificate": 18,
    "self signed certificate": 18,
    "self-signed certificate in certificate chain": 19,
    "self signed certificate in certificate chain": 19,
    "unable to get local issuer certificate": 20,
    "unable to verify the first certificate": 21,
    "certificate chain too long": 22,
    "certificate revoked": 23,
    "unsuitable certificate purpose": 26,
    "unsupported certificate purpose": 26,
    "certificate not trusted": 27,
    "certificate rejected": 28,
    "hostname mismatch": 62,
    "ip address mismatch": 64,
    "ee certificate key too weak": 66,
    "ca certificate key too weak": 67,
    "ca signature digest algorithm too weak": 68,
    "invalid ca certificate": 79,
}

# X509_V_ERR_* names without the prefix: Node.js reports err.code as exactly these.
VERIFY_NAMES: dict[str, int] = {
    "UNABLE_TO_GET_ISSUER_CERT": 2, "CERT_SIGNATURE_FAILURE": 7, "CERT_NOT_YET_VALID": 9,
    "CERT_HAS_EXPIRED": 10, "DEPTH_ZERO_SELF_SIGNED_CERT": 18, "SELF_SIGNED_CERT_IN_CHAIN": 19,
    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY": 20, "UNABLE_TO_VERIFY_LEAF_SIGNATURE": 21, "CERT_CHAIN_TOO_LONG": 22,
    "CERT_REVOKED": 23, "INVALID_PURPOSE": 26, "CERT_UNTRUSTED": 27, "CERT_REJECTED": 28,
    "HOSTNAME_MISMATCH": 62, "IP_ADDRESS_MISMATCH": 64, "EE_KEY_TOO_SMALL": 66, "CA_KEY_TOO_SMALL": 67,
    "CA_MD_TOO_WEAK": 68, "INVALID_CA": 79,
}

# Go's crypto/tls names alerts in its own words (crypto/tls/alert.go).
_GO_ALERT_NAMES: dict[str, AlertDescription] = {
    "unknown certificate authority": AlertDescription.UNKNOWN_CA,
    "protocol version not supported": AlertDescription.PROTOCOL_VERSION,
    "insufficient security level": AlertDescription.INSUFFICIENT_SECURITY,
    "revoked certificate": AlertDescription.CERTIFICATE_REVOKED,
    "expired certificate": AlertDescription.CERTIFICATE_EXPIRED,
    "unknown certificate": AlertDescription.CERTIFICATE_UNKNOWN,
    "error decoding message": AlertDescription.DECODE_ERROR,
    "error decrypting message": AlertDescription.DECRYPT_ERROR,
}

# errno names known on this platform, and their messages (so that "[Errno 61] Connection
# refused" from a Mac reads as ECONNREFUSED on Linux, where 61 is something else).
_ERRNO_NAMES = frozenset(_errno.errorcode.values())
_ERRNO_BY_MESSAGE = {os.strerror(number).lower(): name for number, name in _errno.errorcode.items()}
_WINSOCK = {10061: "ECONNREFUSED", 10060: "ETIMEDOUT", 10054: "ECONNRESET", 10065: "EHOSTUNREACH",
            10051: "ENETUNREACH", 10053: "ECONNABORTED"}

# curl codes a bare "error N" is read as: only those the table knows, since "error 2" in
# free text is far more often something else.
_TABLE_CURL_CODES = frozenset(code for row in SIGNAL_TABLE for code in row.curl)

_CURL_CODE_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (0, re.compile(r"\bcurl: \((\d{1,3})\)")),
    (0, re.compile(r"\bpycurl\.error: \((\d{1,3}),")),
    (1, re.compile(r"\bcurl_?code\b[\"']?[^\S\n]*[:=][^\S\n]*[\"']?(\d{1,3})\b", re.IGNORECASE)),
    (2, re.compile(r"\b(?:lib)?curl\b[^\S\n]*(?:error|code|exit code|returned|failed with(?: exit code| error)?)?"
                   r"[^\S\n]*[:#(]?[^\S\n]*(\d{1,3})(?![\d.])", re.IGNORECASE)),
    (3, re.compile(r"\berror[^\S\n]+(\d{1,2})\b(?![.:]\d)", re.IGNORECASE)),
)
_CURLE_NAME = re.compile(r"\bCURLE_[A-Z0-9_]+\b")

_VERIFY_NUMBER_PATTERNS = (
    re.compile(r"verify result: [^()\n]{0,200}\((\d{1,3})\)", re.IGNORECASE),
    re.compile(r"verify error:num=(\d{1,3})", re.IGNORECASE),
    re.compile(r"Verify return code: (\d{1,3})", re.IGNORECASE),
    re.compile(r"\bverify_?(?:result|code)\b[\"']?[^\S\n]*[:=][^\S\n]*(\d{1,3})\b", re.IGNORECASE),
)
# Where a verify string follows: Python's "certificate verify failed: <string> (_ssl.c...)",
# curl's "SSL certificate problem: <string>", Node's "Error: <string>".
_VERIFY_CONTEXT = re.compile(
    r"(?:certificate verify failed|SSL certificate problem|SSL certificate verify result|verify error:num=\d+|"
    r"^[^\S\n]*(?:Uncaught )?Error)[^\S\n]*:[^\S\n]*",
    re.IGNORECASE | re.MULTILINE,
)
_VERIFY_STRINGS_LONGEST_FIRST = sorted(VERIFY_STRINGS, key=len, reverse=True)
_VERIFY_NAME = re.compile(
    r"\b(?:X509_V_ERR_)?(" + "|".join(sorted(VERIFY_NAMES, key=len, reverse=True)) + r")\b"
)

_ALERT_NAME_PATTERNS = (
    # OpenSSL reason strings (received alerts): "sslv3 alert handshake failure", SSLV3_ALERT_...
    re.compile(r"\b(?:sslv3|tlsv1|tlsv13|ssl/tls)[ _]alert[ _]([a-z][a-z_ ]{2,60})", re.IGNORECASE),
    re.compile(r"\b(?:tlsv1)[ _](unrecognized[ _]name)", re.IGNORECASE),
    re.compile(r"Received fatal alert: (\w{3,60})"),  # Java
    re.compile(r"remote error: tls: ([a-zA-Z ]{3,60})"),  # Go
    re.compile(r"alert read:fatal:([a-zA-Z ]{3,60})"),  # openssl s_client
)
_CURL_VERBOSE_ALERT = re.compile(r"\(IN\), TLS alert, [^()\n]{1,60}\((\d{3})\)")
_OPENSSL_REASON_ALERT = re.compile(r"\breason\((1\d{3})\)")
_ALERT_NUMBER = re.compile(r"\balert (?:number|description) (\d{1,3})\b", re.IGNORECASE)

_ERRNO_BRACKET = re.compile(r"\[Errno (-?\d{1,5})\][^\S\n]*([^\]'\"\n(]{0,80})")
_WINERROR = re.compile(r"\[WinError (\d{1,5})\]")
_ERRNO_NAME = re.compile(r"\b(E[A-Z0-9]{2,15})\b")

_CONNECT_STATUS_PATTERNS = (
    re.compile(r"CONNECT tunnel failed, response (\d{3})"),
    re.compile(r"Received HTTP code (\d{3}) from proxy after CONNECT"),
    re.compile(r"Proxy replied (\d{3}) to CONNECT request"),
    re.compile(r"Tunnel connection failed: (\d{3})"),
    re.compile(r"Unable to tunnel through proxy\. Proxy returns \"HTTP/\d(?:\.\d)? (\d{3})"),
)
_VERBOSE_CONNECT = re.compile(r"^>\s*CONNECT\s")
_VERBOSE_STATUS = re.compile(r"^<\s*HTTP/[\d.]+\s+(\d{3})\b")

_HOST_PATTERNS = (
    # Most specific first: a transcript also names the proxy and curl's documentation site.
    re.compile(r"^>\s*CONNECT (?P<host>[A-Za-z0-9.-]{1,253}):(?P<port>\d{1,5})"),
    re.compile(r"^>\s*Host: (?P<host>[A-Za-z0-9.-]{1,253})(?::(?P<port>\d{1,5}))?\s*$", re.IGNORECASE),
    re.compile(r"\bhost='(?P<host>[A-Za-z0-9.-]{1,253})', port=(?P<port>\d{1,5})"),
    re.compile(r"\bin connection to (?P<host>[A-Za-z0-9.-]{1,253}):(?P<port>\d{1,5})"),
    re.compile(r"target host name '(?P<host>[A-Za-z0-9.-]{1,253})'"),
    re.compile(r"Cannot connect to host (?P<host>[A-Za-z0-9.-]{1,253}):(?P<port>\d{1,5})"),
    re.compile(r"\bhttps://(?!curl\.se/|curl\.haxx\.se/)(?P<host>[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:]{2,45}\])"
               r"(?::(?P<port>\d{1,5}))?"),
    re.compile(r"Could not resolve host: (?P<host>[A-Za-z0-9.-]{1,253})"),
)


# -- what kind of text it is ------------------------------------------------------------------

_VERBOSE_LINE = re.compile(r"^[*<>] ")
_VERBOSE_MARKER = re.compile(
    r"^\* +(?:Trying|Connected to|TLSv|SSL|ALPN|Establish|Uses proxy|Host |Could not|Failed|Closing|Connection #|"
    r"CAfile|CApath|Server certificate|using HTTP|Recv failure|OpenSSL|schannel|Proxy|CONNECT|subject:|issuer:|"
    r"start date|expire date|\[HTTP/2\]|IPv[46]|processing:|Operation timed out|Send failure|Request completely)"
    r"|^> (?:GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|CONNECT) |^< HTTP/"
)
_KIND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("python-traceback", re.compile(
        r"Traceback \(most recent call last\)|\b(?:ssl\.SSL\w*Error|requests\.exceptions\.\w+|urllib3\.exceptions\.\w+|"
        r"httpx\.\w+Error|httpcore\.\w+Error|aiohttp\.[\w.]*Error|ClientConnector\w*Error|pycurl\.error|"
        r"MaxRetryError|SSLCertVerificationError|SSLZeroReturnError|SSLEOFError)\b")),
    ("curl-error", re.compile(r"\bcurl: \(\d{1,3}\)|\bcurl error \d{1,3}|\bCURLE_[A-Z_]+", re.IGNORECASE)),
    ("java", re.compile(
        r"PKIX path building failed|javax\.net\.ssl\.|\bjava\.(?:security|net|io)\.|\bsun\.security\.|"
        r"SSLHandshakeException|SunCertPathBuilderException|CertPathValidatorException")),
    ("nodejs", re.compile(
        r"\b(?:UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_GET_ISSUER_CERT|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|"
        r"DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_UNTRUSTED|"
        r"CERT_REVOKED|ERR_TLS_\w+|ERR_SSL_\w+)\b|node:(?:internal|_tls_wrap|net)\b|\bat TLSSocket\.|"
        r"\bcode: '[A-Z_]+'")),
    ("go", re.compile(
        r"\bx509: |\bremote error: tls: |\btls: (?:failed to|first record|handshake|no supported|server selected)|"
        r"\bproxyconnect tcp\b|\bdial tcp\b|\bnet/http: ")),
    ("openssl-error", re.compile(
        r"\berror:[0-9A-Fa-f]{8}:|\b(?:SSL|X509 V3|x509 certificate|PEM|asn1 encoding|system library) routines\b|"
        r"verify error:num=|Verify return code:|\bSSL_connect\b|\bs_client\b")),
)


def detect_kind(text: str) -> str:
    """Which of :data:`INPUT_KINDS` the text is (JSON is recognised by :func:`explain`)."""
    lines = text.splitlines()
    verbose = [line for line in lines if _VERBOSE_LINE.match(line)]
    if len(verbose) >= 2 and any(_VERBOSE_MARKER.match(line) for line in verbose):
        return "curl-verbose"
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(text):
            return kind
    return "text"


# -- which lines carry the error -------------------------------------------------------------

_PY_FRAME = re.compile(r"^\s*File \"[^\"]*\", line \d+")
_CARETS = re.compile(r"^\s*[\^~]+\s*$")
_STACK_FRAME = re.compile(r"^\s+at [\w$.<>/\[\]-]+(?: \(.*\))?\s*$|^\s*\.\.\. \d+ more\s*$|^\s+at .*\(.*:\d+(?::\d+)?\)\s*$")
_VERBOSE_DATA = re.compile(r"^[{}] \[\d+ bytes data\]")
_RELEVANT = re.compile(
    r"error|fail|refus|reset|timed? ?out|ssl|tls|x509|cert|alert|handshake|verify|proxy|connect|eof|resolv|"
    r"pkix|errno|curl|denied|abort|closed|not known|no such|unreachable|expired|valid|issuer|trust|version|cipher|"
    r"revok|ocsp|\b50[24]\b|\b407\b|\bE[A-Z]{3,}\b",
    re.IGNORECASE,
)


def _message_lines(lines: list[str], kind: str) -> list[str]:
    """The lines whose words the table should read: messages, not headers, frames or data.

    Stack frames and request headers would only add false matches (a frame's source line
    can mention ``ConnectionRefusedError`` in an ``except`` clause).
    """
    kept: list[str] = []
    skip_source_line = False
    for line in lines:
        if skip_source_line:
            skip_source_line = False
            if line.startswith((" ", "\t")) and not _PY_FRAME.match(line):
                continue
        if not line.strip() or _CARETS.match(line) or _VERBOSE_DATA.match(line):
            continue
        if _PY_FRAME.match(line):
            skip_source_line = True
            continue
        if kind in ("java", "nodejs", "python-traceback") and _STACK_FRAME.match(line):
            continue
        is_header = kind == "curl-verbose" and line.startswith((">", "<"))
        if is_header and not (_VERBOSE_CONNECT.match(line) or _VERBOSE_STATUS.match(line)):
            continue  # request/response headers: only the status lines say anything about failure
        kept.append(line[:_LINE_CAP])
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


# -- extraction ---------------------------------------------------------------------------------


@dataclass
class _Found:
    """Signal values found so far, each with the (redacted) quote it came from."""

    values: dict[str, dict[object, tuple[int, int, str]]] = field(default_factory=dict)
    sequence: int = 0

    def add(self, kind: str, value: object, quote: str, rank: int = 5) -> None:
        """Record ``value`` for signal field ``kind``; lower rank = more trustworthy spelling."""
        self.sequence += 1
        seen = self.values.setdefault(kind, {})
        if value not in seen or rank < seen[value][0]:
            seen[value] = (rank, self.sequence, quote)

    def ordered(self, kind: str) -> list[object]:
        """The values found for ``kind``, the most trustworthy (then the first seen) first."""
        seen = self.values.get(kind, {})
        return sorted(seen, key=lambda value: seen[value][:2])

    def wants(self, kind: str, value: object, rank: int) -> bool:
        """Whether ``value`` is new, or now seen in a more trustworthy spelling (quotes cost)."""
        seen = self.values.get(kind, {})
        return value not in seen or rank < seen[value][0]

    def quote(self, kind: str, value: object) -> str:
        return self.values.get(kind, {}).get(value, (0, 0, ""))[2]


def _alert_from_name(name: str) -> AlertDescription | None:
    """'handshake failure', 'HANDSHAKE_FAILURE', 'unknown certificate authority' → the enum."""
    words = re.split(r"[\s_]+", name.strip().lower())[:5]
    for length in range(len(words), 0, -1):
        phrase = " ".join(words[:length])
        if phrase in _GO_ALERT_NAMES:
            return _GO_ALERT_NAMES[phrase]
        member = AlertDescription.__members__.get(phrase.replace(" ", "_").upper())
        if member is not None:
            return member
    return None


def _alert_from_number(number: int) -> AlertDescription | None:
    try:
        return AlertDescription(number)
    except ValueError:
        return None


_MAX_MATCHES = 200  # per pattern: beyond that, a text only repeats itself


def _matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    for count, match in enumerate(pattern.finditer(text)):
        if count >= _MAX_MATCHES:
            return
        yield match


def _quote_at(text: str, match: re.Match[str]) -> str:
    """The line around ``match`` as a quote, cut near the match (lines can be a megabyte long)."""
    start, end = match.span()
    newline = text.rfind("\n", max(0, start - 300), start)
    low = newline + 1 if newline >= 0 else max(0, start - 300)
    newline = text.find("\n", end, end + 300)
    high = newline if newline >= 0 else min(len(text), end + 300)
    return _quote(text[low:high], (start - low, end - low))


def _extract(text: str, found: _Found) -> None:
    """Every signal spelled in the (redacted) text, each with the line it came from."""

    def add(kind: str, value: object, match: re.Match[str], rank: int) -> None:
        if found.wants(kind, value, rank):
            found.add(kind, value, _quote_at(text, match), rank)

    for rank, pattern in _CURL_CODE_PATTERNS:
        for match in _matches(pattern, text):
            code = int(match[1])
            if rank == 3 and code not in _TABLE_CURL_CODES:
                continue
            if 0 < code < 200:
                add("curl", code, match, rank)
    for match in _matches(_CURLE_NAME, text):
        if match[0] in CURLE_NAMES:
            add("curl", CURLE_NAMES[match[0]], match, 1)

    for pattern in _VERIFY_NUMBER_PATTERNS:
        for match in _matches(pattern, text):
            add("verify", int(match[1]), match, 0)
    for match in _matches(_VERIFY_CONTEXT, text):
        rest = text[match.end():match.end() + 80].lower()
        for words in _VERIFY_STRINGS_LONGEST_FIRST:
            if rest.startswith(words):
                add("verify", VERIFY_STRINGS[words], match, 1)
                break
    for match in _matches(_VERIFY_NAME, text):
        add("verify", VERIFY_NAMES[match[1]], match, 1)

    for pattern in _ALERT_NAME_PATTERNS:
        for match in _matches(pattern, text):
            alert = _alert_from_name(match[1])
            if alert is not None:
                add("alert", int(alert), match, 1)
    for match in _matches(_CURL_VERBOSE_ALERT, text):
        alert = _alert_from_number(int(match[1]) - 512)  # curl -v prints 512 + the description
        if alert is not None:
            add("alert", int(alert), match, 0)
    for pattern in (_OPENSSL_REASON_ALERT, _ALERT_NUMBER):
        for match in _matches(pattern, text):
            number = int(match[1])
            alert = _alert_from_number(number - 1000 if number >= 1000 else number)  # SSL_AD_REASON_OFFSET
            if alert is not None:
                add("alert", int(alert), match, 2)

    for match in _matches(_ERRNO_BRACKET, text):
        message = match[2].strip().rstrip(".:,").lower()
        name = _ERRNO_BY_MESSAGE.get(message) if message else _errno.errorcode.get(int(match[1]))
        if name:
            add("errno", name, match, 0)
    for match in _matches(_WINERROR, text):
        name = _WINSOCK.get(int(match[1]))
        if name:
            add("errno", name, match, 0)
    for match in _matches(_ERRNO_NAME, text):
        if match[1] in _ERRNO_NAMES:
            add("errno", match[1], match, 1)

    for pattern in _CONNECT_STATUS_PATTERNS:
        for match in _matches(pattern, text):
            add("connect_status", int(match[1]), match, 0)


def _extract_verbose_exchange(lines: list[str], found: _Found) -> None:
    """curl -v: the status after ``> CONNECT`` is the proxy's; later ones are the origin's."""
    after_connect = False
    for line in lines:
        if _VERBOSE_CONNECT.match(line):
            after_connect = True
            continue
        status = _VERBOSE_STATUS.match(line)
        if status is None:
            continue
        code = int(status[1])
        if after_connect:
            found.add("connect_status", code, _quote(line), 0)
            after_connect = code < 200  # an interim 1xx answer: the real one follows
        else:
            found.add("http_status", code, _quote(line), 0)


def _find_host(lines: Iterable[str]) -> tuple[str, str | None] | None:
    for pattern in _HOST_PATTERNS:
        for line in lines:
            match = pattern.search(line)
            if match:
                return match["host"], match.groupdict().get("port")
    return None


# -- JSON events ---------------------------------------------------------------------------------

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


def _parse_json_object(text: str) -> dict[str, object] | None:
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
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,6}\s*", value):
        return int(value)
    return None


def _walk_json(document: object, found: _Found, lines: list[str]) -> None:
    """Structured fields → signals; message-like strings → lines (redacted) for the table.

    Only keys that name a message are read as text: a Sentry event also holds breadcrumbs,
    request headers and source context, whose words are not the failure.
    """
    stack: list[tuple[str, object]] = [("", document)]
    nodes = 0
    while stack and nodes < _JSON_MAX_NODES:
        key, value = stack.pop()
        nodes += 1
        norm = re.sub(r"[^a-z0-9]", "", key.lower())
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


# -- ranking --------------------------------------------------------------------------------


def _signals(found: _Found, text_lines: list[str]) -> tuple[Signal, ...]:
    """One Signal with everything (so rows that need curl code *and* text can match), plus
    one per further value of a field (two verify results in one log, say)."""
    text = "\n".join(text_lines)
    fields = {"curl": "curl_code", "verify": "verify_result", "alert": "alert", "errno": "errno",
              "connect_status": "connect_status", "http_status": "http_status"}
    firsts = {name: (found.ordered(kind) or [None])[0] for kind, name in fields.items()}
    primary = Signal(text=text, **firsts)  # type: ignore[arg-type]
    signals = [primary] if (text or any(v is not None for v in firsts.values())) else []
    for kind, name in fields.items():
        for value in found.ordered(kind)[1:]:
            signals.append(Signal(text=text, **{name: value}))  # type: ignore[arg-type]
    return tuple(signals)


def _quote(line: str, span: tuple[int, int] | None = None) -> str:
    """One line as a quote: stripped, and cut around the match when it is long."""
    line = line.strip()
    if len(line) <= _QUOTE_CAP:
        return line
    if span is None:
        return line[:_QUOTE_CAP - 1] + "…"
    start = max(0, min(span[0] - 60, len(line) - _QUOTE_CAP))
    cut = line[start:start + _QUOTE_CAP]
    return ("…" if start else "") + cut + ("…" if start + _QUOTE_CAP < len(line) else "")


def _row_evidence(row: Row, found: _Found, text_lines: list[str]) -> Iterator[str]:
    """The quotes that made ``row`` match: one per condition it checks."""
    for kind, wanted in (("curl", row.curl), ("verify", row.verify), ("alert", row.alert), ("errno", row.errno)):
        if wanted:
            value = next((v for v in found.ordered(kind) if v in wanted), None)
            if value is not None:
                yield found.quote(kind, value)
    if row.connect_status is not None:
        value = next((v for v in found.ordered("connect_status") if v in row.connect_status), None)
        if value is not None:
            yield found.quote("connect_status", value)
    if row.text is not None:
        for line in text_lines:
            match = row.text.search(line)
            if match:
                yield _quote(line, match.span())
                break


def _rank(signals: tuple[Signal, ...], found: _Found, text_lines: list[str],
          host: tuple[str, str | None] | None) -> tuple[RankedCandidate, ...]:
    """Every code the table supports, scored by its strongest matching row.

    A code's score is the highest likelihood among the rows that matched (over all
    signals); ties go to the more specific row (more conditions met). Scores are then
    shares of one: divided by their sum when that exceeds 1, so that competing readings
    split the belief, while a lone weak reading stays weak.
    """
    scored: dict[str, tuple[float, int, int, list[Row]]] = {}
    order = 0
    for signal in signals:
        for candidate in classify(signal):
            for row in candidate.rows:
                order += 1
                key = (row.likelihood, row.specificity)
                if candidate.code not in scored:
                    scored[candidate.code] = (row.likelihood, row.specificity, order, [row])
                    continue
                likelihood, specificity, first, rows = scored[candidate.code]
                if not any(seen is row for seen in rows):
                    rows.append(row)
                if key > (likelihood, specificity):
                    scored[candidate.code] = (row.likelihood, row.specificity, first, rows)
    if not scored:
        return ()
    total = sum(entry[0] for entry in scored.values())
    scale = max(1.0, total)
    ranked = sorted(scored.items(), key=lambda item: (-item[1][0], -item[1][1], item[1][2]))
    result = []
    for code, (likelihood, _specificity, _order, rows) in ranked:
        rows = sorted(rows, key=lambda r: (r.likelihood, r.specificity), reverse=True)
        quotes: list[str] = []
        for row in rows:
            for quote in _row_evidence(row, found, text_lines):
                if quote and quote not in quotes:
                    quotes.append(quote)
        why = " | ".join(quotes[:_MAX_QUOTES]) or rows[0].why
        share = math.floor(round(likelihood / scale * 1000, 6)) / 1000  # floor: the shares never exceed 1
        result.append(RankedCandidate(code, share, why, check_for(code, host), rows[0].why))
    return tuple(result)


def check_for(code: str, host: tuple[str, str | None] | None = None) -> str:
    """The :data:`CHECKS` entry for ``code``, with HOST/PORT filled in when the input names them."""
    check = CHECKS.get(code, "run `tlsdoctor diagnose URL` on the affected machine")
    if host is not None:
        name, port = host
        check = re.sub(r"\bHOST\b", name, check)
        check = re.sub(r"\bPORT\b", port or "443", check)  # a URL without a port is https: 443
    return check


# -- the entry point -------------------------------------------------------------------------


def explain(text: str) -> Explanation:
    """Rank candidate root causes for a failure described by ``text``. Never raises.

    ``text`` is whatever the user has: ``curl -v`` output, a ``curl: (N)`` line, a
    traceback, an OpenSSL error, a JSON event (or JSON Lines: the first object is read).
    """
    try:
        return _explain(text)
    except Exception as error:  # noqa: BLE001 - user input must never crash the command
        return Explanation("text", (), (), (f"internal error while reading the input: {type(error).__name__}",))


def _explain(text: str) -> Explanation:
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    text = str(text)
    notes: list[str] = []
    if len(text) > MAX_INPUT_CHARS:
        notes.append(f"input truncated to its first {MAX_INPUT_CHARS} characters (of {len(text)})")
        text = text[:MAX_INPUT_CHARS]
    text = text.replace("\r\n", "\n").replace("\x00", "")

    found = _Found()
    document = _parse_json_object(text)
    if document is not None:
        kind = "json-event"
        raw_lines: list[str] = []
        _walk_json(document, found, raw_lines)
        inner_kind = detect_kind("\n".join(raw_lines))
        text_lines = _message_lines(raw_lines, inner_kind)
        all_lines = raw_lines
    else:
        kind = detect_kind(text)
        all_lines = redact(text).split("\n")
        text_lines = _message_lines(all_lines, kind)
        if kind == "curl-verbose":
            _extract_verbose_exchange(all_lines, found)
    # Signals are read from every line (a curl code can sit in a line the table need not
    # read), words for the table only from the message lines.
    _extract("\n".join(all_lines), found)

    host = _find_host(all_lines)
    signals = _signals(found, text_lines)
    candidates = _rank(signals, found, text_lines, host)
    return Explanation(kind, candidates, signals, tuple(notes), host[0] if host else None)

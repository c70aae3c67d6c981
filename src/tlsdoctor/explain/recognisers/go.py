"""Go: crypto/x509, crypto/tls and net/http (the words of every Go program: Docker, kubectl, Terraform...).

Go's messages are stable strings in its standard library (crypto/x509/verify.go,
crypto/tls/alert.go, net/http/transport.go); programs wrap them but rarely reword them.
"""

from __future__ import annotations

import re

from tlsdoctor.explain.recognisers.base import (
    BAD_USAGE, BUNDLE_MISSING, CIPHER, DATE_INVALID, EXPIRED, HANDSHAKE_TIMEOUT, NAME_MISMATCH, NOT_TLS,
    NOT_YET_VALID, NO_ANSWER, NO_NAME, PROTOCOL, REFUSED, REJECTED, RESET, TIMED_OUT, UNTRUSTED, WEAK_SIGNATURE, WRAPPER, Means,
    Pattern, Recogniser,
)
from tlsdoctor.explain.recognisers.openssl import alert_named


def _proxy_dial(match: re.Match[str]) -> Means:
    return Means(condition="proxy_unresolvable" if match[1] == "no such host" else "proxy_unreachable")


RECOGNISER = Recogniser(
    ecosystem="go",
    title="Go (crypto/x509, crypto/tls, net/http)",
    covers="Go 1.15–1.23 standard library messages, as printed by any Go program",
    phrases={
        "x509: certificate signed by unknown authority": UNTRUSTED,
        "certificate is not trusted": UNTRUSTED,  # Go on macOS: x509: “name” certificate is not trusted
        "x509: certificate has expired or is not yet valid": DATE_INVALID,
        "x509: certificate is valid for": NAME_MISMATCH,
        "x509: certificate is not valid for any names": NAME_MISMATCH,
        "x509: certificate relies on legacy common name field": NAME_MISMATCH,
        "x509: cannot validate certificate for": NAME_MISMATCH,
        "x509: certificate specifies an incompatible key usage": BAD_USAGE,
        "x509: signature algorithm": WEAK_SIGNATURE,
        "insecure algorithm": WEAK_SIGNATURE,
        "x509: certificate is not standards compliant": REJECTED,
        "tls: failed to verify certificate": Means(condition="cert_rejected", trust=WRAPPER),
        "tls: first record does not look like a tls handshake": NOT_TLS,
        "server gave http response to https client": NOT_TLS,
        "tls: no supported versions satisfy minversion and maxversion": PROTOCOL,
        "tls: server selected unsupported protocol version": PROTOCOL,
        "tls: no cipher suite supported by both client and server": CIPHER,
        "tls: handshake timeout": HANDSHAKE_TIMEOUT,
        "net/http: tls handshake timeout": HANDSHAKE_TIMEOUT,
        "i/o timeout": TIMED_OUT,
        "connect: connection refused": REFUSED,
        "read: connection reset by peer": RESET,
        # net/http's Transport: the answer to a request that went out is not HTTP/1.x.
        "malformed http response": NO_ANSWER,
        "no such host": NO_NAME,
        "x509: failed to load system roots": BUNDLE_MISSING,
        "proxyconnect tcp": Means(condition="proxy_failed", trust=WRAPPER),
        ": eof": Means(condition="connection_closed", trust=WRAPPER),
    },
    patterns=(
        Pattern(re.compile(r"remote error: tls: ([a-zA-Z ]{3,60})"), "remote error: tls", read=alert_named, trust=1),
        Pattern(re.compile(r"current time \S{1,40} is after"), "current time", read=lambda _m: EXPIRED, trust=1),
        Pattern(re.compile(r"current time \S{1,40} is before"), "current time", read=lambda _m: NOT_YET_VALID, trust=1),
        # net/http wraps the dial to the proxy in "proxyconnect tcp: ...": what follows is about
        # the proxy, not the origin (an errno phrase alone would read it as the origin's).
        Pattern(re.compile(r"proxyconnect tcp: [^\n]{0,300}?(connection refused|i/o timeout|connection reset|"
                           r"no route to host|no such host)"), "proxyconnect tcp", read=_proxy_dial, trust=1),
    ),
    markers=("x509: ", "remote error: tls", "net/http", "dial tcp", "proxyconnect"),
    input_kind="go",
)

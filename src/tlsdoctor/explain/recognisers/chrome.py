"""Chrome, Edge and every Chromium embedder (Electron, CEF, Puppeteer): ``NET::ERR_*``.

The interstitial shows ``NET::ERR_CERT_AUTHORITY_INVALID``; DevTools, Electron and
Puppeteer print ``net::ERR_...``; logs print the bare ``ERR_...``. Source:
net/base/net_error_list.h. Chrome's clock interstitial ("Your clock is behind") is the one
place a client says outright that the clock is wrong.
"""

from __future__ import annotations

import re

from tlsdoctor.explain.recognisers.base import (
    BAD_USAGE, CLIENT_CERT, CLOSED, DATE_INVALID, HANDSHAKE_FAILED, MITM, NAME_MISMATCH, NO_ANSWER, NO_NAME, PROTOCOL, PROXY_AUTH,
    PROXY_FAILED, REFUSED, REJECTED, RESET, REVOCATION_UNKNOWN, REVOKED, TIMED_OUT, UNTRUSTED, VERSION_OR_CIPHER,
    WEAK_KEY, WEAK_SIGNATURE, WRAPPER, Means, Pattern, Recogniser,
)

NET_ERRORS: dict[str, Means] = {
    "ERR_CERT_AUTHORITY_INVALID": UNTRUSTED,
    "ERR_CERT_COMMON_NAME_INVALID": NAME_MISMATCH,
    "ERR_CERT_DATE_INVALID": DATE_INVALID,
    "ERR_CERT_REVOKED": REVOKED,
    "ERR_CERT_INVALID": REJECTED,
    "ERR_CERT_WEAK_SIGNATURE_ALGORITHM": WEAK_SIGNATURE,
    "ERR_CERT_WEAK_KEY": WEAK_KEY,
    "ERR_CERT_UNABLE_TO_CHECK_REVOCATION": REVOCATION_UNKNOWN,
    "ERR_CERT_NO_REVOCATION_MECHANISM": REVOCATION_UNKNOWN,
    "ERR_CERT_NAME_CONSTRAINT_VIOLATION": REJECTED,
    "ERR_CERT_VALIDITY_TOO_LONG": REJECTED,
    "ERR_CERTIFICATE_TRANSPARENCY_REQUIRED": REJECTED,
    "ERR_CERT_SYMANTEC_LEGACY": UNTRUSTED,
    "ERR_CERT_KNOWN_INTERCEPTION_BLOCKED": MITM,
    "ERR_CERT_NON_UNIQUE_NAME": NAME_MISMATCH,
    "ERR_SSL_VERSION_OR_CIPHER_MISMATCH": VERSION_OR_CIPHER,
    "ERR_SSL_OBSOLETE_VERSION": PROTOCOL,
    "ERR_SSL_OBSOLETE_VERSION_OR_CIPHER": VERSION_OR_CIPHER,
    "ERR_SSL_PROTOCOL_ERROR": HANDSHAKE_FAILED,
    "ERR_SSL_VERSION_INTERFERENCE": CLOSED,
    "ERR_BAD_SSL_CLIENT_AUTH_CERT": CLIENT_CERT,
    "ERR_SSL_CLIENT_AUTH_CERT_NEEDED": CLIENT_CERT,
    "ERR_SSL_UNRECOGNIZED_NAME_ALERT": Means(alert=112),
    "ERR_SSL_PINNED_KEY_NOT_IN_CERT_CHAIN": Means(condition="pin_mismatch"),
    "ERR_SSL_SERVER_CERT_BAD_FORMAT": REJECTED,
    "ERR_SSL_KEY_USAGE_INCOMPATIBLE": BAD_USAGE,
    "ERR_SSL_DECRYPT_ERROR_ALERT": Means(alert=51),
    "ERR_SSL_BAD_RECORD_MAC_ALERT": Means(alert=20),
    "ERR_CONNECTION_RESET": RESET,
    "ERR_CONNECTION_REFUSED": REFUSED,
    "ERR_CONNECTION_TIMED_OUT": TIMED_OUT,
    "ERR_TIMED_OUT": TIMED_OUT,
    "ERR_CONNECTION_CLOSED": CLOSED,
    # After the request: no byte came back (-324), or bytes that are not HTTP (-370).
    "ERR_EMPTY_RESPONSE": NO_ANSWER,
    "ERR_INVALID_HTTP_RESPONSE": NO_ANSWER,
    "ERR_TOO_MANY_REDIRECTS": Means(condition="redirect_loop"),
    "ERR_NAME_NOT_RESOLVED": NO_NAME,
    "ERR_PROXY_CONNECTION_FAILED": PROXY_FAILED,
    "ERR_TUNNEL_CONNECTION_FAILED": PROXY_FAILED,
    "ERR_PROXY_AUTH_REQUESTED": PROXY_AUTH,
    "ERR_PROXY_AUTH_UNSUPPORTED": PROXY_AUTH,
    "ERR_PROXY_CERTIFICATE_INVALID": UNTRUSTED,
}

# The same errors by number, as Chromium's logs print them ("net_error -202"): net_error_list.h.
NET_ERROR_NUMBERS: dict[str, str] = {
    "-200": "ERR_CERT_COMMON_NAME_INVALID", "-201": "ERR_CERT_DATE_INVALID", "-202": "ERR_CERT_AUTHORITY_INVALID",
    "-206": "ERR_CERT_REVOKED", "-207": "ERR_CERT_INVALID", "-208": "ERR_CERT_WEAK_SIGNATURE_ALGORITHM",
    "-100": "ERR_CONNECTION_CLOSED", "-101": "ERR_CONNECTION_RESET", "-102": "ERR_CONNECTION_REFUSED",
    "-105": "ERR_NAME_NOT_RESOLVED", "-107": "ERR_SSL_PROTOCOL_ERROR", "-113": "ERR_SSL_VERSION_OR_CIPHER_MISMATCH",
    "-118": "ERR_CONNECTION_TIMED_OUT", "-310": "ERR_TOO_MANY_REDIRECTS", "-324": "ERR_EMPTY_RESPONSE", "-370": "ERR_INVALID_HTTP_RESPONSE",
}


def _net_error(match: re.Match[str]) -> Means | None:
    name = NET_ERROR_NUMBERS.get(match[1])
    return NET_ERRORS[name] if name else None


RECOGNISER = Recogniser(
    ecosystem="chrome",
    title="Chrome, Edge and Chromium embedders (Electron, CEF, Puppeteer)",
    covers="net_error_list.h codes as NET::ERR_*, net::ERR_* and bare ERR_*; the interstitials' English words",
    phrases={
        "your clock is behind": Means(condition="clock_wrong"),
        "your clock is ahead": Means(condition="clock_wrong"),
        "your connection is not private": Means(condition="cert_rejected", trust=WRAPPER),
        "your connection isn't private": Means(condition="cert_rejected", trust=WRAPPER),
        "this site can't provide a secure connection": Means(condition="handshake_failed", trust=WRAPPER),
        "this site can’t provide a secure connection": Means(condition="handshake_failed", trust=WRAPPER),
        "uses an unsupported protocol": VERSION_OR_CIPHER,
        "sent an invalid response": Means(condition="handshake_failed", trust=WRAPPER),
        "its security certificate is not trusted by your computer's operating system": UNTRUSTED,
        "its security certificate is from": NAME_MISMATCH,
        "its security certificate expired": Means(verify=10),
        "didn't accept your login certificate": CLIENT_CERT,
        "no matching issuer found": UNTRUSTED,  # cert_verify_proc_builtin's log
    },
    patterns=(Pattern(re.compile(r"net_error (-\d{3})\b"), "net_error", read=_net_error),),
    names={
        **{f"NET::{name}": meaning for name, meaning in NET_ERRORS.items()},
        **{f"net::{name}": meaning for name, meaning in NET_ERRORS.items()},
        **NET_ERRORS,
    },
    markers=("net::err_", "chrome", "chromium", "electron", "puppeteer"),
    input_kind="browser",
)

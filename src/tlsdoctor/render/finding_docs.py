"""The docs page of every finding code, generated from the code that detects it.

Each page joins what lives in different places of the code: the contract
(:mod:`tlsdoctor.findings`), the rules that emit the code and the question each answers
(:data:`tlsdoctor.judge.rules.RULES`), the signals ``explain`` reads it from
(:data:`tlsdoctor.classify.SIGNAL_TABLE`) and the check it suggests, the lab scenarios
that reproduce it, and the fix in words. ``tests/test_finding_docs.py`` regenerates the
pages and compares them with ``docs/findings/``, so docs and code cannot drift::

    python -m tlsdoctor.render.finding_docs docs/findings
"""

from __future__ import annotations

import sys
from pathlib import Path

from tlsdoctor.classify import SIGNAL_TABLE
from tlsdoctor.explain import CHECKS
from tlsdoctor.findings import FINDING_CODES
from tlsdoctor.judge.rules import RULES
from tlsdoctor.judge.verdict import RANK
from tlsdoctor.lab.scenarios import CATALOGUE

MEANING: dict[str, str] = {
    "ok": "The request works: DNS, TCP, TLS with this client's trust, and HTTP all succeed. Warnings may "
          "still say that something is fragile (a certificate about to expire, an interception whose CA is trusted).",
    "dns.name_not_resolved": "The resolver has no address for the host name: a typo, a name that only exists "
                             "inside a company network or VPN, or a broken DNS setting on this machine.",
    "tcp.refused": "The host answered, but nothing listens on that port: the server is down, or the port is wrong.",
    "tcp.timed_out": "TCP connection attempts get no answer at all: a firewall drops the packets, the host is down, "
                     "or the route to it is broken.",
    "tcp.reset": "The connection was reset before TLS began: a firewall or the server's own filter rejects it.",
    "proxy.unresolvable": "The configured proxy's host name does not resolve, so no request can leave.",
    "proxy.unreachable": "The configured proxy refuses or ignores connections: it is down, or the setting is stale.",
    "proxy.auth_required": "The proxy answers CONNECT with 407: it wants credentials the client does not send.",
    "proxy.connect_refused": "The proxy refuses to tunnel to this host or port (403, 405, 5xx to CONNECT): a policy, "
                             "or a port the proxy does not allow.",
    "proxy.upstream_failed": "The client reached the proxy, but the proxy itself could not reach or verify the "
                             "origin and answered with its own 502/504 page.",
    "tls.not_tls": "The peer answered the ClientHello in plain text: the port speaks HTTP (or something else), not "
                   "TLS. OpenSSL reports this as 'wrong version number'. The peer may be the proxy: a plain "
                   "HTTP proxy set as https:// (HTTPS_PROXY=https://...) gets the client's TLS, and answers 400. "
                   "Or nothing is at fault but the network: a captive portal (hotel, airport, guest Wi-Fi) or a "
                   "filtering gateway answers every connection with its own page, a redirect to its login or a 403, "
                   "where a server on a wrong port would answer 400.",
    "tls.protocol_mismatch": "Client and server share no TLS version: an old server (TLS 1.0/1.1 only) meets a "
                             "current client, or an old client (TLS ≤ 1.2) meets a TLS 1.3-only server.",
    "tls.cipher_mismatch": "Client and server share a TLS version but no cipher suite (or group, or signature "
                           "algorithm) acceptable to both.",
    "tls.handshake_alert": "The server aborted the handshake with a fatal TLS alert. The alert names what it "
                           "refused; a *fatal close_notify* before any negotiation is a server refusing this client.",
    "tls.client_cert_required": "The server demands a client certificate (a CertificateRequest, then the alert "
                                "certificate_required in TLS 1.3 or handshake_failure/bad_certificate in TLS 1.2) "
                                "and the client presents none, or one the server rejects.",
    "tls.abrupt_close": "The connection was closed or reset in the middle of the handshake, with no alert: a "
                        "middlebox (DPI firewall), a crashing TLS server, or one of either that cannot read a "
                        "ClientHello spanning two TCP segments (a post-quantum key share makes it ~1.5 KB: "
                        "https://tldr.fail).",
    "tls.handshake_timeout": "TCP connected, but the TLS handshake never completed: the server (or something in "
                             "between) swallowed the ClientHello.",
    "cert.expired": "A certificate of the chain is past its notAfter date (as a warning: it expires within 14 days).",
    "cert.not_yet_valid": "A certificate of the chain is before its notBefore date.",
    "cert.hostname_mismatch": "The certificate is valid, but not for this host name (or the name is only in the "
                              "subject CN, which strict clients no longer read).",
    "cert.self_signed": "The server presents a self-signed certificate: no CA vouches for it.",
    "cert.untrusted_root": "The chain leads to a root CA that no trust source on this machine holds.",
    "cert.incomplete_chain": "The server sends its certificate without the intermediate CA(s) that link it to a "
                             "trusted root. Browsers often hide this by fetching the intermediate; libcurl, Python "
                             "and most clients do not.",
    "cert.revoked": "The certificate was revoked by its CA: the stapled OCSP response, the OCSP responder or the "
                    "CRL says so.",
    "cert.revocation_unavailable": "The certificate's revocation status cannot be learnt: no OCSP staple, and the "
                                   "OCSP responder and CRL it names do not answer (or fail). A client that requires "
                                   "a status fails; a soft-failing one works, with this as a warning.",
    "cert.must_staple_missing": "The certificate carries the TLS Feature extension (OCSP must-staple), and the "
                                "server does not staple an OCSP response.",
    "cert.weak_signature": "A certificate is signed with SHA-1 or MD5, which current clients reject.",
    "cert.weak_key": "A certificate's key is too small: RSA below 2048 bits is refused by OpenSSL at security "
                     "level 2 (the default since OpenSSL 3.2).",
    "cert.bad_usage": "The certificate's key usage or extended key usage does not allow TLS server use (e.g. a "
                      "client-auth-only certificate).",
    "clock.skewed": "This machine's clock is wrong, and that alone makes a valid certificate look expired or not "
                    "yet valid. tlsdoctor compares the local time with the server's HTTP Date.",
    "trust.interception": "Something between client and server re-signs TLS with its own CA: antivirus HTTPS "
                          "scanning, a corporate inspection proxy, a debugging proxy.",
    "trust.store_mismatch": "One trust source on this machine trusts the chain (typically the OS store) and the one "
                            "the client uses (typically its bundled CA file) does not, or the reverse.",
    "trust.bundle_corrupt": "The client's CA file holds a broken certificate that breaks verification, e.g. a "
                            "damaged twin of a root (same subject and key, no CA flag) that OpenSSL finds first: "
                            "'invalid CA certificate'.",
    "trust.bundle_outdated": "The client's CA file is an old copy of a public store: it holds many of that store's "
                             "roots but not the (newer) one this server's chain leads to, which current stores "
                             "(certifi's, the OS's) hold.",
    "trust.bundle_missing": "The CA file the client is configured with is missing or unreadable (libcurl: 77).",
    "http2.negotiation_failed": "ALPN selected HTTP/2, and then HTTP/2 failed (garbage, a protocol error, a reset), "
                                "while HTTP/1.1 to the same server works.",
    "http.error": "TLS is fine; the server answered with an HTTP error status.",
    "http.timed_out": "TLS is fine, but the server's HTTP answer did not come, or not whole, within the timeout: "
                      "an application that hangs, or one that trickles its response a byte at a time.",
    "http.invalid_response": "The TLS handshake completes, the request goes out, and what comes back is not an "
                             "HTTP response: bytes that are not HTTP (a backend writing its own text into the "
                             "socket, a status line or header that does not parse), or nothing at all before the "
                             "server closed or reset the connection (curl 52, \"Empty reply from server\"), or "
                             "an answer that stops short of the length it announced (curl 18). "
                             "The server, or a middlebox behind TLS, breaks the answer; the certificate and the "
                             "TLS settings are fine.",
    "diagnosis.incomplete": "The diagnosis's deadline came before any probe could show the request succeeding or "
                            "failing (a server that stalls every probe); the diagnosis lists what it could not "
                            "check. It is never read as `ok`.",
}

FIX: dict[str, str] = {
    "ok": "Nothing to fix; read the warnings, if any.",
    "dns.name_not_resolved": "Check the host name, the machine's DNS servers, and whether the name needs a VPN.",
    "tcp.refused": "Start the server, or use the right port.",
    "tcp.timed_out": "Check firewalls on the path and on the host; try from another network. Where only some "
                     "clients time out, one of the host's addresses is dead: fix or remove its DNS record.",
    "tcp.reset": "Find the firewall or filter that resets; compare from another network.",
    "proxy.unresolvable": "Fix the proxy setting (`--proxy`, `https_proxy`, PAC) or the DNS that should resolve it.",
    "proxy.unreachable": "Start the proxy, fix its address, or remove a stale proxy setting.",
    "proxy.auth_required": "Configure the proxy credentials for this client (Negotiate/NTLM/Basic).",
    "proxy.connect_refused": "Ask the proxy's administrators to allow CONNECT to this host and port.",
    "proxy.upstream_failed": "Diagnose the origin from the proxy's side; the proxy's error page usually names why.",
    "tls.not_tls": "Use the HTTPS port, or enable TLS on the server's listener; a plain HTTP proxy set as "
    "https:// must be written http://; behind a captive portal, sign in to the network first.",
    "tls.protocol_mismatch": "Enable TLS 1.2 and 1.3 on the server; or update an old client's TLS library.",
    "tls.cipher_mismatch": "Enable modern suites on the server (TLS 1.3 AES-GCM/ChaCha20; ECDHE + AES-GCM for 1.2).",
    "tls.handshake_alert": "Read the server's TLS log for the alert it sent; fix what it refuses (SNI, client "
                           "certificate, version policy).",
    "tls.client_cert_required": "Configure the client certificate and key the server expects (libcurl: --cert/--key), "
                                "or make the server's client authentication optional for this endpoint.",
    "tls.abrupt_close": "Find the middlebox that drops the handshake; check the server's TLS process for crashes.",
    "tls.handshake_timeout": "Check the server's TLS listener and any DPI device in between.",
    "cert.expired": "Renew the certificate and automate renewal.",
    "cert.not_yet_valid": "Install a certificate that is valid now.",
    "cert.hostname_mismatch": "Use the name the certificate is for, or reissue it with this name in subjectAltName.",
    "cert.self_signed": "Use a certificate from a trusted CA, or pin this exact certificate in the client on purpose.",
    "cert.untrusted_root": "Add the private root to the client's CA file, or use a certificate from a public CA.",
    "cert.incomplete_chain": "Configure the server to send the full chain (leaf, then intermediates).",
    "cert.revoked": "Install a new certificate; never use the revoked one again.",
    "cert.revocation_unavailable": "Enable OCSP stapling on the server; make the OCSP responder and CRL reachable "
                                   "from the client (a proxy or firewall may block them).",
    "cert.must_staple_missing": "Enable OCSP stapling on the server, or reissue without must-staple.",
    "cert.weak_signature": "Reissue the certificate signed with SHA-256.",
    "cert.weak_key": "Reissue with an RSA 2048+ or ECDSA P-256 key.",
    "cert.bad_usage": "Reissue with extendedKeyUsage serverAuth and keyUsage digitalSignature.",
    "clock.skewed": "Set the system clock (enable network time); nothing needs to change on the server.",
    "trust.interception": "If the inspection is legitimate, add its CA to the client's CA file (or use the OS store); "
                          "otherwise remove the product or exclude the host.",
    "trust.store_mismatch": "Make the client use the OS store (truststore, CURLSSLOPT_NATIVE_CA) or add the CA to "
                            "its CA file.",
    "trust.bundle_corrupt": "Remove the broken entry tlsdoctor names, or regenerate the CA file from a clean source.",
    "trust.bundle_outdated": "Update the shipped CA file (a current certifi), or make the client use the OS store too.",
    "trust.bundle_missing": "Ship or point to a readable CA file; fix SSL_CERT_FILE/CURL_CA_BUNDLE.",
    "http2.negotiation_failed": "Fix HTTP/2 on the server or proxy, or stop offering h2 there; HTTP/1.1 works meanwhile.",
    "http.error": "A server-side issue: see the server's logs for that status.",
    "http.timed_out": "A server-side issue: see why the application does not answer (its logs, its upstreams); "
                      "clients meanwhile fail with a timeout (curl 28).",
    "http.invalid_response": "A server-side issue: see the server's (or its load balancer's) logs for the "
                             "connection that closed or the answer it wrote; a crashing worker or a backend that "
                             "speaks another protocol on that port are the usual causes.",
    "diagnosis.incomplete": "Run the diagnosis again with a longer --timeout, and look at what it could not check.",
}

assert set(MEANING) == set(FINDING_CODES) == set(FIX), "every finding code needs a page"


def page(code: str) -> str:
    entry = FINDING_CODES[code]
    lines = [
        f"# `{code}`",
        "",
        f"**{entry.summary[0].upper() + entry.summary[1:]}.**",
        "",
        "| libcurl code | NEL type | rank among root causes |",
        "|---|---|---|",
        f"| {entry.curl} | `{entry.nel_type}` | {RANK[code]} |",
        "",
        "## What it means",
        "",
        MEANING[code],
        "",
        "## How tlsdoctor detects it",
        "",
    ]
    rules = [r for r in RULES if code in r.emits]
    if rules:
        lines.append("`tlsdoctor diagnose` — the rules that can conclude it (`tlsdoctor/judge/rules/`):")
        lines.append("")
        lines += [f"- `{r.name}` ({r.module.rsplit('/', 1)[-1]}): {r.question}" for r in rules]
    elif code == "ok":
        lines.append("`tlsdoctor diagnose` concludes `ok` when no rule finds an error.")
    lines += ["", "`tlsdoctor explain` — the signals it reads this code from (`tlsdoctor/classify/table.py`):", ""]
    rows = [row for row in SIGNAL_TABLE if row.code == code]
    lines += [f"- {_conditions(row)} (likelihood {row.likelihood:g}): {row.why}" for row in rows] or [
        "- none: only a live diagnosis can conclude it."]
    lines += ["", f"To confirm by hand: {CHECKS[code]}", "", "## How to fix it", "", FIX[code], ""]
    scenarios = [s for s in CATALOGUE if s.code == code or code in s.warnings]
    if scenarios:
        lines += ["## Reproduce it", "", "In the lab (`tlsdoctor lab --only ID`, or the pytest fixture "
                  "`tls_scenario`):", ""]
        lines += [f"- `{s.id}`: {s.description}" + (" (as a warning)" if code in s.warnings else "")
                  for s in scenarios]
        lines.append("")
    return "\n".join(lines)


def _conditions(row: object) -> str:
    parts = []
    for name in ("curl", "verify", "alert", "errno"):
        values = getattr(row, name)
        if values:
            parts.append(f"{name} {'/'.join(str(v) for v in sorted(values))}")
    if row.connect_status is not None:  # type: ignore[attr-defined]
        r = row.connect_status  # type: ignore[attr-defined]
        parts.append(f"CONNECT status {r.start}–{r.stop - 1}")
    if getattr(row, "condition", None):
        parts.append(f"condition {'/'.join(sorted(row.condition))}")  # type: ignore[attr-defined]
    if row.text is not None:  # type: ignore[attr-defined]
        pattern = row.text.pattern  # type: ignore[attr-defined]
        parts.append(f"text ~ `{pattern[:70]}{'…' if len(pattern) > 70 else ''}`".replace("|", "\\|"))
    return ", ".join(parts)


def index() -> str:
    lines = ["# Finding codes", "", "One page per code of [`findings.md`](../spec/findings.md), "
             "generated from the code (`python -m tlsdoctor.render.finding_docs docs/findings`).", "",
             "| code | root cause |", "|---|---|"]
    lines += [f"| [`{c}`]({c}.md) | {e.summary} |" for c, e in FINDING_CODES.items()]
    return "\n".join(lines) + "\n"


def pages() -> dict[str, str]:
    out = {f"{code}.md": page(code) for code in FINDING_CODES}
    out["README.md"] = index()
    return out


def write(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in pages().items():
        (directory / name).write_text(text)


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/findings"))

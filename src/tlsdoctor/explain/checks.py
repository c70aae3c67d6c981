"""How to confirm each finding code by hand: one check per code (a test checks none is missing).

HOST and PORT are replaced with the origin named in the input, when there is one.
"""

from __future__ import annotations

import re

CHECKS: dict[str, str] = {
    "ok": "nothing to confirm here; if it fails elsewhere, run `tlsdoctor diagnose URL` on the affected machine",
    "dns.name_not_resolved": "resolve the name on the affected machine: `getent hosts HOST` (or `nslookup HOST`), "
    "and against another resolver: `dig @1.1.1.1 HOST`",
    "tcp.refused": "test the port from the affected machine: `nc -vz HOST PORT`; check that the service listens "
    "there and that no firewall rejects it",
    "tcp.timed_out": "`nc -vz -w 5 HOST PORT` from the affected machine; a silent drop is a firewall or a wrong "
    "route, `traceroute -T -p PORT HOST` shows where it stops. If curl or a browser works there, `getent ahosts "
    "HOST` lists several addresses and one is dead (often IPv6): `tlsdoctor diagnose https://HOST/` names it",
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
    "HTTP answers, the port or the scheme is wrong; through a proxy set as https:// (`env | grep -i _proxy`), "
    "the same against the proxy's port: a plain HTTP proxy must be written http://. A 302 to a login page, or a "
    "403 page, instead of the 400 a server on a wrong port gives, is a captive portal (hotel, guest Wi-Fi) or a "
    "filter: `tlsdoctor diagnose https://HOST/` says which",
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
    "another network: a close right after ClientHello on one network only is a middlebox; the same with "
    "`-groups X25519` (a small hello): if only that works, the peer cannot read a ClientHello over one TCP "
    "segment (https://tldr.fail)",
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
    "http.invalid_response": "`curl -v https://HOST/ -o /dev/null`: the TLS handshake completes, then curl "
    "reports \"Empty reply from server\" (52), \"Weird server reply\" or a header it cannot read (8), or an "
    "answer that is not HTTP/1.x (1); `openssl s_client -connect HOST:443 -servername HOST` and a typed "
    "`HEAD / HTTP/1.1` show the raw bytes",
    "diagnosis.incomplete": "`tlsdoctor diagnose --timeout 15 URL`, and `curl -v --max-time 30 https://HOST/` "
    "from the affected machine",
}


_HOST = re.compile(r"\bHOST\b")
_PORT = re.compile(r"\bPORT\b")


def check_for(code: str, host: tuple[str, str | None] | None = None) -> str:
    """The :data:`CHECKS` entry for ``code``, with HOST/PORT filled in when the input names them."""
    check = CHECKS.get(code, "run `tlsdoctor diagnose URL` on the affected machine")
    if host is not None:
        name, port = host
        check = _HOST.sub(lambda _m: name, check)
        check = _PORT.sub(lambda _m: port or "443", check)  # a URL without a port is https: 443
    return check

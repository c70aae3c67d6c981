"""The one table's rows: every reading of a signal, each with its likelihood and its words.

Grouped by layer (names and connections, TLS handshake, certificates, HTTP, conditions read
in other clients' words); order within a group does not matter, :func:`tlsdoctor.classify.classify`
ranks matches by specificity, then likelihood.
"""

from __future__ import annotations

import functools

from tlsdoctor import verify_codes as vc
from tlsdoctor.classify.grammar import Row
from tlsdoctor.classify.grammar import row as _row

V_NOT_YET_VALID, V_EXPIRED = vc.X509_V_ERR_CERT_NOT_YET_VALID, vc.X509_V_ERR_CERT_HAS_EXPIRED
V_SELF_SIGNED_LEAF = vc.X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
V_SELF_SIGNED_IN_CHAIN = vc.X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
V_NO_LOCAL_ISSUER = vc.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
V_UNVERIFIABLE_LEAF = vc.X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
V_UNABLE_TO_GET_ISSUER = vc.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
V_REVOKED, V_INVALID_PURPOSE = vc.X509_V_ERR_CERT_REVOKED, vc.X509_V_ERR_INVALID_PURPOSE
V_INVALID_CA, V_INVALID_CA_OLD = vc.X509_V_ERR_INVALID_CA, vc.X509_V_ERR_INVALID_CA_OPENSSL1
V_HOSTNAME_MISMATCH, V_IP_MISMATCH = vc.X509_V_ERR_HOSTNAME_MISMATCH, vc.X509_V_ERR_IP_ADDRESS_MISMATCH
V_EE_KEY_TOO_SMALL, V_CA_KEY_TOO_SMALL = vc.X509_V_ERR_EE_KEY_TOO_SMALL, vc.X509_V_ERR_CA_KEY_TOO_SMALL
V_CA_MD_TOO_WEAK = vc.X509_V_ERR_CA_MD_TOO_WEAK

# TLS alert descriptions (RFC 8446 §6)
A_CLOSE_NOTIFY, A_HANDSHAKE_FAILURE, A_PROTOCOL_VERSION, A_INSUFFICIENT_SECURITY = 0, 40, 70, 71
A_CERTIFICATE_REQUIRED = 116

# Readings of a pinned key missing from the chain (condition pin_mismatch, libcurl's 90).
_PIN_READINGS = (
    ("trust.interception", 0.6, "a pinned key missing from the chain is, in the field, mostly an inspecting "
     "proxy or antivirus re-signing the traffic"),
    ("cert.untrusted_root", 0.2, "or the server changed its key or CA and the pins are stale"),
)
_AT_PROXY = r"at the HTTPS proxy: its own certificate"  # client/errors.AT_PROXY, as the curl stack adds it
_TLS_CURL = (35,)
_CERT_CURL = (60,)

@functools.cache
def _signal_table() -> tuple[Row, ...]:
    # Built on first use (the module attribute SIGNAL_TABLE reads it, PEP 562): ~155 rows
    # and their frozensets were ~5 ms of every diagnosis that never classified anything, a
    # healthy server's among them (issue 9).
    return (
        # -- names and connections -----------------------------------------------------------
        _row("proxy.unresolvable", 0.95, "libcurl could not resolve the proxy's name", curl=(5,)),
        _row("dns.name_not_resolved", 0.95, "libcurl could not resolve the host name", curl=(6,)),
        _row("dns.name_not_resolved", 0.9, "the resolver has no address for the name",
             text=r"Name or service not known|nodename nor servname|getaddrinfo failed|Could not resolve host|"
                  r"NXDOMAIN|No address associated"),
        _row("proxy.unresolvable", 0.9, "the proxy's name does not resolve", text=r"Could not resolve proxy"),
        _row("proxy.auth_required", 0.95, "the proxy answered CONNECT with 407", connect_status=range(407, 408)),
        _row("proxy.connect_refused", 0.9, "the proxy refused the CONNECT", connect_status=range(400, 407)),
        _row("proxy.connect_refused", 0.9, "the proxy refused the CONNECT", connect_status=range(408, 600)),
        _row("proxy.auth_required", 0.97, "libcurl: the proxy answered CONNECT with 407",
             text=r"CONNECT tunnel failed, response 407|Proxy Authentication Required|\b407\b[^\n]{0,300}proxy"),
        # Windows' integrated login: browsers answer it as the logged-in user; curl, libcurl and
        # Python only when told (a proxy URL's credentials go as Basic).
        _row("proxy.auth_required", 0.98, "the proxy offers NTLM/Negotiate (Windows' integrated login): browsers "
             "log in as the Windows user by themselves, curl and Python only when told (curl --proxy-negotiate "
             "-U : or --proxy-ntlm; a proxy URL's credentials go as Basic)",
             text=r"Proxy-Authenticate: (NTLM|Negotiate|Kerberos)\b"),
        _row("proxy.connect_refused", 0.95, "libcurl: the proxy refused the CONNECT",
             text=r"CONNECT tunnel failed, response (40[0-69]|4[1-9]\d|5\d\d)|Tunnel connection failed: (403|405|5\d\d)"),
        # A SOCKS proxy's refusals: libcurl's 97 (CURLE_PROXY, 7.73+), RFC 1928's reply code in parentheses.
        _row("proxy.auth_required", 0.9, "the SOCKS proxy wants credentials (no method without them is acceptable)",
             curl=(97,), text=r"No authentication method was acceptable|User was rejected by the SOCKS5 server|"
                              r"SOCKS5 (GSSAPI )?authentication"),
        _row("proxy.connect_refused", 0.85, "the SOCKS proxy refused to connect to that host or port",
             curl=(97,), text=r"SOCKS5? connection to [^\n]{0,300}\((2|3|4|5|6)\)|SOCKS4 connection to [^\n]{0,300}"
                              r"(rejected|failed)"),
        _row("proxy.connect_refused", 0.5, "the SOCKS proxy handshake failed", curl=(97,)),
        # SOCKS4's 92 and 93: the proxy checks users with the client machine's identd (RFC 1413).
        _row("proxy.auth_required", 0.9, "the SOCKS4 proxy could not confirm the user with the client's identd "
             "(SOCKS4 has no passwords: use its SOCKS5 side with credentials)",
             text=r"SOCKS4 connection to [^\n]{0,300}\((92|93)\)|cannot connect to identd|identd .{0,40}(differ|report)"),
        # Python's SOCKS clients say the same in their words: httpx/httpcore (socksio) and PySocks
        # (requests[socks], urllib3.contrib.socks).
        _row("proxy.auth_required", 0.9, "the SOCKS proxy wants credentials (no method without them is acceptable)",
             text=r"from proxy server, but got NO ACCEPTABLE METHODS|All offered authentication methods were rejected"
                  r"|SOCKS5 authentication failed"),
        _row("proxy.connect_refused", 0.85, "the SOCKS proxy refused to connect to that host or port",
             text=r"Proxy Server could not connect: |0x0[2-6]: (Connection not allowed by ruleset|Network unreachable|"
                  r"Host unreachable|Connection refused|TTL expired)"),
        _row("proxy.unreachable", 0.8, "libcurl could not connect to the proxy",
             curl=(7,), text=r"Failed to connect to \S{0,253}proxy\S{0,253} port \d{1,5}|proxy[^\n]{0,120}(refused|Could not connect)"),
        # libcurl 8 also reports a refused CONNECT as 7, hence not higher.
        _row("tcp.refused", 0.75, "nothing accepts connections there", curl=(7,)),
        # curl -v shows the address it tried: 0.0.0.0 is no server, it is a DNS filter's "blocked".
        _row("tcp.refused", 0.9, "the name resolved to 0.0.0.0 (or ::): a DNS filter or hosts file blocks it "
             "(Pi-hole, AdGuard, NextDNS, an ad-blocker, a corporate DNS policy)",
             text=r"Trying (0\.0\.0\.0|\[?::\]?):\d{1,5}|Connected to \S+ \((0\.0\.0\.0|::)\)"),
        # localhost is ::1 first on current systems (Node.js 17+ takes the resolver's order, nodejs/node#39987):
        # a server that listens on 127.0.0.1 only refuses the client that asks ::1 (nodejs/node#40537).
        _row("tcp.refused", 0.95, "refused at ::1, IPv6's loopback: localhost resolves there first, and a server "
             "listening on 127.0.0.1 only refuses it (listen on :: or both, use 127.0.0.1 in the URL, or Node's "
             "--dns-result-order=ipv4first)",
             text=r"ECONNREFUSED (::1|\[::1\]):\d{1,5}|connect to ::1 port \d{1,5}[^\n]{0,60}refused"),
        _row("tcp.refused", 0.9, "the connection was refused", errno=("ECONNREFUSED",)),
        _row("tcp.refused", 0.8, "the connection was refused", text=r"Connection refused|ConnectionRefusedError|Errno 111"),
        _row("tcp.timed_out", 0.6, "the request timed out (before or during TLS)", curl=(28,)),
        _row("tcp.timed_out", 0.55, "libcurl timed out while connecting (its connect phase includes TLS)",
             curl=(28,), text=r"Connection timed out after|Failed to connect[^\n]{0,300}Timeout|connect[^\n]{0,300}timed out"),
        _row("tls.handshake_timeout", 0.85, "the TLS handshake did not finish in time",
             text=r"handshake operation timed out|SSL connection timeout|TLS handshake timeout|Operation timed out after [^\n]{0,300}SSL"),
        _row("tcp.timed_out", 0.7, "the connection timed out", errno=("ETIMEDOUT",)),
        _row("tcp.reset", 0.5, "the connection was reset", errno=("ECONNRESET",)),
        # -- TLS handshake ---------------------------------------------------------------------
        # An https:// proxy URL for a plain HTTP proxy: the client's TLS to the proxy gets "400 Bad
        # Request" in plain text (urllib3 >= 1.26 says "Unable to connect to proxy"; curl -v names the
        # proxy variable, or "Connected to" the proxy, before the ClientHello).
        _row("tls.not_tls", 0.95, "the proxy is set as https:// but speaks plain HTTP: the client's TLS to the "
             "proxy got a plain-text answer (write the proxy as http://)",
             text=r"Unable to connect to proxy[^\n]{0,400}wrong[ _]version[ _]number|"
                  r"proxy[^\n]{0,60}'https://[^\n]{0,200}'[\s\S]{0,3000}wrong version number|"
                  r"--proxy https://[\s\S]{0,3000}wrong version number"),
        # The tunnel was up (CONNECT 200), and plain text came where a ServerHello should: most often
        # a filtering proxy's block page sent inside the tunnel, not the server (diagnose compares
        # with a handshake that avoids the proxy).
        _row("proxy.connect_refused", 0.9, "the proxy accepted CONNECT, then plain text came where the server's "
             "ServerHello should: a filtering proxy's block page (or a server on a port without TLS)",
             text=r"CONNECT tunnel established, response 200[\s\S]{0,3000}wrong version number|"
                  r"HTTP/1\.[01] 200 Connection established[\s\S]{0,3000}wrong version number"),
        _row("proxy.connect_refused", 0.15, "through a proxy, the plain text may be its block page inside the "
             "tunnel", text=r"wrong version number|WRONG_VERSION_NUMBER"),
        _row("tls.not_tls", 0.9, "the first bytes back were not a TLS record (HTTP on the TLS port?)",
             text=r"wrong version number|WRONG_VERSION_NUMBER|packet length too long|http request|record layer failure"),
        _row("tls.protocol_mismatch", 0.9, "no TLS version acceptable to both",
             text=r"alert protocol version|unsupported protocol|UNSUPPORTED_PROTOCOL|no protocols available|"
                  r"TLSV1_ALERT_PROTOCOL_VERSION|version too low|tlsv1 alert protocol"),
        _row("tls.protocol_mismatch", 0.85, "the peer sent a protocol_version alert", alert=(A_PROTOCOL_VERSION,)),
        # OpenSSL 3 refuses a TLS 1.2 server without RFC 5746's renegotiation_info (2010); OpenSSL
        # 1.1, Go, Java and schannel still connect: "it works from the old machine".
        _row("tls.protocol_mismatch", 0.95, "the server's TLS 1.2 lacks secure renegotiation (RFC 5746), which "
             "OpenSSL 3 clients refuse; fix the server, or allow it in a client you control "
             "(UnsafeLegacyServerConnect, Python's ssl.OP_LEGACY_SERVER_CONNECT)",
             text=r"unsafe legacy renegotiation|UNSAFE_LEGACY_RENEGOTIATION|0A000152"),
        _row("tls.cipher_mismatch", 0.9, "no cipher suite acceptable to both",
             text=r"no shared cipher|no ciphers available|NO_SHARED_CIPHER|no suitable signature algorithm|"
                  r"no suitable key share|insufficient security"),
        _row("tls.cipher_mismatch", 0.85, "no cipher suite or signature algorithm acceptable to both",
             text=r"NO_CIPHERS_AVAILABLE|NO_SHARED_SIGNATURE_ALGORITHMS|no shared signature algorithms|"
                  r"NO_SUITABLE_SIGNATURE_ALGORITHM"),
        _row("tls.cipher_mismatch", 0.6, "an insufficient_security alert", alert=(A_INSUFFICIENT_SECURITY,)),
        _row("tls.handshake_alert", 0.6, "the peer refused the handshake with handshake_failure "
             "(often a cipher or protocol policy refusal)",
             text=r"alert handshake failure|SSLV3_ALERT_HANDSHAKE_FAILURE|handshake_failure"),
        _row("tls.handshake_alert", 0.6, "the peer sent a fatal handshake_failure alert", alert=(A_HANDSHAKE_FAILURE,)),
        _row("tls.cipher_mismatch", 0.5, "handshake_failure is what OpenSSL servers send when no cipher is shared",
             text=r"alert handshake failure|SSLV3_ALERT_HANDSHAKE_FAILURE|handshake_failure"),
        _row("tls.cipher_mismatch", 0.5, "handshake_failure is what OpenSSL servers send when no cipher is shared",
             alert=(A_HANDSHAKE_FAILURE,)),
        # TLS 1.2 has no certificate_required alert: an OpenSSL server that wanted a client
        # certificate and got none ends with handshake_failure (RFC 5246 §7.4.6).
        _row("tls.client_cert_required", 0.35, "a TLS 1.2 server that demands a client certificate and gets none "
             "sends handshake_failure", text=r"alert handshake failure|SSLV3_ALERT_HANDSHAKE_FAILURE|handshake_failure"),
        _row("tls.client_cert_required", 0.35, "a TLS 1.2 server that demands a client certificate and gets none "
             "sends handshake_failure", alert=(A_HANDSHAKE_FAILURE,)),
        _row("tls.client_cert_required", 0.95, "the server's alert certificate_required (TLS 1.3): it wants a client "
             "certificate", alert=(A_CERTIFICATE_REQUIRED,)),
        _row("tls.client_cert_required", 0.9, "the server wants a client certificate the client did not send",
             text=r"alert certificate required|CERTIFICATE_REQUIRED|peer did not return a certificate|"
                  r"PEER_DID_NOT_RETURN_A_CERTIFICATE"),
        # Before the certificate rows' "key too small": this key is the server's DH group, not a certificate's.
        _row("tls.cipher_mismatch", 0.9, "the server's finite-field DH group is smaller than the client accepts "
             "(OpenSSL: 2048 bits at security level 2)", text=r"dh key too small|DH_KEY_TOO_SMALL"),
        _row("tls.handshake_alert", 0.8, "a fatal close_notify during the handshake (OpenSSL: reason(1000))",
             text=r"reason\(1000\)|0A0003E8|alert close notify|\[SSL\] unknown error"),
        _row("tls.handshake_alert", 0.8, "a fatal close_notify alert", alert=(A_CLOSE_NOTIFY,)),
        _row("tls.handshake_alert", 0.85, "the server has no site for the name the client sent, or for none (a URL "
             "with an IP address sends no SNI): unrecognized_name", text=r"unrecognized name|UNRECOGNIZED_NAME"),
        _row("tls.handshake_alert", 0.85, "the server has no site for the name the client sent, or for none (a URL "
             "with an IP address sends no SNI): unrecognized_name", alert=(112,)),
        _row("tls.handshake_alert", 0.7, "the peer sent a fatal TLS alert",
             text=r"(tlsv1|sslv3|ssl/tls|tlsv13|tls) alert [a-z ]+|SSL alert number \d+"),
        _row("tls.abrupt_close", 0.8, "the peer closed mid-handshake without an alert",
             text=r"unexpected eof while reading|UNEXPECTED_EOF|EOF occurred in violation of protocol|"
                  r"SSL_ERROR_SYSCALL|Connection closed abruptly|handshake[^\n]{0,300}EOF"),
        _row("tls.abrupt_close", 0.7, "the peer reset the connection during the handshake",
             curl=_TLS_CURL, text=r"Connection reset by peer|Recv failure|ECONNRESET"),
        # A reset *after* TCP connected is mostly a middlebox killing the handshake (a reset
        # before TLS usually shows as a refused connection instead), hence above tcp.reset.
        _row("tls.abrupt_close", 0.55, "the connection was reset mid-handshake",
             text=r"Connection reset by peer|ConnectionResetError|Errno 104|ECONNRESET"),
        _row("trust.bundle_corrupt", 0.7, "OpenSSL rejected a certificate's extensions while loading the CA file "
             "(X509 V3 routines: invalid certificate)",
             text=r"1100009E|X509 V3 routines::invalid certificate|x509v3[^\n]{0,300}invalid certificate"),
        _row("trust.bundle_corrupt", 0.5, "a certificate block of the CA file could not be parsed (Python's ssl: "
             "PEM lib)", text=r"\[X509\] PEM lib|\[X509: PEM_LIB\]"),
        # Not one certificate in the file: it is empty, or not PEM at all (UTF-16 text, DER, PKCS#7, a key),
        # which is a file the client cannot use, not a broken entry in a usable one.
        _row("trust.bundle_missing", 0.8, "OpenSSL found no certificate in the CA file (empty, or not PEM "
             "certificates: UTF-16 text, DER, PKCS#7, a key)", text=r"NO_CERTIFICATE_OR_CRL_FOUND|no certificate or crl found"),
        _row("tls.handshake_alert", 0.4, "a TLS connect error libcurl could not name better", curl=_TLS_CURL),
        _row("tls.handshake_timeout", 0.5, "TCP connected but the TLS handshake stalled",
             curl=(28,), text=r"SSL|TLS|handshake"),
        _row("tls.handshake_timeout", 0.9, "TCP was connected when the handshake timed out (tlsdoctor's client "
             "adds this from libcurl's timings)", curl=(28,), text=r"TCP connected; the TLS handshake timed out"),
        _row("http.timed_out", 0.9, "the connection and TLS were up when the request timed out: the answer was late "
             "(tlsdoctor's client adds this from its stack's timings)", curl=(28,),
             text=r"the connection and TLS were up; the HTTP answer did not come in time"),
        _row("http.timed_out", 0.9, "the connection and TLS were up when the request timed out: the answer was late",
             text=r"the connection and TLS were up; the HTTP answer did not come in time"),
        _row("http.invalid_response", 0.85, "the connection and TLS were up when the server reset it, before any answer "
             "(tlsdoctor's client adds this from libcurl's timings)", curl=(55, 56),
             text=r"the connection and TLS were up; the server reset it before answering"),
        # libcurl 8 says "Connection timed out after" while it connects (TCP, a proxy's CONNECT and the TLS
        # handshake alike: lib/multi.c), and "Operation timed out after N milliseconds with N bytes received"
        # only past that phase: the request was sent and the answer (or its end) was late. libcurl 7
        # said the latter for some stalled handshakes too, hence not higher.
        _row("http.timed_out", 0.75, "libcurl timed out after its connect phase (TCP and TLS up, the request "
             "sent): the server's answer was late", curl=(28,),
             text=r"Operation timed out after \d+ milliseconds with \d+ (out of -?\d+ )?bytes received"),
        # curl -v prints "SSL connection using ..." once the handshake is done: a 28 after it is a late answer.
        _row("http.timed_out", 0.85, "the TLS connection was up (curl -v: 'SSL connection using') when the request "
             "timed out: the server's answer was late", curl=(28,), text=r"SSL connection using"),
        _row("tls.handshake_timeout", 0.45, "libcurl's connect timeout also covers a stalled TLS handshake",
             curl=(28,), text=r"Connection timed out after"),
        # -- certificates ------------------------------------------------------------------------
        _row("cert.expired", 0.7, "a certificate in the chain has expired (or the local clock is ahead)",
             verify=(V_EXPIRED,)),
        # Not Go's "certificate has expired or is not yet valid", which says neither: its recogniser
        # reads which from "current time ... is after/before" (as the not-yet-valid row below skips it).
        _row("cert.expired", 0.7, "a certificate has expired (or the local clock is ahead)",
             text=r"certificate has expired(?! or is not yet valid)|certificate expired|CERTIFICATE_EXPIRED"),
        _row("cert.not_yet_valid", 0.7, "a certificate is not valid yet (or the local clock is behind)",
             verify=(V_NOT_YET_VALID,)),
        _row("cert.not_yet_valid", 0.7, "a certificate is not valid yet (or the local clock is behind)",
             text=r"certificate is not yet valid|(?<!or is )not yet valid"),
        _row("clock.skewed", 0.3, "date errors are often the local clock, not the certificate",
             verify=(V_EXPIRED, V_NOT_YET_VALID)),
        _row("clock.skewed", 0.3, "date errors are often the local clock, not the certificate",
             text=r"certificate has expired|not yet valid|system clock"),
        _row("cert.self_signed", 0.9, "the server's own certificate is self-signed", verify=(V_SELF_SIGNED_LEAF,)),
        _row("cert.self_signed", 0.85, "the server's certificate is self-signed",
             text=r"self[- ]signed certificate(?! in)|DEPTH_ZERO_SELF_SIGNED"),
        _row("cert.untrusted_root", 0.6, "the chain ends at a root the client does not trust",
             verify=(V_SELF_SIGNED_IN_CHAIN,)),
        _row("cert.untrusted_root", 0.6, "the chain ends at a root the client does not trust",
             text=r"self[- ]signed certificate in certificate chain|SELF_SIGNED_CERT_IN_CHAIN"),
        _row("cert.untrusted_root", 0.35, "no trusted issuer: an unknown root", verify=(V_NO_LOCAL_ISSUER,)),
        _row("cert.incomplete_chain", 0.3, "no trusted issuer: perhaps a missing intermediate",
             verify=(V_NO_LOCAL_ISSUER, V_UNVERIFIABLE_LEAF, V_UNABLE_TO_GET_ISSUER)),
        # Apps that ship their own CA file meet this whenever a CA moves to a newer root (the
        # 2021 Let's Encrypt root change): the file predates the root the server now chains to.
        _row("trust.bundle_outdated", 0.15, "no trusted issuer: perhaps the app's CA file is an old copy that lacks a "
             "newer root", verify=(V_NO_LOCAL_ISSUER,)),
        _row("trust.interception", 0.2, "no trusted issuer: perhaps a TLS-inspecting proxy or antivirus",
             verify=(V_NO_LOCAL_ISSUER, V_SELF_SIGNED_IN_CHAIN)),
        _row("trust.store_mismatch", 0.15, "no trusted issuer: perhaps the CA is in the OS store, not the app's CA file",
             verify=(V_NO_LOCAL_ISSUER, V_SELF_SIGNED_IN_CHAIN)),
        _row("cert.untrusted_root", 0.35, "no trusted issuer",
             text=r"unable to get local issuer certificate|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|unknown ca"),
        _row("cert.untrusted_root", 0.15, "a certificate did not verify", text=r"certificate verify failed"),
        _row("cert.incomplete_chain", 0.3, "no trusted issuer: perhaps a missing intermediate",
             text=r"unable to get local issuer certificate|unable to verify the first certificate|"
                  r"UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to get issuer certificate"),
        _row("trust.bundle_outdated", 0.15, "no trusted issuer: perhaps the app's CA file is an old copy that lacks a "
             "newer root", text=r"unable to get local issuer certificate|UNABLE_TO_GET_ISSUER_CERT_LOCALLY"),
        _row("trust.interception", 0.2, "no trusted issuer: perhaps a TLS-inspecting proxy or antivirus",
             text=r"unable to get local issuer certificate|self[- ]signed certificate in certificate chain"),
        _row("cert.revoked", 0.9, "the certificate is revoked", verify=(V_REVOKED,)),
        _row("cert.revoked", 0.9, "an OCSP answer or CRL says revoked",
             text=r"certificate revoked|CERTIFICATE_REVOKED|revocation reason|OCSP[^\n]{0,300}revoked"),
        _row("cert.must_staple_missing", 0.7, "the client required a stapled OCSP response and got none",
             curl=(91,), text=r"No OCSP response received"),
        _row("cert.revocation_unavailable", 0.6, "the client required a certificate status and got none: no staple, "
             "and perhaps the CA's OCSP responder and CRL do not answer", curl=(91,), text=r"No OCSP response received"),
        # libcurl's verifystatus(): a staple out of its dates, or one it cannot use, is no status at all.
        _row("cert.revocation_unavailable", 0.8, "the server stapled an OCSP response that is out of date (a "
             "server whose stapling cannot refresh it)", curl=(91,), text=r"OCSP response has expired"),
        _row("cert.revocation_unavailable", 0.6, "the server stapled an OCSP response the client cannot use",
             curl=(91,), text=r"Invalid OCSP response|OCSP response verification failed|"
                              r"Could not find certificate ID in OCSP response"),
        _row("cert.revoked", 0.5, "libcurl's certificate status check failed", curl=(91,)),
        _row("trust.bundle_corrupt", 0.6, "OpenSSL found an issuer that is not a valid CA: often a broken entry in "
             "the CA file", verify=(V_INVALID_CA, V_INVALID_CA_OLD)),
        _row("trust.bundle_corrupt", 0.6, "an issuer is not a valid CA: often a broken entry in the CA file",
             text=r"invalid CA certificate|(?<![A-Za-z_])INVALID_CA\b"),
        _row("cert.bad_usage", 0.9, "the certificate's (extended) key usage does not allow TLS server use",
             verify=(V_INVALID_PURPOSE,)),
        _row("cert.bad_usage", 0.85, "unsuitable certificate purpose",
             text=r"unsuitable certificate purpose|INVALID_PURPOSE|extended key usage|EKU"),
        _row("cert.hostname_mismatch", 0.9, "the certificate is for other names", verify=(V_HOSTNAME_MISMATCH, V_IP_MISMATCH)),
        _row("cert.hostname_mismatch", 0.8, "the CA that issued the certificate may not issue for this name (its "
             "name constraints)", verify=(vc.X509_V_ERR_PERMITTED_VIOLATION, vc.X509_V_ERR_EXCLUDED_VIOLATION)),
        _row("cert.hostname_mismatch", 0.8, "the CA that issued the certificate may not issue for this name (its "
             "name constraints)", text=r"permitted subtree violation|excluded subtree violation|"
                                       r"PERMITTED_VIOLATION|EXCLUDED_VIOLATION|name constraints? (violat|match)"),
        _row("cert.hostname_mismatch", 0.9, "the certificate is for other names",
             text=r"no alternative certificate subject name matches|Hostname mismatch|IP address mismatch|"
                  r"(doesn't|does not) match(?! pinned)|not valid for|SSL: certificate subject name"),
        _row("cert.weak_key", 0.9, "a key is too small for the client's security level",
             verify=(V_EE_KEY_TOO_SMALL, V_CA_KEY_TOO_SMALL)),
        _row("cert.weak_key", 0.85, "a key is too small", text=r"key too (weak|small)|KEY_TOO_SMALL|ee key too small"),
        _row("cert.weak_signature", 0.9, "a signature digest the client rejects", verify=(V_CA_MD_TOO_WEAK,)),
        _row("cert.weak_signature", 0.85, "a signature digest the client rejects",
             text=r"digest algorithm too weak|MD_TOO_WEAK|sha1[^\n]{0,300}(forbidden|not allowed)"),
        _row("trust.bundle_missing", 0.9, "libcurl could not read its CA file", curl=(77,)),
        _row("trust.bundle_missing", 0.8, "the CA file is missing or unreadable",
             text=r"error setting certificate (verify locations|file)|CAfile: [^\n]{0,300}(No such file|not found)|"
                  r"Could not find a suitable TLS CA certificate bundle|ca[-_ ]?bundle[^\n]{0,300}(No such file|not found)"),
        _row("cert.untrusted_root", 0.15, "libcurl: the certificate chain did not verify", curl=_CERT_CURL),
        # -- HTTP ------------------------------------------------------------------------------------
        _row("http2.negotiation_failed", 0.85, "HTTP/2 broke after ALPN chose it", curl=(16, 92)),
        _row("http2.negotiation_failed", 0.8, "HTTP/2 framing or stream error",
             text=r"HTTP2 framing layer|HTTP/2 stream \d+ was not closed cleanly|expected SETTINGS frame|"
                  r"(?<!SSL_)PROTOCOL_ERROR|nghttp2"),
        # After TLS, no answer that is HTTP: libcurl's 52, 8, and 1 for an answer that is not HTTP/1.x
        # (1 is also a URL scheme libcurl lacks, hence the text).
        _row("http.invalid_response", 0.85, "the server closed the connection without answering (libcurl: "
             "Empty reply from server)", curl=(52,)),
        _row("http.invalid_response", 0.85, "libcurl could not read the server's answer as HTTP (Weird server "
             "reply, a header without a colon)", curl=(8,)),
        _row("http.invalid_response", 0.85, "the server's answer is not HTTP/1.x (libcurl refuses HTTP/0.9)",
             curl=(1,), text=r"HTTP/0\.9|Unsupported HTTP"),
        _row("http.invalid_response", 0.8, "the server's answer is empty or not HTTP",
             text=r"Empty reply from server|Weird server reply|Header without colon|Received HTTP/0\.9|"
                  r"Unsupported HTTP(/1)? version|Invalid status line"),
        # An answer that stops short: libcurl's 18 (less than Content-Length said), and 56 from
        # OpenSSL's SSL_read (after the handshake: SSL_connect's failures are 35).
        _row("http.invalid_response", 0.75, "the answer stopped short of the length it announced (the server, or a "
             "middlebox, closed mid-answer)", curl=(18,)),
        _row("http.invalid_response", 0.7, "after the handshake, the server closed the connection without "
             "close_notify before its answer was whole", curl=(56,), text=r"SSL_read[^\n]{0,200}(unexpected eof|EOF)"),
        # A body that does not decode: broken chunked framing (56) or content encoding (61).
        _row("http.invalid_response", 0.75, "the answer's body is not valid chunked encoding", curl=(56,),
             text=r"chunked-encoding|chunked encoding|Malformed encoding found|chunk hex-length|chunk size"),
        _row("http.invalid_response", 0.75, "the answer's body does not decode as its Content-Encoding says",
             curl=(61,)),
        # Below the HTTP/2 text rows: httpx calls an h2 framing error a RemoteProtocolError too.
        _row("http.invalid_response", 0.75, "after the request, the server closed the connection or answered "
             "with something that is not HTTP", condition=("no_http_answer",)),
        # A redirect loop: TLS is fine and every answer is an HTTP redirect (the classic is a CDN that
        # reaches the origin over HTTP while the origin redirects HTTP to HTTPS: "Flexible SSL").
        _row("http.error", 0.7, "the server redirects in a loop (libcurl stops after its maximum)", curl=(47,)),
        _row("http.error", 0.7, "the server redirects in a loop",
             text=r"Maximum \(\d+\) redirects followed|Exceeded maximum allowed redirects|too many redirects"),
        _row("http.error", 0.7, "the server redirects in a loop", condition=("redirect_loop",)),
        _row("proxy.upstream_failed", 0.5, "a 502/504 is often a proxy failing to reach the origin",
             text=r"\b(502 Bad Gateway|504 Gateway Time-?out)\b"),
        _row("tcp.reset", 0.6, "the connection was reset", curl=(56,), text=r"Connection reset|ECONNRESET"),
        _row("proxy.connect_refused", 0.4, "libcurl could not use the tunnel", curl=(56,), text=r"(?-i:CONNECT)|proxy|tunnel"),
        # -- context only a pasted transcript carries (explain) ---------------------------------------
        # Other clients' own words (Go, Java, Node, Windows, ...) are read by explain's recognisers,
        # which turn them into the signals above or into CONDITIONS (rows below); none are here.
        # The HTTPS proxy's own certificate (tlsdoctor's client adds the words from libcurl's
        # CURLINFO_PROXY_SSL_VERIFYRESULT): not the server's, and not an interception.
        _row("cert.untrusted_root", 0.9, "the HTTPS proxy's own certificate does not verify with the client's "
             "proxy CA file", curl=_CERT_CURL, text=_AT_PROXY,
             verify=(V_NO_LOCAL_ISSUER, V_UNVERIFIABLE_LEAF, V_UNABLE_TO_GET_ISSUER, V_SELF_SIGNED_IN_CHAIN)),
        _row("cert.self_signed", 0.9, "the HTTPS proxy's own certificate is self-signed", curl=_CERT_CURL,
             text=_AT_PROXY, verify=(V_SELF_SIGNED_LEAF,)),
        _row("cert.expired", 0.95, "the HTTPS proxy's own certificate has expired", curl=_CERT_CURL, text=_AT_PROXY,
             verify=(V_EXPIRED,)),
        _row("cert.not_yet_valid", 0.95, "the HTTPS proxy's own certificate is not valid yet", curl=_CERT_CURL,
             text=_AT_PROXY, verify=(V_NOT_YET_VALID,)),
        # A certificate failure on a proxied connection:
        _row("trust.interception", 0.4, "a certificate problem on a connection through a proxy: TLS-inspecting "
             "proxies re-sign the traffic with their own CA", curl=_CERT_CURL, text=r"proxy|(?-i:CONNECT)"),
        _row("trust.interception", 0.85, "the issuer is a known TLS-inspection product (proxy, firewall, antivirus, "
             "debugging proxy)",
             text=r"(issuer|\bCN ?=|\bO ?=)[^\n]{0,300}\b(Zscaler|Fortinet|FortiGate|Palo Alto Networks|Netskope|Blue ?Coat|"
                  r"mitmproxy|Charles Proxy|DO_NOT_TRUST_Fiddler|PortSwigger|Kaspersky|Avast|AVG Technologies|ESET|"
                  r"Bitdefender|Sophos|Cisco Umbrella|Forcepoint|McAfee Web Gateway|Check ?Point|Untangle|Lightspeed|"
                  r"Securly|GoGuardian|Menlo Security)\b"),
        # "unable to verify the first certificate": the server sent its leaf alone and its issuer is
        # nowhere; in the field that is a missing intermediate far more often than a foreign root.
        _row("cert.incomplete_chain", 0.6, "only the leaf came, and its issuer is unknown: a missing intermediate",
             verify=(V_UNVERIFIABLE_LEAF,)),
        # -- the rarer readings of "no trusted issuer" -------------------------------------------------
        # Low here (the generic reading); explain's priors (tlsdoctor/explain/priors.py) rank the whole
        # family for the client it serves first.
        _row("clock.skewed", 0.1, "no trusted issuer: with the clock years off, no currently valid path to a "
             "trusted root can be built", verify=(V_NO_LOCAL_ISSUER,)),
        _row("trust.interception", 0.1, "libcurl: a chain that did not verify is often re-signed by an "
             "inspecting proxy or antivirus", curl=_CERT_CURL),
        _row("trust.store_mismatch", 0.1, "libcurl: a chain that did not verify may hold a root only the OS "
             "store has", curl=_CERT_CURL),
        _row("cert.incomplete_chain", 0.1, "libcurl: a chain that did not verify may miss an intermediate",
             curl=_CERT_CURL),
        _row("clock.skewed", 0.05, "libcurl: a chain that did not verify may be judged on a wrong clock", curl=_CERT_CURL),
        _row("trust.bundle_outdated", 0.05, "libcurl: a chain that did not verify may end at a root newer than the "
             "CA file", curl=_CERT_CURL),
        _row("cert.expired", 0.05, "libcurl: a chain that did not verify may hold an expired certificate",
             curl=_CERT_CURL),
        _row("cert.hostname_mismatch", 0.05, "libcurl ≥ 7.62 reports a name mismatch as 60 too", curl=_CERT_CURL),
        # -- conditions: other ecosystems' words, read by explain's recognisers ------------------------
        *(_row(code, likelihood, why, condition=("untrusted_issuer",)) for code, likelihood, why in (
            ("cert.untrusted_root", 0.35, "the chain ends at a root the client does not trust"),
            ("cert.incomplete_chain", 0.3, "no path to a trusted root: perhaps a missing intermediate"),
            ("trust.interception", 0.2, "no trusted root: perhaps a TLS-inspecting proxy or antivirus re-signs"),
            ("trust.store_mismatch", 0.15, "no trusted root: perhaps the CA is in another trust store than the one used"),
            ("clock.skewed", 0.1, "no trusted root: a clock years off can leave no valid path"),
            ("trust.bundle_outdated", 0.1, "no trusted root: perhaps the CA file predates the server's root"),
        )),
        *(_row(code, likelihood, why, condition=("chain_incomplete",)) for code, likelihood, why in (
            ("cert.incomplete_chain", 0.5, "no chain could be built: most often the server omits an intermediate"),
            ("cert.untrusted_root", 0.3, "no chain could be built to a root in the store"),
            ("trust.interception", 0.15, "no chain: perhaps an inspecting product whose root is missing"),
            ("trust.store_mismatch", 0.1, "no chain: perhaps the root is in another trust store"),
        )),
        *(_row(code, likelihood, why, condition=("cert_date_invalid",)) for code, likelihood, why in (
            ("cert.expired", 0.45, "a certificate is outside its validity period: usually expired"),
            ("clock.skewed", 0.4, "validity-period errors on one machine are often its clock"),
            ("cert.not_yet_valid", 0.2, "a certificate is outside its validity period: perhaps not valid yet"),
        )),
        *(_row(code, likelihood, why, condition=("cert_rejected",)) for code, likelihood, why in (
            ("cert.untrusted_root", 0.3, "a rejected certificate is most often one the client does not trust"),
            # Below 0.2, so that the "no trusted issuer" priors do not take over a reading that does
            # not say "issuer" (explain/priors.py).
            ("trust.interception", 0.19, "a rejected certificate: perhaps re-signed by an inspecting product"),
            ("cert.hostname_mismatch", 0.2, "a rejected certificate: perhaps issued for another name"),
            ("cert.expired", 0.15, "a rejected certificate: perhaps expired"),
            ("cert.incomplete_chain", 0.12, "a rejected certificate: perhaps an incomplete chain"),
            ("clock.skewed", 0.1, "a rejected certificate: perhaps judged on a wrong clock"),
            ("trust.store_mismatch", 0.1, "a rejected certificate: perhaps a CA only another store holds"),
        )),
        *(_row(code, likelihood, why, condition=("revocation_unavailable",)) for code, likelihood, why in (
            ("cert.revocation_unavailable", 0.8, "the revocation status could not be fetched"),
            ("trust.interception", 0.3, "an inspecting product's CA often names no reachable CRL or OCSP responder"),
        )),
        _row("trust.interception", 0.95, "the client detected a TLS-inspecting product", condition=("mitm_detected",)),
        *(_row(code, likelihood, why, condition=("secure_channel_failed",)) for code, likelihood, why in (
            ("tls.protocol_mismatch", 0.45, "on Windows this is most often no TLS version in common (old .NET "
             "Framework defaults, TLS 1.2 disabled in SCHANNEL, a TLS 1.3-only server)"),
            ("tls.cipher_mismatch", 0.3, "or no cipher suite in common (an old Windows without ECDHE-GCM suites)"),
            ("tls.handshake_alert", 0.15, "or the server refused the handshake with an alert"),
            ("tls.abrupt_close", 0.1, "or a middlebox closed the connection mid-handshake"),
            ("tls.client_cert_required", 0.05, "or the server wants a client certificate"),
        )),
        *(_row(code, likelihood, why, condition=("handshake_failed",)) for code, likelihood, why in (
            ("tls.protocol_mismatch", 0.35, "an unnamed handshake failure is most often no TLS version in common"),
            ("tls.not_tls", 0.3, "or the peer does not speak TLS on that port (HTTP on 443)"),
            ("tls.abrupt_close", 0.25, "or a middlebox cut the connection"),
            ("tls.handshake_alert", 0.2, "or the server refused the handshake with an alert"),
        )),
        *(_row(code, likelihood, why, condition=("version_or_cipher_mismatch",)) for code, likelihood, why in (
            ("tls.protocol_mismatch", 0.5, "no TLS version in common"),
            ("tls.cipher_mismatch", 0.45, "no cipher suite in common"),
        )),
        _row("tls.protocol_mismatch", 0.85, "no TLS version in common", condition=("protocol_mismatch",)),
        _row("tls.cipher_mismatch", 0.85, "no cipher suite in common", condition=("cipher_mismatch",)),
        *(_row(code, likelihood, why, condition=("connection_closed",)) for code, likelihood, why in (
            ("tls.abrupt_close", 0.7, "the peer closed the connection mid-handshake"),
            ("tls.protocol_mismatch", 0.25, "servers without a common TLS version often just close"),
        )),
        _row("tls.not_tls", 0.85, "the peer did not answer with TLS", condition=("not_tls",)),
        _row("tls.client_cert_required", 0.9, "the server wants a client certificate", condition=("client_cert_required",)),
        _row("dns.name_not_resolved", 0.9, "the host name does not resolve", condition=("name_not_resolved",)),
        *(_row(code, likelihood, why, condition=("proxy_failed",)) for code, likelihood, why in (
            ("proxy.unreachable", 0.6, "the client could not reach its proxy"),
            ("proxy.connect_refused", 0.4, "or the proxy refused to tunnel"),
        )),
        _row("tls.handshake_timeout", 0.85, "the TLS handshake did not finish in time", condition=("handshake_timeout",)),
        *(_row(code, likelihood, why, condition=("fatal_alert",)) for code, likelihood, why in (
            ("tls.handshake_alert", 0.6, "the server refused the handshake with an alert"),
            ("tls.protocol_mismatch", 0.25, "the refusal is often of the TLS version"),
            ("tls.cipher_mismatch", 0.2, "or of the cipher suites"),
        )),
        _row("trust.bundle_missing", 0.85, "the trust store cannot be read", condition=("bundle_missing",)),
        *(_row(code, likelihood, why, condition=("pin_mismatch",)) for code, likelihood, why in _PIN_READINGS),
        # libcurl's CURLOPT_PINNEDPUBLICKEY failing (90) is the same story in libcurl's number.
        *(_row(code, likelihood, why, curl=(90,)) for code, likelihood, why in _PIN_READINGS),
        *(_row(code, likelihood, why, curl=(90,), text=r"pinned public key|PINNEDPUBKEY")
          for code, likelihood, why in _PIN_READINGS),  # its words say "does not match": not a name mismatch
        # libcurl 7.77+: the server's certificate_required alert as its own code (98); 58 is the
        # client's own certificate or key unusable (a wrong path, a password, a format), so none is sent.
        _row("tls.client_cert_required", 0.95, "libcurl: the server requires a client certificate", curl=(98,)),
        _row("tls.client_cert_required", 0.6, "libcurl could not use the client's own certificate or key, so the "
             "server that wants one gets none", curl=(58,)),
        _row("clock.skewed", 0.9, "the client says its clock is wrong", condition=("clock_wrong",)),
        _row("proxy.unresolvable", 0.95, "the proxy's name does not resolve", condition=("proxy_unresolvable",)),
        _row("proxy.unreachable", 0.95, "the client could not connect to its proxy", condition=("proxy_unreachable",)),
        _row("cert.must_staple_missing", 0.9, "the certificate requires a stapled OCSP answer and none came",
             condition=("must_staple_missing",)),
        # TLS 1.3's certificate_required alert: the server wanted a client certificate (RFC 8446 §4.4.2.4).
        _row("tls.client_cert_required", 0.9, "the server sent certificate_required", alert=(116,)),
        # bad_certificate received by a client: the server rejected the client's certificate, or
        # its absence (TLS 1.2 servers send it where TLS 1.3 ones send certificate_required).
        _row("tls.client_cert_required", 0.8, "the server sent bad_certificate: it rejects the client certificate "
             "(or its absence)", alert=(42,)),
    )

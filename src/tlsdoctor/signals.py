"""What a failed request said, in one shared vocabulary: :class:`Signal` and :data:`CONDITIONS`.

Every part of tlsdoctor that meets a failure speaks of it in these words before anything
judges it: ``diagnose`` and the client fill a :class:`Signal` from libcurl (its code, its
error text, the verify result), explain's recognisers from whatever a user pasted (a Go
error, a .NET exception in Chinese, a Chrome interstitial). :mod:`tlsdoctor.classify` — the
one table — maps signals to finding codes; this module holds only the words, so that the
recognisers (which must never name a finding code) depend on the vocabulary and not on the
table.
"""

from __future__ import annotations

from tlsdoctor.records import record


@record
class Signal:
    """Everything low-level a failed request said. Unknown parts stay None."""

    curl_code: int | None = None
    verify_result: int | None = None  # X509_V_ERR_* (CURLINFO_SSL_VERIFYRESULT, SSLCertVerificationError)
    alert: int | None = None  # TLS alert description received from the peer
    errno: str | None = None  # "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", ...
    connect_status: int | None = None  # the proxy's answer to CONNECT
    http_status: int | None = None
    text: str = ""  # error messages, as one string: libcurl's buffer, OpenSSL's reason, ...
    # A platform-neutral reading of another ecosystem's vocabulary (one of CONDITIONS), for
    # what no OpenSSL verify result, alert or errno says exactly: Chrome's
    # NET::ERR_CERT_DATE_INVALID is "expired *or* not yet valid", .NET's "Could not create
    # SSL/TLS secure channel" is "some handshake failure". explain's recognisers set it.
    condition: str | None = None


# The conditions other ecosystems name that no OpenSSL verify result, TLS alert or errno says
# exactly. Where one does (Firefox's SEC_ERROR_EXPIRED_CERTIFICATE *is* X509_V_ERR_CERT_HAS_EXPIRED),
# explain's recognisers translate to that instead, so one row serves every spelling.
CONDITIONS: dict[str, str] = {
    "untrusted_issuer": "the chain does not lead to a root the client trusts (UntrustedRoot, "
                        "NET::ERR_CERT_AUTHORITY_INVALID, SEC_ERROR_UNKNOWN_ISSUER, rustls UnknownIssuer)",
    "chain_incomplete": "the client could not build a chain up to any root (.NET PartialChain, CERT_E_CHAINING)",
    "cert_date_invalid": "a certificate is outside its validity period, expired or not yet valid "
                         "(NET::ERR_CERT_DATE_INVALID, X509ChainStatus NotTimeValid, CERT_E_EXPIRED)",
    "cert_rejected": "the certificate was rejected without a reason given (\"The remote certificate is invalid "
                     "according to the validation procedure\", NSURLErrorServerCertificateUntrusted's siblings)",
    "revocation_unavailable": "the revocation status could not be checked (CRYPT_E_REVOCATION_OFFLINE, "
                              "CRYPT_E_NO_REVOCATION_CHECK, RevocationStatusUnknown)",
    "mitm_detected": "the client itself says a TLS-inspecting product re-signs the traffic "
                     "(MOZILLA_PKIX_ERROR_MITM_DETECTED)",
    "secure_channel_failed": "Windows could not set up the TLS session and says no more (\"Could not create "
                             "SSL/TLS secure channel\", SEC_E_INTERNAL_ERROR)",
    "handshake_failed": "the handshake failed for an unnamed protocol reason (ERR_SSL_PROTOCOL_ERROR, errSSLProtocol)",
    "version_or_cipher_mismatch": "no TLS version or cipher suite in common (ERR_SSL_VERSION_OR_CIPHER_MISMATCH)",
    "protocol_mismatch": "no TLS version in common (SSL_ERROR_UNSUPPORTED_VERSION, SEC_E_UNSUPPORTED_FUNCTION)",
    "cipher_mismatch": "no cipher suite in common (SEC_E_ALGORITHM_MISMATCH, SSL_ERROR_NO_CYPHER_OVERLAP)",
    "connection_closed": "the peer closed the connection during the handshake (\"the remote party has closed the "
                         "transport stream\", ERR_CONNECTION_CLOSED)",
    "not_tls": "the peer's answer was not TLS (SSL_ERROR_RX_RECORD_TOO_LONG, \"HTTP response to HTTPS client\")",
    "client_cert_required": "the server asked for a client certificate the client did not present "
                            "(ERR_SSL_CLIENT_AUTH_CERT_NEEDED, SEC_I_INCOMPLETE_CREDENTIALS)",
    "name_not_resolved": "the host name does not resolve (ERR_NAME_NOT_RESOLVED, NSURLErrorCannotFindHost, "
                         "\"No such host is known\")",
    "proxy_failed": "the client could not use its proxy (ERR_PROXY_CONNECTION_FAILED, ERR_TUNNEL_CONNECTION_FAILED)",
    "handshake_timeout": "the TLS handshake did not finish in time",
    "fatal_alert": "the peer sent a fatal alert the message does not name (GnuTLS \"A TLS fatal alert has been "
                   "received\")",
    "bundle_missing": "the configured CA file or trust store cannot be read",
    "pin_mismatch": "the server's key is not the one pinned (OkHttp \"Certificate pinning failure!\", "
                    "ERR_SSL_PINNED_KEY_NOT_IN_CERT_CHAIN)",
    "clock_wrong": "the client itself says its clock is wrong (Chrome's \"Your clock is behind\")",
    "proxy_unresolvable": "the proxy's host name does not resolve (.NET ProxyNameResolutionFailure)",
    "proxy_unreachable": "the client could not open a connection to its proxy (Go's \"proxyconnect tcp: ... "
                         "connection refused\", requests' \"Unable to connect to proxy\", aiohttp's "
                         "ClientProxyConnectionError)",
    "redirect_loop": "every answer is a redirect, in a loop (ERR_TOO_MANY_REDIRECTS, \"redirected you too many "
                     "times\")",
    "no_http_answer": "TLS was up and the request went out, and the server closed the connection without an answer "
                      "or answered with something that is not HTTP (Python's RemoteDisconnected, httpx's \"Server "
                      "disconnected without sending a response\", Go's \"malformed HTTP response\", Java's "
                      "\"Unexpected end of file from server\", ERR_EMPTY_RESPONSE)",
    "must_staple_missing": "the certificate demands a stapled OCSP answer the server did not send "
                           "(MOZILLA_PKIX_ERROR_REQUIRED_TLS_FEATURE_MISSING)",
}

"""git over HTTPS: libcurl's words behind ``fatal: unable to access '...':``.

git says what libcurl said (curl.py and openssl.py read that): OpenSSL builds
("SSL certificate problem: unable to get local issuer certificate"), GnuTLS builds
(Debian/Ubuntu: "server certificate verification failed. CAfile: ... CRLfile: none",
"gnutls_handshake() failed: ..."), schannel builds (Git for Windows, SEC_E_*). What git adds
is the prefix and its own settings (``http.sslVerify``, ``http.sslCAInfo``, ``http.sslBackend``).
"""

from __future__ import annotations

from tlsdoctor.explain.recognisers.base import (
    BUNDLE_MISSING, CLOSED, NOT_TLS, UNTRUSTED, Means, Recogniser,
)

RECOGNISER = Recogniser(
    ecosystem="git",
    title="git over HTTPS (OpenSSL, GnuTLS and schannel builds)",
    covers="git 2.x `fatal: unable to access` messages and the GnuTLS handshake and receive errors",
    phrases={
        "gnutls_handshake() failed: the tls connection was non-properly terminated": CLOSED,
        "gnutls_handshake() failed: error in the pull function": CLOSED,
        "gnutls_handshake() failed: an unexpected tls packet was received": NOT_TLS,
        "gnutls_handshake() failed: a tls fatal alert has been received": Means(condition="fatal_alert"),
        "gnutls recv error (-110)": CLOSED,
        "gnutls recv error (-54)": CLOSED,
        "gnutls recv error (-9)": CLOSED,
        "certificate verification failed. cafile: none": UNTRUSTED,
        "problem with the ssl ca cert (path? access rights?)": BUNDLE_MISSING,
    },
    markers=("fatal: unable to access", "git clone", "git fetch", "git pull", "git push", "http.ssl"),
    input_kind="git",
)

"""GNU Wget (OpenSSL and GnuTLS builds): ``ERROR: cannot verify ...'s certificate``.

Wget rewords OpenSSL's verify results (src/openssl.c) and GnuTLS's status bits
(src/gnutls.c) in its own sentences, then adds the ``--no-check-certificate`` hint.
"""

from __future__ import annotations

from tlsdoctor.explain.recognisers.base import (
    CLOSED, EXPIRED, NAME_MISMATCH, NOT_YET_VALID, RESET, REVOKED, UNTRUSTED, WRAPPER, Means,
    Recogniser,
)

RECOGNISER = Recogniser(
    ecosystem="wget",
    title="GNU Wget (OpenSSL and GnuTLS builds)",
    covers="wget 1.x certificate and connection errors",
    phrases={
        "unable to locally verify the issuer's authority": Means(verify=20),
        "self-signed certificate encountered": Means(verify=19),
        "issued certificate has expired": EXPIRED,
        "issued certificate not yet valid": NOT_YET_VALID,
        "doesn't match requested host name": NAME_MISMATCH,
        "no certificate subject alternative name matches": NAME_MISMATCH,
        "the certificate's owner does not match hostname": NAME_MISMATCH,
        "the certificate has not got a known issuer": UNTRUSTED,
        "the certificate hasn't got a known issuer": UNTRUSTED,
        "the certificate has been revoked": REVOKED,
        "the certificate has expired": EXPIRED,
        "the certificate has not yet been activated": NOT_YET_VALID,
        "the certificate is not trusted": Means(condition="cert_rejected", trust=WRAPPER),
        "unable to establish ssl connection": Means(condition="handshake_failed", trust=WRAPPER),
        "gnutls: the tls connection was non-properly terminated": CLOSED,
        "gnutls: error in the pull function": RESET,
        "gnutls: a tls fatal alert has been received": Means(condition="fatal_alert"),
        "doesn't have a known issuer": UNTRUSTED,  # GnuTLS builds: "The certificate of ‘host’ doesn't have ..."
        "' has expired": EXPIRED,
        "' is not yet activated": NOT_YET_VALID,
    },
    markers=("wget", "--no-check-certificate", "cannot verify"),
    input_kind="wget",
)

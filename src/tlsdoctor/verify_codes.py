"""OpenSSL's certificate verify results (``X509_V_ERR_*``, include/openssl/x509_vfy.h.in).

What ``SSL_get_verify_result``, ``CURLINFO_SSL_VERIFYRESULT`` and Python's
``SSLCertVerificationError.verify_code`` report. One home for the numbers: the lab's
catalogue declares them, the classification table reads them, the rules compare with them.
"""

from __future__ import annotations

X509_V_OK = 0
X509_V_ERR_UNSPECIFIED = 1  # also what libcurl leaves when verification never ran
X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT = 2
X509_V_ERR_CERT_NOT_YET_VALID = 9
X509_V_ERR_CERT_HAS_EXPIRED = 10
X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT = 18
X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN = 19
X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21
X509_V_ERR_CERT_REVOKED = 23
X509_V_ERR_INVALID_CA_OPENSSL1 = 24  # "invalid CA certificate" before OpenSSL 3.0
X509_V_ERR_INVALID_PURPOSE = 26
X509_V_ERR_PERMITTED_VIOLATION = 47  # a name outside an issuing CA's permitted subtrees (name constraints)
X509_V_ERR_EXCLUDED_VIOLATION = 48  # a name inside its excluded subtrees
X509_V_ERR_HOSTNAME_MISMATCH = 62
X509_V_ERR_IP_ADDRESS_MISMATCH = 64
X509_V_ERR_EE_KEY_TOO_SMALL = 66
X509_V_ERR_CA_KEY_TOO_SMALL = 67
X509_V_ERR_CA_MD_TOO_WEAK = 68
X509_V_ERR_INVALID_CA = 79  # renumbered in OpenSSL 3.0 (was 24)

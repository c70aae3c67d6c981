"""One way to put a TLS version range and cipher policy on a pyOpenSSL context.

The lab's servers and diagnosis's probing clients configure the same knobs (version
range, TLS 1.2 cipher list, TLS 1.3 suites, OpenSSL security level); both go through
:func:`apply_protocol_policy` so that "TLS 1.0 at security level 0" means the same thing
on both sides of a test.
"""

from __future__ import annotations

from OpenSSL import SSL

TLS_VERSIONS = {
    "1.0": SSL.TLS1_VERSION,
    "1.1": SSL.TLS1_1_VERSION,
    "1.2": SSL.TLS1_2_VERSION,
    "1.3": SSL.TLS1_3_VERSION,
}


def apply_protocol_policy(
    ctx: SSL.Context,
    *,
    min_version: str | None = None,
    max_version: str | None = None,
    cipher_list: str | None = None,
    tls13_ciphersuites: str | None = None,
    security_level: int | None = None,
) -> None:
    """Raises KeyError for an unknown version name and SSL.Error when OpenSSL refuses a setting."""
    if min_version:
        ctx.set_min_proto_version(TLS_VERSIONS[min_version])
    if max_version:
        ctx.set_max_proto_version(TLS_VERSIONS[max_version])
    if cipher_list or security_level is not None:
        # OpenSSL 3+ ties old versions and weak suites to the security level (TLS 1.0 and
        # CCM-8 need level 0), set in the same string as the cipher list.
        ciphers = cipher_list or "DEFAULT"
        if security_level is not None:
            ciphers += f":@SECLEVEL={security_level}"
        ctx.set_cipher_list(ciphers.encode())
    if tls13_ciphersuites:
        ctx.set_tls13_ciphersuites(tls13_ciphersuites.encode())

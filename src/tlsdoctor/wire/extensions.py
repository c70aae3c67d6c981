"""Extension, group and signature-scheme numbers from the IANA TLS registries.

Only the numbers a ClientHello builder and a ServerHello reader need, with the names
people read in reports (RFC 8446 §4.2, RFC 7919, RFC 8422, RFC 9180's neighbours).
"""

from __future__ import annotations

from enum import IntEnum


class ExtensionType(IntEnum):
    SERVER_NAME = 0  # RFC 6066
    STATUS_REQUEST = 5  # RFC 6066: OCSP stapling
    SUPPORTED_GROUPS = 10  # RFC 8422 / RFC 7919 (formerly elliptic_curves)
    EC_POINT_FORMATS = 11  # RFC 8422
    SIGNATURE_ALGORITHMS = 13  # RFC 8446 §4.2.3
    ALPN = 16  # RFC 7301
    SIGNED_CERTIFICATE_TIMESTAMP = 18
    PADDING = 21  # RFC 7685
    ENCRYPT_THEN_MAC = 22
    EXTENDED_MASTER_SECRET = 23  # RFC 7627
    SESSION_TICKET = 35
    PRE_SHARED_KEY = 41
    SUPPORTED_VERSIONS = 43  # RFC 8446 §4.2.1
    COOKIE = 44
    PSK_KEY_EXCHANGE_MODES = 45
    CERTIFICATE_AUTHORITIES = 47
    SIGNATURE_ALGORITHMS_CERT = 50
    KEY_SHARE = 51  # RFC 8446 §4.2.8
    RENEGOTIATION_INFO = 0xFF01  # RFC 5746


class NamedGroup(IntEnum):
    """Key-exchange groups (the "TLS Supported Groups" registry)."""

    SECT163K1 = 1
    SECT233K1 = 6
    SECT283K1 = 9
    SECT409K1 = 11
    SECT571K1 = 13
    SECP160R1 = 16
    SECP192R1 = 19
    SECP224R1 = 21
    SECP256R1 = 23
    SECP384R1 = 24
    SECP521R1 = 25
    BRAINPOOLP256R1 = 26
    BRAINPOOLP384R1 = 27
    BRAINPOOLP512R1 = 28
    X25519 = 29
    X448 = 30
    BRAINPOOLP256R1TLS13 = 31
    BRAINPOOLP384R1TLS13 = 32
    BRAINPOOLP512R1TLS13 = 33
    GC256A = 34  # GOST R 34.10-2012 curves (RFC 9189)
    GC256B = 35
    GC256C = 36
    GC256D = 37
    GC512A = 38
    GC512B = 39
    GC512C = 40
    FFDHE2048 = 256  # RFC 7919
    FFDHE3072 = 257
    FFDHE4096 = 258
    FFDHE6144 = 259
    FFDHE8192 = 260
    SECP256R1MLKEM768 = 0x11EB
    X25519MLKEM768 = 0x11EC
    SECP384R1MLKEM1024 = 0x11ED


class SignatureScheme(IntEnum):
    """Signature algorithms (RFC 8446 §4.2.3; the TLS 1.2 hash/signature pairs share the space)."""

    RSA_PKCS1_MD5 = 0x0101
    RSA_PKCS1_SHA1 = 0x0201
    DSA_SHA1 = 0x0202
    ECDSA_SHA1 = 0x0203
    RSA_PKCS1_SHA224 = 0x0301
    ECDSA_SHA224 = 0x0303
    RSA_PKCS1_SHA256 = 0x0401
    DSA_SHA256 = 0x0402
    ECDSA_SECP256R1_SHA256 = 0x0403
    RSA_PKCS1_SHA384 = 0x0501
    ECDSA_SECP384R1_SHA384 = 0x0503
    RSA_PKCS1_SHA512 = 0x0601
    ECDSA_SECP521R1_SHA512 = 0x0603
    GOSTR34102012_256 = 0x0709  # RFC 9367 (TLS 1.3 GOST)
    GOSTR34102012_512 = 0x070A
    ECDSA_BRAINPOOLP256R1TLS13_SHA256 = 0x081A
    ECDSA_BRAINPOOLP384R1TLS13_SHA384 = 0x081B
    ECDSA_BRAINPOOLP512R1TLS13_SHA512 = 0x081C
    RSA_PSS_RSAE_SHA256 = 0x0804
    RSA_PSS_RSAE_SHA384 = 0x0805
    RSA_PSS_RSAE_SHA512 = 0x0806
    ED25519 = 0x0807
    ED448 = 0x0808
    RSA_PSS_PSS_SHA256 = 0x0809
    RSA_PSS_PSS_SHA384 = 0x080A
    RSA_PSS_PSS_SHA512 = 0x080B
    GOSTR34102012_256_TLS12 = 0xEEEE  # TLS 1.2 GOST pairs (RFC 9189 §8)
    GOSTR34102012_512_TLS12 = 0xEFEF
    GOSTR34102001_TLS12 = 0xEDED


#: Hybrid post-quantum key exchange groups (draft-ietf-tls-ecdhe-mlkem): their key shares make a
#: ClientHello ~1.2 KB larger, and servers that mishandle them refuse or drop such hellos.
POST_QUANTUM_GROUPS = frozenset({NamedGroup.X25519MLKEM768, NamedGroup.SECP256R1MLKEM768,
                                 NamedGroup.SECP384R1MLKEM1024, 0x6399})  # 0x6399: X25519Kyber768Draft00


def group_name(value: int) -> str:
    """``29`` → ``"x25519"``; unknown numbers as ``"0x1234"``."""
    try:
        return NamedGroup(value).name.lower()
    except ValueError:
        return f"0x{value:04x}"


# Every group a probe may offer, strongest-known first (order matters little: a server picks).
ALL_GROUPS: tuple[int, ...] = tuple(int(g) for g in NamedGroup)

# Every signature scheme, so that a server with any certificate type can answer.
ALL_SIGNATURE_SCHEMES: tuple[int, ...] = tuple(int(s) for s in SignatureScheme)

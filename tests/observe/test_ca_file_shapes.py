"""CA files in the shapes the field saves them in: read as OpenSSL reads them, named when unusable.

OpenSSL reads a CA *file* as ASCII PEM certificates. What users hand it instead is a short,
recurring list: a root exported from Windows or a browser as DER (.cer) or PKCS#7 (.p7b), a
PEM file re-saved by PowerShell (UTF-16), a key or a signing request where the certificate
should be. A UTF-8 byte order mark (Notepad) is the opposite case: OpenSSL skips it, so
tlsdoctor must too, or it calls a working file unusable and loses its first certificate.
Every expectation here is checked against this machine's OpenSSL (Python's ``ssl``).
"""

from __future__ import annotations

import codecs
import ssl
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlsdoctor.client.stack import check_ca_file
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.observe.trust import load_ca_file

BOM = codecs.BOM_UTF8


@pytest.fixture(scope="module")
def pki() -> LabAuthorities:
    return LabAuthorities.create("http://127.0.0.1:1")


def openssl_count(path: Path) -> int:
    """How many certificates this machine's OpenSSL loads from ``path`` (0: it refuses the file)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cafile=str(path))
    except ssl.SSLError:
        return 0
    return context.cert_store_stats()["x509"]


def shapes(pki: LabAuthorities) -> dict[str, tuple[bytes, str]]:
    """Each unusable shape and the words its error must hold."""
    root = pki.root
    pem = root.cert_pem
    key = root.key.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())
    return {
        "powershell-utf16": (codecs.BOM_UTF16_LE + pem.decode().encode("utf-16-le"), "UTF-16 text holding 1 certificate"),
        "utf16-without-bom": (pem.decode().encode("utf-16-le"), "UTF-16 text"),
        "utf16-big-endian": (pem.decode().encode("utf-16"), "UTF-16 text"),
        "der": (root.cert.public_bytes(serialization.Encoding.DER), "one DER-encoded certificate ('CN=tlsdoctor Lab Root CA"),
        "p7b": (pkcs7.serialize_certificates([root.cert, pki.intermediate.cert], serialization.Encoding.DER),
                "DER-encoded PKCS#7 bundle (.p7b) of 2 certificates ('CN=tlsdoctor Lab Root CA"),
        "pkcs7-pem": (pkcs7.serialize_certificates([root.cert], serialization.Encoding.PEM), "a PKCS#7 bundle"),
        "key": (key, "a private key and no certificate"),
        "notes-and-key": (b"see the wiki\n" + key, "a private key and no certificate"),
        "junk": (b"hello\n", "no '-----BEGIN CERTIFICATE-----' block"),
    }


@pytest.mark.parametrize("shape", ["powershell-utf16", "utf16-without-bom", "utf16-big-endian", "der", "p7b",
                                   "pkcs7-pem", "key", "notes-and-key", "junk"])
def test_each_unusable_shape_is_named_and_openssl_agrees_it_is_unusable(pki, tmp_path, shape) -> None:
    data, words = shapes(pki)[shape]
    path = tmp_path / "ca.pem"
    path.write_bytes(data)
    source = load_ca_file(path)
    assert source.certificates == () and words in source.error, source.error
    assert openssl_count(path) == 0
    with pytest.raises(ValueError, match="is not usable") as refused:
        check_ca_file(path)  # the client refuses it at construction, with the same words
    assert words in str(refused.value) and "\n" not in str(refused.value)


def test_a_utf8_bom_is_skipped_as_openssl_skips_it(pki, tmp_path) -> None:
    path = tmp_path / "notepad.pem"
    path.write_bytes(BOM + pki.root.cert_pem + BOM + pki.intermediate.cert_pem)  # saved, then `cat`-ed
    source = load_ca_file(path)
    assert source.error is None and len(source.certificates) == 2 == openssl_count(path)
    check_ca_file(path)  # usable: no error


# Pieces of a CA file as people assemble them: certificates with or without a BOM, blank
# lines, comments, Windows line ends. OpenSSL's rule (pem_lib.c) is that only the first line
# each PEM read starts with loses its BOM, so a BOM after a blank line hides a certificate.
_PIECES = st.lists(st.sampled_from(["cert", "bom-cert", "blank", "comment", "bom-comment"]), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=_PIECES, crlf=st.booleans())
def test_certificates_read_are_the_ones_openssl_reads(pki, tmp_path, pieces, crlf) -> None:
    certs = iter(pki.intermediate.issue_cert(f"h{i}.test").cert.public_bytes(serialization.Encoding.PEM)
                 for i in range(len(pieces)))
    text = {"blank": lambda: b"\n", "comment": lambda: b"# exported\n", "bom-comment": lambda: BOM + b"# x\n",
            "cert": lambda: next(certs), "bom-cert": lambda: BOM + next(certs)}
    data = b"".join(text[piece]() for piece in pieces)
    path = tmp_path / "assembled.pem"
    path.write_bytes(data.replace(b"\n", b"\r\n") if crlf else data)
    assert len(load_ca_file(path).certificates) == openssl_count(path), pieces

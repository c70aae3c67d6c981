"""'dh key too small': a server whose only key exchange is DHE with a 1024-bit group.

OpenSSL servers before RFC 7919 negotiation for TLS 1.2 (3.0, the one Debian's nginx and
``openssl s_server`` use) send the configured DH group whatever the client offers; an
OpenSSL client at security level 2 refuses it. The lab's own server (OpenSSL 4) would
negotiate ffdhe2048 instead, so the real thing is the system's ``openssl s_server``.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from tlsdoctor.diagnosis import diagnose
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.process import free_ports, port_accepts
from tlsdoctor.lab.pki import Key

# RFC 2409 §6.2, the "Second Oakley Group": the 1024-bit MODP group Logjam (2015) put within
# reach of a state, still configured on servers set up long ago. Generator 2.
OAKLEY_GROUP_2 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF", 16)


def dh_parameters_pem(prime: int, generator: int = 2) -> bytes:
    """PKCS#3 DHParameter ::= SEQUENCE { prime INTEGER, base INTEGER }, as PEM."""
    def integer(n: int) -> bytes:
        body = n.to_bytes(n.bit_length() // 8 + 1, "big")
        return b"\x02" + length(len(body)) + body

    def length(n: int) -> bytes:
        return bytes([n]) if n < 128 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes(
            (n.bit_length() + 7) // 8, "big")

    inner = integer(prime) + integer(generator)
    der = b"\x30" + length(len(inner)) + inner
    lines = [base64.b64encode(der)[i:i + 64] for i in range(0, len(base64.b64encode(der)), 64)]
    return b"-----BEGIN DH PARAMETERS-----\n" + b"\n".join(lines) + b"\n-----END DH PARAMETERS-----\n"


@pytest.fixture(scope="module")
def weak_dh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true, and the openssl program is missing")
        pytest.skip("needs the openssl program")
    directory = tmp_path_factory.mktemp("weak-dh")
    authorities = LabAuthorities.create("http://127.0.0.1:9")
    chain, key = authorities.intermediate.issue_cert("127.0.0.1", key=Key.rsa(2048)).write(directory, "server")
    (directory / "dh1024.pem").write_bytes(dh_parameters_pem(OAKLEY_GROUP_2))
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(authorities.root.cert_pem)
    [port] = free_ports(1)
    server = subprocess.Popen(
        [openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(chain), "-key", str(key),
         "-dhparam", str(directory / "dh1024.pem"), "-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0",
         "-tls1_2", "-www", "-quiet"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not port_accepts(port, 0.2):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("openssl s_server did not start")
            time.sleep(0.05)
        yield f"https://127.0.0.1:{port}/", ca_file
    finally:
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


def test_a_1024_bit_dhe_group_is_named_as_the_cause(weak_dh_server: tuple[str, Path]) -> None:
    url, ca_file = weak_dh_server
    d = diagnose(url, ca_bundle=ca_file, env={}, os_store_env={"SSL_CERT_FILE": str(ca_file), "SSL_CERT_DIR": ""},
                 timeout=3.0)
    assert d.observations.curl is not None and d.observations.curl.curl_code == 35
    assert "dh key too small" in d.observations.curl.error
    assert d.verdict.code == "tls.cipher_mismatch"
    assert d.verdict.evidence["dh_prime_bits"] == 1024
    assert "1024-bit" in d.verdict.summary
    assert d.observations.capabilities is not None
    assert d.observations.capabilities.ciphers_negotiated == {"1.2": "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"}


def test_the_dh_parameters_written_here_are_what_openssl_reads(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl program")
    path = tmp_path / "dh.pem"
    path.write_bytes(dh_parameters_pem(OAKLEY_GROUP_2))
    out = subprocess.run([openssl, "dhparam", "-in", str(path), "-noout", "-text"], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    assert "(1024 bit)" in out and "G:    2" in out.replace("generator: 2", "G:    2")



"""Servers that send absurd certificates: a diagnosis ends, in time, with a verdict."""

from __future__ import annotations

from pathlib import Path

from tlsdoctor.findings import FINDING_CODES
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.endpoints import HttpsOrigin
from tlsdoctor.lab.pki import IssuedCert
from tlsdoctor.lab.tls import TlsServerConfig

from .conftest import assert_honest_and_in_time, diagnose_hostile
from .servers import serving


def diagnose_quickly(port: int, ca_file: str) -> tuple[str, float]:
    d = diagnose_hostile(port, Path(ca_file), timeout=2)
    assert_honest_and_in_time(d)
    return d.verdict.code, d.elapsed_ms / 1000


def test_a_certificate_with_10000_sans(authorities: LabAuthorities, tmp_path) -> None:  # type: ignore[no-untyped-def]
    names = ["127.0.0.1", *(f"host{i}.example.test" for i in range(10_000))]
    leaf = authorities.intermediate.issue_cert(*names)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(authorities.root.cert_pem)
    with serving(HttpsOrigin(TlsServerConfig(certificate=leaf))) as port:
        verdict, elapsed = diagnose_quickly(port, str(ca_file))
    assert verdict in FINDING_CODES
    assert elapsed < 15


def test_a_one_megabyte_chain(authorities: LabAuthorities, tmp_path) -> None:  # type: ignore[no-untyped-def]
    leaf = authorities.intermediate.issue_cert("127.0.0.1")
    padding = tuple(authorities.intermediate.issue_cert(*(f"pad{i}-{j}.test" for j in range(300))).cert
                    for i in range(140))  # ~ 140 certificates of ~7 kB (PEM) each
    bloated = IssuedCert(cert=leaf.cert, key=leaf.key, chain=(*leaf.chain, *padding))
    assert len(bloated.chain_pem()) > 1_000_000
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(authorities.root.cert_pem)
    with serving(HttpsOrigin(TlsServerConfig(certificate=bloated))) as port:
        verdict, elapsed = diagnose_quickly(port, str(ca_file))
    assert verdict != "ok"  # no client accepts a megabyte of chain
    assert elapsed < 15

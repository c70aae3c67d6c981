"""Servers that send absurd certificates: a diagnosis ends, in time, with a verdict."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Iterator

import pytest

from tlsdoctor.diagnosis import diagnose
from tlsdoctor.findings import FINDING_CODES
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.endpoints import HttpsOrigin
from tlsdoctor.lab.pki import IssuedCert
from tlsdoctor.lab.tls import TlsServerConfig


@contextlib.contextmanager
def serving(origin: HttpsOrigin) -> Iterator[int]:
    """Serve ``origin`` on a loopback port from a background event loop."""
    loop = asyncio.new_event_loop()
    ready: list[int] = []
    started = threading.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(origin.handle(reader, writer, 2.0), 10)
        writer.close()

    async def main() -> asyncio.base_events.Server:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        ready.append(server.sockets[0].getsockname()[1])
        started.set()
        return server

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    future = asyncio.run_coroutine_threadsafe(main(), loop)
    server = future.result(timeout=10)
    try:
        yield ready[0]
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def authorities() -> LabAuthorities:
    return LabAuthorities.create("http://127.0.0.1:9")  # nothing listens: revocation fetches just fail


def diagnose_quickly(port: int, ca_file: str) -> tuple[str, float]:
    started = time.perf_counter()
    result = diagnose(f"https://127.0.0.1:{port}/", ca_bundle=ca_file, timeout=2, deadline=12, env={},
                      os_store_env={"SSL_CERT_FILE": ca_file, "SSL_CERT_DIR": ""})
    return result.verdict.code, time.perf_counter() - started


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

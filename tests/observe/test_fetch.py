"""The bounded fetch for CRL/OCSP/caIssuers URLs: one deadline for everything, a byte cap, no waiting on a hostile peer."""

from __future__ import annotations

import asyncio
import time

import pytest

from tlsdoctor.observe.fetch import FetchError, fetch


async def _serve(answer: bytes, *, trickle: float = 0.0) -> tuple[asyncio.base_events.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(4096)
        try:
            if trickle:
                for byte in answer[:200]:  # bounded: the client gives up long before
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(trickle)
            else:
                writer.write(answer)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def _run(answer: bytes, timeout: float, **options: float) -> tuple[bytes | str, float]:
    async def main() -> tuple[bytes | str, float]:
        server, port = await _serve(answer, **options)
        started = time.perf_counter()
        try:
            got: bytes | str = (await fetch(f"http://127.0.0.1:{port}/x.crl", timeout, max_bytes=1000)).body
        except FetchError as exc:
            got = str(exc)
        finally:
            server.close()
        return got, time.perf_counter() - started

    return asyncio.run(main())


def test_a_whole_answer_is_returned() -> None:
    body, _ = _run(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 2.0)
    assert body == b"hello"


def test_a_trickling_peer_meets_one_deadline_for_the_whole_exchange() -> None:
    # Each byte comes within 0.2 s, so per-read timeouts would never fire (the answer would
    # take ~10 s); the one deadline over the exchange does.
    error, _ = _run(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 0.5, trickle=0.2)
    assert "within 0.5 s" in str(error)


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" + b"x" * 4096 + b"\r\n0\r\n\r\n",
])
def test_a_document_beyond_the_cap_is_refused(answer: bytes) -> None:
    error, _ = _run(answer, 2.0)
    assert "too large" in str(error)


def test_other_statuses_and_non_http_urls_are_errors() -> None:
    error, _ = _run(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 2.0)
    assert error == "HTTP 404"
    with pytest.raises(FetchError, match="not an http URL"):
        asyncio.run(fetch("ldap://127.0.0.1/cn=crl", 1.0))

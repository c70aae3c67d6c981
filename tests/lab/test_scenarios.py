"""Every scenario, met by two real clients: libcurl (pycurl) and Python's ``ssl``.

The expectations for Python's ``ssl`` are written out here, independently of the
catalogue, so that a lab that drifts from the field (or a catalogue that drifts from the
lab) fails a test. Python cannot check OCSP staples or speak HTTP/2, so for those
scenarios its expectation is that the handshake succeeds: that is the field truth too.
"""

from __future__ import annotations

import socket
import ssl
import urllib.parse
from dataclasses import dataclass

import pytest

from tlsdoctor.lab import LabScenario
from tlsdoctor.lab.check import attempt_for
from tlsdoctor.observe.curl import curl_attempt
from tlsdoctor.wire import POST_QUANTUM_GROUPS, parse_client_hello


def test_libcurl_meets_each_scenario_as_catalogued(tls_scenario: LabScenario) -> None:
    if tls_scenario.scenario.client.clock_offset:
        pytest.skip("clock-skew needs a shifted clock: see test_clock_skew.py (real faketime)")
    expected = tls_scenario.scenario
    result = curl_attempt(attempt_for(tls_scenario, timeout=2.0))

    assert result.curl_code == expected.curl_code, result.error
    if expected.curl_verify_result is not None:
        assert result.verify_result == expected.curl_verify_result, result.error
    if expected.http_status is not None:
        assert result.http_status == expected.http_status


@dataclass(frozen=True)
class Works:
    """The handshake and one HTTP/1.1 request succeed; ``status`` is what comes back."""

    status: int = 200


@dataclass(frozen=True)
class NotHttp:
    """The handshake succeeds; what answers the request is not a status line (``b""``: nothing)."""

    start: bytes


@dataclass(frozen=True)
class VerifyFails:
    """Certificate verification fails with this OpenSSL X509_V_ERR code."""

    verify_code: int


@dataclass(frozen=True)
class TlsFails:
    """The handshake fails with this ``ssl`` reason (None: OpenSSL gives none)."""

    reason: str | None


@dataclass(frozen=True)
class OsFails:
    """The connection fails below TLS with this exception type."""

    error: type[BaseException]


@dataclass(frozen=True)
class ProxyRefuses:
    status: int


@dataclass(frozen=True)
class SocksRefuses:
    """The SOCKS5 proxy refused: its reply code (0xFF: no acceptable authentication method)."""

    code: int


@dataclass(frozen=True)
class CaFileRefused:
    """The client's CA file does not load: before any connection (ssl.SSLError's reason)."""

    reason: str | None


def python_hello() -> bytes:
    """The ClientHello this interpreter's ``ssl`` writes (in memory, never sent)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def python_hello_bytes() -> int:
    return len(python_hello())


def python_sends_post_quantum_share() -> bool:
    offered = parse_client_hello(python_hello())
    return offered is not None and bool(POST_QUANTUM_GROUPS & set(offered.key_share_groups))


PYTHON_SSL = {
    "ok": Works(),
    "expired": VerifyFails(10),
    "not-yet-valid": VerifyFails(9),
    "wrong-host": VerifyFails(64),
    "self-signed": VerifyFails(18),
    "untrusted-root": VerifyFails(20),
    "incomplete-chain": VerifyFails(20),
    "incomplete-chain-no-aia": VerifyFails(20),
    "revoked-ocsp": Works(),  # Python never asks for, nor checks, an OCSP staple
    "revoked-crl": VerifyFails(23),
    "must-staple-missing": Works(),  # nor enforces must-staple
    "sha1-signature": VerifyFails(68),
    "rsa-1024": VerifyFails(66),
    "no-san": VerifyFails(64),  # unlike libcurl, no CN fallback
    "bad-eku": VerifyFails(26),
    "expired-intermediate": VerifyFails(10),  # the presented copy of the intermediate
    "expiring-soon": Works(),
    "revocation-unreachable": Works(),  # Python checks no revocation unless given a CRL
    "revocation-unreachable-soft": Works(),
    "client-cert-required": TlsFails("TLSV13_ALERT_CERTIFICATE_REQUIRED"),  # at the first read, after the handshake
    "client-cert-required-tls1.2": TlsFails("SSLV3_ALERT_HANDSHAKE_FAILURE"),
    "tls1.0-only": TlsFails("TLSV1_ALERT_PROTOCOL_VERSION"),
    "tls1.3-only": TlsFails("TLSV1_ALERT_PROTOCOL_VERSION"),
    "no-shared-cipher": TlsFails("SSLV3_ALERT_HANDSHAKE_FAILURE"),
    "null-cipher-only": TlsFails("SSLV3_ALERT_HANDSHAKE_FAILURE"),
    "alert-handshake-failure": TlsFails("SSLV3_ALERT_HANDSHAKE_FAILURE"),
    "alert-close-notify-fatal": TlsFails(None),  # OpenSSL 3.0: "[SSL] unknown error"
    "legacy-renegotiation": TlsFails("UNSAFE_LEGACY_RENEGOTIATION_DISABLED"),
    # Refused only with a post-quantum key share: OpenSSL 3.0's Python sends none, 3.5+'s does.
    "post-quantum-refused": TlsFails("TLSV1_ALERT_ILLEGAL_PARAMETER") if python_sends_post_quantum_share() else Works(),
    "sni-required": TlsFails("TLSV1_UNRECOGNIZED_NAME"),  # connecting by IP address: no SNI
    "reset-after-hello": OsFails(ConnectionResetError),
    # Reset for a hello over 1400 bytes: Python's own is ~520 bytes on OpenSSL 3.0, but OpenSSL
    # 3.5+ adds a post-quantum key share (see python_hello_bytes).
    "large-hello-reset": Works() if python_hello_bytes() <= 1400 else OsFails(ConnectionResetError),
    "close-after-hello": TlsFails("UNEXPECTED_EOF_WHILE_READING"),
    "stall-handshake": OsFails(TimeoutError),
    "plain-http": TlsFails("WRONG_VERSION_NUMBER"),
    "h2-broken": Works(),  # Python's ssl offers no ALPN here: HTTP/1.1 works
    "h2-stream-reset": Works(),  # likewise
    "h2-http11-required": Works(),  # likewise
    "no-close-notify": Works(),
    "http-error": Works(503),
    "response-stall": OsFails(TimeoutError),  # the handshake done, the request sent, nothing read
    "tcp-silent": OsFails(TimeoutError),  # at connect: the SYN is dropped
    "company-root": VerifyFails(20),  # the bundled store lacks the company's root
    "proxy-unreachable": OsFails(ConnectionRefusedError),  # at the proxy's port
    "proxy-unresolvable": OsFails(socket.gaierror),  # the proxy's name
    "empty-reply": NotHttp(b""),  # close_notify, and nothing before it
    "not-http-answer": NotHttp(b"-ERR unknown com"),
    "proxy-tunnel": Works(),
    "proxy-https-scheme": TlsFails("WRONG_VERSION_NUMBER"),  # the plain proxy's 400, read as a TLS record
    "https-proxy-untrusted": VerifyFails(20),  # at the proxy: its company CA is not in the client's file
    "intercepting-proxy": VerifyFails(20),
    "proxy-auth-required": ProxyRefuses(407),
    "proxy-windows-auth": ProxyRefuses(407),
    "proxy-block-page": TlsFails("WRONG_VERSION_NUMBER"),  # the 403 page where a ServerHello should be
    "proxy-refuses-connect": ProxyRefuses(403),
    "proxy-block-page-only-route": TlsFails("WRONG_VERSION_NUMBER"),  # the same page, the proxy the only route
    "captive-portal": TlsFails("WRONG_VERSION_NUMBER"),  # its 302 where a ServerHello should be
    "socks-tunnel": Works(),
    "socks-auth-required": SocksRefuses(0xFF),  # the greeting: no method without credentials
    "socks-refuses-connect": SocksRefuses(2),  # "connection not allowed by ruleset"
    "proxy-bad-gateway": Works(502),
    "proxy-breaks-http2": Works(),  # no ALPN from Python's ssl here: the interceptor's HTTP/1.1 works
    "corrupt-ca-bundle": VerifyFails(79),
    "expired-root": VerifyFails(10),
    "unreadable-ca-file": CaFileRefused("NO_CERTIFICATE_OR_CRL_FOUND"),  # UTF-16: at load_verify_locations
    "expired-cross-sign": Works(),  # OpenSSL 1.1+ builds the path to the trusted root without the extra
    "stale-staple": Works(),  # Python's ssl asks for no certificate status
    "outdated-ca-bundle": VerifyFails(20),
    "clock-skew": Works(),  # at the true time the short-lived certificate is valid
    "dns-unresolvable": OsFails(socket.gaierror),
    "tcp-refused": OsFails(ConnectionRefusedError),
}


def test_every_scenario_has_a_python_expectation(tls_lab) -> None:  # type: ignore[no-untyped-def]
    assert set(PYTHON_SSL) == {entry.id for entry in tls_lab}


def python_ssl_outcome(entry: LabScenario) -> object:
    """Connect (through the proxy when there is one), handshake, GET /: what happened."""
    url = urllib.parse.urlsplit(entry.url)
    try:
        ctx = ssl.create_default_context(cafile=str(entry.ca_file))
    except ssl.SSLError as exc:
        return CaFileRefused(exc.reason)
    # A modern client, whatever this interpreter's build allows: Debian's Python 3.11 offers
    # TLS 1.0 by default, upstream's (3.10+) starts at TLS 1.2, and the field is the latter.
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    client = entry.scenario.client
    if client.crl:
        assert entry.crl_file is not None
        ctx.load_verify_locations(cafile=str(entry.crl_file))
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    if client.max_tls == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        if entry.proxy:
            proxy = urllib.parse.urlsplit(entry.proxy)
            sock = socket.create_connection((proxy.hostname, proxy.port), timeout=2)
            if proxy.scheme == "socks5h":
                refused = socks5_connect(sock, url.hostname or "", url.port or 443)
                if refused is not None:
                    sock.close()
                    return refused
            elif proxy.scheme == "https":  # TLS to the proxy itself first, with the same trust, as urllib3 >= 1.26
                sock = ctx.wrap_socket(sock, server_hostname=proxy.hostname)
            if proxy.scheme != "socks5h":
                sock.sendall(f"CONNECT {url.hostname}:{url.port or 443} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode())
                status = int(sock.recv(4096).split(b" ", 2)[1])
                if status != 200:
                    sock.close()
                    return ProxyRefuses(status)
        else:
            sock = socket.create_connection((url.hostname, url.port or 443), timeout=2)
        with ctx.wrap_socket(sock, server_hostname=url.hostname) as tls:
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {url.netloc}\r\nConnection: close\r\n\r\n".encode())
            answer = tls.recv(4096)
            if not answer.startswith(b"HTTP/"):
                return NotHttp(answer[:16])
            return Works(int(answer.split(b" ", 2)[1]))
    except ssl.SSLCertVerificationError as exc:
        return VerifyFails(exc.verify_code)
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as exc:
        # The peer hung up mid-handshake. OpenSSL 3 names it UNEXPECTED_EOF_WHILE_READING;
        # some Python builds (Debian's 3.11.2) report the same hang-up with no reason.
        return TlsFails(exc.reason or "UNEXPECTED_EOF_WHILE_READING")
    except ssl.SSLError as exc:
        return TlsFails(exc.reason)
    except OSError as exc:
        return OsFails(type(exc))


def socks5_connect(sock: socket.socket, host: str, port: int) -> SocksRefuses | None:
    """RFC 1928 by hand, as PySocks does: no authentication offered, CONNECT by name."""
    sock.sendall(b"\x05\x01\x00")
    method = sock.recv(2)[1]
    if method != 0:
        return SocksRefuses(method)
    name = host.encode()
    sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + port.to_bytes(2, "big"))
    reply = sock.recv(10)[1]
    return SocksRefuses(reply) if reply else None


def test_python_ssl_meets_each_scenario_as_the_field_does(tls_scenario: LabScenario) -> None:
    assert python_ssl_outcome(tls_scenario) == PYTHON_SSL[tls_scenario.id]


def test_lab_binds_and_names_only_loopback(tls_lab) -> None:  # type: ignore[no-untyped-def]
    for entry in tls_lab:
        host = urllib.parse.urlsplit(entry.url).hostname
        assert host in ("127.0.0.1", "tlsdoctor-lab.invalid"), entry.url
        if entry.proxy:
            assert urllib.parse.urlsplit(entry.proxy).hostname in ("127.0.0.1", "tlsdoctor-lab.invalid")


def test_proxies_refuse_to_tunnel_off_the_machine(tls_lab) -> None:  # type: ignore[no-untyped-def]
    proxy = urllib.parse.urlsplit(tls_lab["proxy-tunnel"].proxy)
    with socket.create_connection((proxy.hostname, proxy.port), timeout=2) as sock:
        sock.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 403")


def test_h2_broken_works_for_a_client_that_offers_only_http1(tls_lab) -> None:  # type: ignore[no-untyped-def]
    entry = tls_lab["h2-broken"]
    attempt = attempt_for(entry)
    from dataclasses import replace

    result = curl_attempt(replace(attempt, http_version="1.1"))
    assert (result.curl_code, result.http_status, result.http_version) == (0, 200, "1.1")


def test_ok_scenario_negotiates_http2_with_libcurl(tls_lab) -> None:  # type: ignore[no-untyped-def]
    result = curl_attempt(attempt_for(tls_lab["ok"]))
    assert (result.http_status, result.http_version) == (200, "2")

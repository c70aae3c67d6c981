"""The scenario catalogue: every way HTTPS breaks in the field, as data.

A :class:`Scenario` says what is broken (one line a support engineer understands), which
finding code it reproduces (``docs/spec/findings.md``), what a libcurl client on OpenSSL
returns for it, and how a client must be set up to meet the fault as the field does
(:class:`ClientSetup`: which CA file, via which proxy, with which clock...). It also
carries how the lab serves it (``serve``): a line here, or a builder in :mod:`.builds`.

The README's catalogue table is generated from :data:`CATALOGUE`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Callable, Literal

from tlsdoctor.lab.endpoints import (
    AlertAfterHello,
    CaptivePortal,
    CloseAfterHello,
    Endpoint,
    HttpsOrigin,
    LegacyRenegotiation,
    PlainHttp,
    PostQuantumIntolerant,
    OneSegmentHello,
    ResetAfterHello,
    SniRequired,
    StallAfterHello,
)
from tlsdoctor.lab.builds import (  # noqa: F401 - BuildContext and LAB_NAMES: imported from here too
    LAB_NAMES,
    BuildContext,
    company_site,
    days,
    demands_client_cert,
    interceptor,
    revocation_offline,
    revoked,
    stale_intermediate,
    stapling_revoked,
    stapling_stale,
    with_expired_cross_sign,
)
from tlsdoctor.lab.http import Reply
from tlsdoctor.lab.pki import CLIENT_AUTH, Key, leaf_cert
from tlsdoctor.lab.proxy import ConnectProxy
from tlsdoctor.lab.socks import NOT_ALLOWED_BY_RULESET, Socks5Proxy
from tlsdoctor.lab.tls import TlsServerConfig
from tlsdoctor.verify_codes import (
    X509_V_ERR_CA_MD_TOO_WEAK,
    X509_V_ERR_CERT_HAS_EXPIRED,
    X509_V_ERR_CERT_NOT_YET_VALID,
    X509_V_ERR_CERT_REVOKED,
    X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
    X509_V_ERR_EE_KEY_TOO_SMALL,
    X509_V_ERR_HOSTNAME_MISMATCH,
    X509_V_ERR_INVALID_CA,
    X509_V_ERR_INVALID_PURPOSE,
    X509_V_ERR_IP_ADDRESS_MISMATCH,
    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
    X509_V_OK,
)
from tlsdoctor.wire import AlertDescription

UNRESOLVABLE_HOST = "tlsdoctor-lab.invalid"  # RFC 6761: .invalid never resolves


class Category(str, Enum):
    CERTIFICATE = "certificate"
    PROTOCOL = "protocol"
    ENVIRONMENT = "environment"


Trust = Literal["lab", "lab+interception", "corrupt", "lab-expired", "lab-utf16", "store", "store-outdated",
                "store+corporate"]


@dataclass(frozen=True)
class ClientSetup:
    """How a client must be set up to meet the fault as the field does.

    The defaults are an ordinary client that trusts the lab's root CA. Scenarios change
    one thing: a CA file with something else in it, a proxy, a cap on the TLS version,
    revocation checking (curl ``--cert-status`` / ``--crlfile``), a clock that is off.
    ``os_store`` is what the machine's own store holds (the demo points ``SSL_CERT_FILE``
    of the OS-store check there).
    """

    trust: Trust = "lab"
    os_store: Trust = "lab"
    max_tls: str | None = None
    # "https": the client speaks TLS to the proxy itself (an https:// proxy URL); "socks5h": a
    # SOCKS5 proxy that resolves names itself (ALL_PROXY=socks5h://...).
    proxy_scheme: str = "http"
    cert_status: bool = False
    crl: bool = False
    clock_offset: timedelta | None = None

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["clock_offset_s"] = int(self.clock_offset.total_seconds()) if self.clock_offset else None
        del data["clock_offset"]
        return data


Serve = Callable[[BuildContext], Endpoint]
# Where a scenario's endpoint is: "listen" (served), "refused" (a port held, never listening),
# "unresolvable" (a host name that never resolves), "silent" (a port whose accept queue the lab
# keeps full, so the kernel drops every new SYN: a firewall that drops packets, on loopback).
# For a proxy scenario (``via``), it is the proxy's address.
Address = Literal["listen", "refused", "unresolvable", "silent"]


@dataclass(frozen=True)
class Scenario:
    """One fault, as data. ``code`` is the verdict a correct diagnosis reaches."""

    id: str
    category: Category
    description: str
    code: str
    curl_code: int
    serve: Serve | None = field(default=None, repr=False, compare=False)
    verify_result: int | None = None  # OpenSSL X509_V_ERR_* the client sees, where one applies
    client: ClientSetup = ClientSetup()
    via: str | None = None  # proxy scenarios: the scenario whose URL is requested through it
    http_status: int | None = None  # the status a client that gets a response sees
    warnings: tuple[str, ...] = ()  # finding codes a diagnosis also reports, as warnings
    address: Address = "listen"
    note: str = ""  # what a support engineer should know beyond the one line

    @property
    def curl_verify_result(self) -> int | None:
        """The ``CURLINFO_SSL_VERIFYRESULT`` libcurl reports, where it is meaningful.

        libcurl checks host names itself, after OpenSSL verified the chain, so for a name
        mismatch OpenSSL's result says nothing about the name (it is 0 or 1).
        """
        if self.verify_result in (X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH):
            return None
        return self.verify_result

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "category": self.category.value,
            "description": self.description,
            "code": self.code,
            "curl_code": self.curl_code,
            "verify_result": self.verify_result,
            "http_status": self.http_status,
            "warnings": list(self.warnings),
            "client": self.client.to_dict(),
            "note": self.note,
        }


_CONNECT_NOTE = (
    "libcurl 8 reports a refused CONNECT as 7 (couldn't connect, \"CONNECT tunnel failed, response N\"); "
    "libcurl 7 reported 56, the code findings.md lists"
)

C, P, E = Category.CERTIFICATE, Category.PROTOCOL, Category.ENVIRONMENT
H2_PROTOCOL_ERROR, H2_HTTP_1_1_REQUIRED = 0x1, 0xD  # RFC 9113 §7 error codes
# What a Redis (or any line protocol) behind a TLS terminator answers an HTTP request with.
_NOT_HTTP = b"-ERR unknown command 'GET', with args beginning with: '/'\r\n"

CATALOGUE: tuple[Scenario, ...] = (
    # -- certificates -------------------------------------------------------------------
    Scenario("ok", C, "a healthy server: full chain to the lab root, HTTP/2 and HTTP/1.1",
             "ok", 0, lambda ctx: ctx.origin(), X509_V_OK, http_status=200),
    Scenario("expired", C, "the leaf certificate expired 30 days ago",
             "cert.expired", 60, lambda ctx: ctx.origin(ctx.leaf(not_before=ctx.now - days(120), not_after=ctx.now - days(30))),
             X509_V_ERR_CERT_HAS_EXPIRED),
    Scenario("not-yet-valid", C, "the leaf certificate becomes valid in 30 days",
             "cert.not_yet_valid", 60, lambda ctx: ctx.origin(ctx.leaf(not_before=ctx.now + days(30), not_after=ctx.now + days(120))),
             X509_V_ERR_CERT_NOT_YET_VALID),
    Scenario("wrong-host", C, "the certificate is for wrong.host.tlsdoctor.test, not this address",
             "cert.hostname_mismatch", 60,
             lambda ctx: ctx.origin(ctx.authorities.intermediate.issue_cert("wrong.host.tlsdoctor.test")),
             X509_V_ERR_IP_ADDRESS_MISMATCH),
    Scenario("self-signed", C, "the server presents a self-signed leaf certificate",
             "cert.self_signed", 60, lambda ctx: ctx.origin(leaf_cert(*LAB_NAMES)),
             X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT),
    Scenario("untrusted-root", C, "the chain ends at 'Foreign Root CA', which no client trusts",
             "cert.untrusted_root", 60,
             lambda ctx: ctx.origin(ctx.authorities.foreign_intermediate.issue_cert(*LAB_NAMES)),
             X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
    Scenario("incomplete-chain", C, "the server sends its leaf without the intermediate (AIA points to it)",
             "cert.incomplete_chain", 60, lambda ctx: ctx.origin(send_chain=False),
             X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
    Scenario("incomplete-chain-no-aia", C, "the server sends its leaf without the intermediate, and the leaf names "
             "no caIssuers URL to fetch it from", "cert.incomplete_chain", 60,
             lambda ctx: ctx.origin(ctx.authorities.intermediate.issue_cert(*LAB_NAMES, issuer_pointers=False),
                                    send_chain=False),
             X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
    Scenario("revoked-ocsp", C, "the certificate is revoked; the server staples the OCSP 'revoked' answer",
             "cert.revoked", 91, stapling_revoked, X509_V_OK, ClientSetup(cert_status=True)),
    Scenario("revoked-crl", C, "the certificate is revoked; the CRL at its distribution point lists it",
             "cert.revoked", 60, lambda ctx: ctx.origin(revoked(ctx)), X509_V_ERR_CERT_REVOKED, ClientSetup(crl=True)),
    Scenario("stale-staple", C, "the server staples an OCSP answer whose nextUpdate passed 3 days ago (its stapling "
             "cannot refresh); the client requires a status", "cert.revocation_unavailable", 91, stapling_stale,
             X509_V_OK, ClientSetup(cert_status=True),
             note="libcurl's 91 alone reads as a revoked certificate; the staple's own dates say it is only old"),
    Scenario("must-staple-missing", C, "the certificate demands OCSP stapling (TLS Feature) and none is sent",
             "cert.must_staple_missing", 91, lambda ctx: ctx.origin(ctx.leaf(must_staple=True)),
             X509_V_OK, ClientSetup(cert_status=True)),
    Scenario("sha1-signature", C, "the leaf is signed with SHA-1 (by an RSA intermediate)",
             "cert.weak_signature", 60,
             lambda ctx: ctx.origin(ctx.authorities.legacy.issue_cert(*LAB_NAMES, digest="sha1"), security_level=0),
             X509_V_ERR_CA_MD_TOO_WEAK),
    Scenario("rsa-1024", C, "the leaf has a 1024-bit RSA key",
             "cert.weak_key", 60, lambda ctx: ctx.origin(ctx.leaf(key=Key.rsa(1024)), security_level=0),
             X509_V_ERR_EE_KEY_TOO_SMALL),
    Scenario("no-san", C, "the address is only in the subject CN; there is no subjectAltName",
             "cert.hostname_mismatch", 0, lambda ctx: ctx.origin(ctx.leaf(san=False, common_name="127.0.0.1")),
             X509_V_ERR_IP_ADDRESS_MISMATCH, http_status=200,
             note="libcurl still falls back to the subject CN when there is no SAN, so curl connects; "
                  "Python's ssl, Go and browsers (RFC 6125, CA/B Forum) refuse the certificate"),
    Scenario("bad-eku", C, "the leaf's extended key usage allows client auth only, not server auth",
             "cert.bad_usage", 60, lambda ctx: ctx.origin(ctx.leaf(eku=(CLIENT_AUTH,))),
             X509_V_ERR_INVALID_PURPOSE),
    Scenario("expired-cross-sign", C, "valid, but the server also sends its root cross-signed by an old root, both "
             "expired 30 days ago (the AddTrust case of 2020)", "ok", 0, with_expired_cross_sign, X509_V_OK,
             http_status=200, warnings=("cert.expired",),
             note="current OpenSSL, Python and browsers build the path to the trusted root without it; OpenSSL "
                  "before 1.1.0 and GnuTLS before 3.6.14 followed it and failed"),
    Scenario("expired-intermediate", C, "the server sends a valid leaf with an old copy of its intermediate, "
             "which expired 30 days ago (the CA renewed it: same name and key)", "cert.expired", 60,
             stale_intermediate, X509_V_ERR_CERT_HAS_EXPIRED,
             note="the server's chain file is out of date: the CA's current intermediate (its caIssuers URL) fixes it"),
    Scenario("expiring-soon", C, "valid, but the leaf expires in 7 days",
             "ok", 0, lambda ctx: ctx.origin(ctx.leaf(not_after=ctx.now + days(7))),
             X509_V_OK, http_status=200, warnings=("cert.expired",)),
    Scenario("revocation-unreachable", C, "no OCSP staple, and the OCSP responder and CRL the certificate names "
             "do not answer; the client requires a status", "cert.revocation_unavailable", 91,
             revocation_offline, X509_V_OK, ClientSetup(cert_status=True),
             note="curl --cert-status checks only the staple: no staple is 91 whatever the responder does"),
    Scenario("revocation-unreachable-soft", C, "the same unreachable OCSP responder and CRL, met by an ordinary "
             "(soft-failing) client", "ok", 0, revocation_offline, X509_V_OK, http_status=200,
             warnings=("cert.revocation_unavailable",)),
    # -- protocol -----------------------------------------------------------------------
    Scenario("tls1.0-only", P, "the server speaks only TLS 1.0, which current clients refuse",
             "tls.protocol_mismatch", 35,
             lambda ctx: ctx.origin(min_version="1.0", max_version="1.0", security_level=0)),
    Scenario("tls1.3-only", P, "the server speaks only TLS 1.3; the client is capped at TLS 1.2",
             "tls.protocol_mismatch", 35, lambda ctx: ctx.origin(min_version="1.3"),
             client=ClientSetup(max_tls="1.2")),
    Scenario("no-shared-cipher", P, "the server accepts only AES-CCM-8 suites, which clients do not offer",
             "tls.cipher_mismatch", 35,
             # OpenSSL 4.0 allows CCM-8 suites only at security level 0.
             lambda ctx: ctx.origin(cipher_list="ECDHE-ECDSA-AES128-CCM8", tls13_ciphersuites="TLS_AES_128_CCM_8_SHA256",
                                    security_level=0)),
    Scenario("client-cert-required", P, "the server demands a client certificate (TLS 1.3); the client has none",
             "tls.client_cert_required", 56, lambda ctx: demands_client_cert(ctx, alpn=("http/1.1",)),
             note="in TLS 1.3 the client's handshake completes before the server reads its (empty) Certificate, "
                  "so the alert certificate_required arrives with the first read: libcurl says 56, not 35 (with "
                  "HTTP/2 negotiated, 55 about half the time: its first write races the alert; this server offers "
                  "HTTP/1.1 only, so the code is stable)"),
    Scenario("client-cert-required-tls1.2", P, "the server demands a client certificate (TLS 1.2); the client "
             "has none", "tls.client_cert_required", 35, lambda ctx: demands_client_cert(ctx, max_version="1.2"),
             note="in TLS 1.2 the server's handshake_failure alert ends the handshake itself: libcurl says 35"),
    Scenario("null-cipher-only", P, "the server accepts only NULL (unencrypted) suites, which OpenSSL clients "
             "never offer", "tls.cipher_mismatch", 35,
             # TLS 1.3 has no NULL suite in OpenSSL; NULL needs security level 0 on the server.
             lambda ctx: ctx.origin(max_version="1.2", cipher_list="ECDHE-ECDSA-NULL-SHA", security_level=0),
             note="tlsdoctor names such suites with its own ClientHellos: no OpenSSL client can offer them"),
    Scenario("alert-handshake-failure", P, "the server answers the ClientHello with a fatal handshake_failure alert",
             "tls.handshake_alert", 35, lambda ctx: AlertAfterHello(AlertDescription.HANDSHAKE_FAILURE)),
    Scenario("alert-close-notify-fatal", P, "the server answers the ClientHello with a fatal close_notify alert and closes",
             "tls.handshake_alert", 35, lambda ctx: AlertAfterHello(AlertDescription.CLOSE_NOTIFY)),
    Scenario("post-quantum-refused", P, "the server answers a ClientHello with a post-quantum key share "
             "(X25519MLKEM768) with a fatal illegal_parameter alert; hellos without one are served",
             "tls.handshake_alert", 35, lambda ctx: PostQuantumIntolerant(ctx.origin()),
             note="libcurl on OpenSSL 3.5+ sends that key share by default; OpenSSL 3.0 clients are served"),
    Scenario("legacy-renegotiation", P, "a TLS 1.2 server from before RFC 5746: its ServerHello has no "
             "renegotiation_info, which OpenSSL 3 clients refuse ('unsafe legacy renegotiation disabled')",
             "tls.protocol_mismatch", 35, lambda ctx: LegacyRenegotiation(ctx.leaf()),
             note="old load balancers and appliances; OpenSSL 1.1 clients, Go and Java still connect"),
    Scenario("sni-required", P, "the server serves only 'localhost' by SNI; the client connects by IP address, "
             "so it sends no SNI, and gets a fatal unrecognized_name alert", "tls.handshake_alert", 35,
             lambda ctx: SniRequired(ctx.origin()),
             note="https://localhost:PORT/ works: a CDN or virtual-hosting front end met by its IP address"),
    Scenario("reset-after-hello", P, "a middlebox resets the connection after the ClientHello",
             "tls.abrupt_close", 35, lambda ctx: ResetAfterHello()),
    Scenario("large-hello-reset", P, "the server reads one TCP segment of the ClientHello: a hello over 1400 bytes "
             "(a post-quantum key share) is reset, smaller ones are served", "tls.abrupt_close", 35,
             lambda ctx: OneSegmentHello(ctx.origin()),
             note="libcurl on OpenSSL 3.5+ sends a ~1.5 KB hello and is reset; Python's ssl on OpenSSL 3.0 (~520 "
                  "bytes) works: the field's https://tldr.fail"),
    Scenario("close-after-hello", P, "the server closes the connection after the ClientHello, with no alert",
             "tls.abrupt_close", 35, lambda ctx: CloseAfterHello()),
    Scenario("stall-handshake", P, "TCP connects, the ClientHello is read, and nothing ever comes back",
             "tls.handshake_timeout", 28, lambda ctx: StallAfterHello()),
    Scenario("plain-http", P, "plain HTTP on the port where TLS is expected",
             "tls.not_tls", 35, lambda ctx: PlainHttp()),
    Scenario("h2-broken", P, "ALPN selects h2, then the server answers in HTTP/1.1; HTTP/1.1 clients work",
             "http2.negotiation_failed", 16, lambda ctx: HttpsOrigin(ctx.origin().tls, h2_broken=True)),
    Scenario("h2-stream-reset", P, "the server speaks HTTP/2, then refuses every request with RST_STREAM "
             "(PROTOCOL_ERROR); HTTP/1.1 clients work", "http2.negotiation_failed", 92,
             lambda ctx: HttpsOrigin(ctx.origin().tls, h2_reset=H2_PROTOCOL_ERROR),
             note="a load balancer or inspecting proxy whose HTTP/2 breaks on what it cannot handle; "
                  "curl --http1.1 works"),
    Scenario("h2-http11-required", P, "the server answers every HTTP/2 request with RST_STREAM(HTTP_1_1_REQUIRED): "
             "retry over HTTP/1.1, which curl and browsers do by themselves", "ok", 0,
             lambda ctx: HttpsOrigin(ctx.origin().tls, h2_reset=H2_HTTP_1_1_REQUIRED), X509_V_OK, http_status=200,
             warnings=("http2.negotiation_failed",),
             note="IIS asking for a client certificate after the handshake does this; HTTP/2 clients that do not "
                  "retry over HTTP/1.1 fail"),
    Scenario("empty-reply", P, "TLS is fine, then the server closes the connection without answering the request",
             "http.invalid_response", 52, lambda ctx: HttpsOrigin(ctx.origin(alpn=("http/1.1",)).tls, raw_answer=b""),
             X509_V_OK),
    Scenario("not-http-answer", P, "TLS is fine, then the server answers the request in another protocol (a "
             "backend on the wrong port: '-ERR unknown command')", "http.invalid_response", 1,
             lambda ctx: HttpsOrigin(ctx.origin(alpn=("http/1.1",)).tls, raw_answer=_NOT_HTTP), X509_V_OK,
             note="libcurl reports an answer that is not HTTP/1.x as 1 (\"Received HTTP/0.9 when not allowed\"), "
                  "a broken header as 8 (\"Weird server reply\"), no answer at all as 52"),
    Scenario("http-error", P, "TLS and HTTP are fine; the server answers every request with 503 Service "
             "Unavailable (an application down behind a healthy load balancer)", "http.error", 0,
             lambda ctx: HttpsOrigin(ctx.origin().tls, reply=Reply(503, b"upstream unavailable\n")), X509_V_OK,
             http_status=503, note="libcurl succeeds (0) and hands back the 503; with --fail it returns 22"),
    Scenario("response-stall", P, "TLS is fine and the request is read, but no answer ever comes (a hung "
             "backend behind a healthy TLS terminator)", "http.timed_out", 28,
             lambda ctx: HttpsOrigin(ctx.origin(alpn=("http/1.1",)).tls, answers=False), X509_V_OK,
             note="the handshake completed: unlike stall-handshake, the server's TLS and certificate are fine"),
    Scenario("no-close-notify", P, "valid responses, but the server closes every connection without close_notify",
             "ok", 0, lambda ctx: HttpsOrigin(ctx.origin(alpn=("http/1.1",)).tls, close_notify=False),
             X509_V_OK, http_status=200),
    # -- environment --------------------------------------------------------------------
    Scenario("proxy-tunnel", E, "an honest CONNECT proxy in front of the healthy server",
             "ok", 0, lambda ctx: ConnectProxy("tunnel"), X509_V_OK, via="ok", http_status=200),
    Scenario("proxy-https-scheme", E, "the client's proxy is set as https://, but the proxy speaks plain HTTP "
             "(HTTPS_PROXY=https://...): the client's ClientHello to the proxy gets a plain-text 400",
             "tls.not_tls", 35, lambda ctx: ConnectProxy("tunnel"), None, ClientSetup(proxy_scheme="https"),
             via="ok", note="the proxy and the server are fine: the proxy URL's scheme is wrong"),
    Scenario("https-proxy-untrusted", E, "an HTTPS proxy (the client speaks TLS to the proxy itself) presents a "
             "certificate from a CA the client does not hold (the company's own)", "cert.untrusted_root", 60,
             lambda ctx: ConnectProxy("tunnel", tls=TlsServerConfig(
                 certificate=ctx.authorities.interception.issue_cert(*LAB_NAMES, issuer_pointers=False),
                 alpn=("http/1.1",))),
             None, ClientSetup(proxy_scheme="https"), via="ok",
             note="the client fails at the proxy (curl 60), before any CONNECT: the server's certificate is fine"),
    Scenario("intercepting-proxy", E, "a CONNECT proxy re-signs every site with its own 'antivirus' CA",
             "trust.interception", 60, interceptor, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, via="ok"),
    Scenario("proxy-auth-required", E, "the proxy answers CONNECT with 407 Proxy Authentication Required",
             "proxy.auth_required", 7, lambda ctx: ConnectProxy("status", status=407), via="ok",
             note=_CONNECT_NOTE),
    Scenario("proxy-windows-auth", E, "the proxy answers CONNECT with 407 and offers only Negotiate and NTLM "
             "(a corporate proxy that logs Windows users in)", "proxy.auth_required", 7,
             lambda ctx: ConnectProxy("status", status=407, challenges=("Negotiate", "NTLM")), via="ok",
             note="browsers log in as the Windows user by themselves; libcurl and Python need to be told, and "
                  "credentials in a proxy URL go as Basic"),
    Scenario("proxy-block-page", E, "a filtering proxy accepts CONNECT, then answers the ClientHello with its "
             "own 403 block page in plain text", "proxy.connect_refused", 35, lambda ctx: ConnectProxy("block"),
             via="ok", note="clients say 'wrong version number', the words of a server on a wrong port; the "
                            "server is fine"),
    Scenario("proxy-block-page-only-route", E, "the same block page, from a proxy that is the only route to the "
             f"site: its name ({UNRESOLVABLE_HOST}) resolves for the proxy alone, as a company's internal names do",
             "proxy.connect_refused", 35,
             lambda ctx: ConnectProxy("block", internal_names=(UNRESOLVABLE_HOST,)), via="dns-unresolvable",
             note="nothing to compare with: the page's status (403, where a server would answer 400) tells"),
    Scenario("captive-portal", E, "a captive portal (hotel, guest Wi-Fi) answers every connection, the "
             "ClientHello too, with a plain-HTTP 302 to its login page", "tls.not_tls", 35,
             lambda ctx: CaptivePortal(),
             note="the server is not reached at all: sign in to the network (a browser on any http:// page)"),
    Scenario("proxy-refuses-connect", E, "the proxy answers CONNECT with 403 Forbidden",
             "proxy.connect_refused", 7, lambda ctx: ConnectProxy("status", status=403), via="ok",
             note=_CONNECT_NOTE),
    Scenario("socks-tunnel", E, "an honest SOCKS5 proxy (an SSH tunnel's `ssh -D`, a SOCKS gateway) in front of "
             "the healthy server", "ok", 0, lambda ctx: Socks5Proxy(), X509_V_OK, ClientSetup(proxy_scheme="socks5h"),
             via="ok", http_status=200),
    Scenario("socks-auth-required", E, "the SOCKS5 proxy wants a username and password (RFC 1929): it answers the "
             "client's greeting with 'no acceptable methods'", "proxy.auth_required", 97,
             lambda ctx: Socks5Proxy(wants_credentials=True), None, ClientSetup(proxy_scheme="socks5h"), via="ok",
             note="libcurl 97: \"No authentication method was acceptable\"; credentials go in the proxy URL "
                  "(socks5h://user:password@host:port)"),
    Scenario("socks-refuses-connect", E, "the SOCKS5 proxy refuses the destination: reply 2, 'connection not "
             "allowed by ruleset'", "proxy.connect_refused", 97,
             lambda ctx: Socks5Proxy(reply=NOT_ALLOWED_BY_RULESET), None, ClientSetup(proxy_scheme="socks5h"),
             via="ok", note="libcurl 97: \"cannot complete SOCKS5 connection to HOST. (2)\": the reply code says why"),
    Scenario("proxy-bad-gateway", E, "an inspecting proxy (CA trusted) cannot verify the origin and answers 502",
             "proxy.upstream_failed", 0, interceptor, X509_V_OK, ClientSetup(trust="lab+interception"),
             via="expired", http_status=502),
    Scenario("proxy-breaks-http2", E, "an inspecting proxy (its CA trusted) lets ALPN pick HTTP/2, then answers "
             "in HTTP/1.1; HTTP/1.1 clients work", "http2.negotiation_failed", 16,
             lambda ctx: interceptor(ctx, h2_broken=True), X509_V_OK,
             ClientSetup(trust="lab+interception"), via="ok", warnings=("trust.interception",),
             note="the server's own HTTP/2 is fine: the inspection product breaks it (curl --http1.1 works)"),
    Scenario("outdated-ca-bundle", E, "the client's CA file is an old copy of the trust store: it lacks the "
             "store's newest root, which the server chains to (the OS store has it)", "trust.bundle_outdated", 60,
             lambda ctx: ctx.origin(ctx.authorities.new_intermediate.issue_cert(*LAB_NAMES)),
             X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, ClientSetup(trust="store-outdated", os_store="store")),
    Scenario("corrupt-ca-bundle", E, "the client's CA file holds a broken twin of the root before the real root",
             "trust.bundle_corrupt", 60, lambda ctx: ctx.origin(), X509_V_ERR_INVALID_CA, ClientSetup(trust="corrupt")),
    Scenario("unreadable-ca-file", E, "the client's CA file is the lab root's PEM saved as UTF-16 (Windows "
             "PowerShell's `>`): OpenSSL reads no certificate from it", "trust.bundle_missing", 77,
             lambda ctx: ctx.origin(), None, ClientSetup(trust="lab-utf16"),
             note="the server is fine: every connection of this client fails before it starts"),
    Scenario("expired-root", E, "the CA renewed its root (same name and key); the client's CA file and the OS "
             "store still hold the old copy, which expired 30 days ago", "cert.expired", 60, lambda ctx: ctx.origin(),
             X509_V_ERR_CERT_HAS_EXPIRED, ClientSetup(trust="lab-expired", os_store="lab-expired"),
             note="every certificate the server sends is valid: what expired is the root in the client's store"),
    Scenario("clock-skew", E, "a certificate valid for 2 days, seen from a client whose clock is 3 days ahead",
             "clock.skewed", 60, lambda ctx: ctx.origin(ctx.leaf(not_after=ctx.now + days(2))),
             X509_V_ERR_CERT_HAS_EXPIRED, ClientSetup(clock_offset=days(3))),
    Scenario("dns-unresolvable", E, f"the host name ({UNRESOLVABLE_HOST}) does not resolve",
             "dns.name_not_resolved", 6, address="unresolvable"),
    Scenario("tcp-refused", E, "nothing listens on the port: the connection is refused",
             "tcp.refused", 7, address="refused"),
    Scenario("tcp-silent", E, "nothing answers the TCP connection: every SYN is dropped (a firewall that drops "
             "packets; here, a port whose accept queue is full)", "tcp.timed_out", 28, address="silent",
             note="clients wait out their connect timeout (curl's default: 300 s) before they say anything"),
    Scenario("company-root", E, "the server's chain ends at the company's own root, which IT deployed to the OS "
             "store; the application verifies with its own bundled CA file, which no private root is in",
             "trust.store_mismatch", 60, company_site, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
             ClientSetup(trust="store", os_store="store+corporate"),
             note="browsers and the platform's own HTTP stack work; apps with certifi or a bundled cacert.pem fail"),
    Scenario("proxy-unreachable", E, "the configured proxy's port refuses connections (the proxy is down, or the "
             "setting is stale)", "proxy.unreachable", 7, via="ok", address="refused",
             note="the server is fine: no connection through this proxy setting can work"),
    Scenario("proxy-unresolvable", E, f"the configured proxy's host name ({UNRESOLVABLE_HOST}) does not resolve "
             "(a proxy set for the office network, met from home)", "proxy.unresolvable", 5, via="ok",
             address="unresolvable", note="the server is fine: the proxy setting belongs to another network"),
)

SCENARIOS: dict[str, Scenario] = {s.id: s for s in CATALOGUE}


def scenario(scenario_id: str) -> Scenario:
    try:
        return SCENARIOS[scenario_id]
    except KeyError:
        raise KeyError(f"unknown lab scenario {scenario_id!r}; known: {', '.join(SCENARIOS)}") from None

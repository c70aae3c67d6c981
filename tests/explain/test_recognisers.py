"""Each ecosystem's words, read right: the texts issue 7 quotes, and one case per vocabulary.

The texts are as users paste them (from the projects' sources and issue threads); each must
put the right causes among explain's first three candidates.
"""

from __future__ import annotations

import pytest

from tlsdoctor.explain import INPUT_KINDS, RECOGNISERS, explain
from tlsdoctor.explain.read import build_index
from tlsdoctor.explain.recognisers.base import Means, Recogniser
from tlsdoctor.findings import FINDING_CODES
from tlsdoctor.signals import CONDITIONS

UNTRUSTED_FAMILY = {"trust.interception", "trust.store_mismatch", "cert.untrusted_root", "cert.incomplete_chain",
                    "clock.skewed", "trust.bundle_outdated"}

# (text, codes that must all be in the top 3) — the quotes of issue 7 first.
ISSUE_7 = [
    ("System.Net.WebException: 请求被中止: 未能创建 SSL/TLS 安全通道。\n   在 System.Net.HttpWebRequest.GetResponse()",
     {"tls.protocol_mismatch", "tls.cipher_mismatch"}),
    ("curl: (35) schannel: next InitializeSecurityContext failed: SEC_E_UNTRUSTED_ROOT (0x80090325) - The "
     "certificate chain was issued by an authority that is not trusted.",
     {"trust.interception", "cert.incomplete_chain", "cert.untrusted_root"}),
    ("curl: (35) schannel: next InitializeSecurityContext failed: Unknown error (0x80092012) - The revocation "
     "function was unable to check revocation for the certificate.",
     {"cert.revocation_unavailable", "trust.interception"}),
    ("System.Net.Http.HttpRequestException: The SSL connection could not be established, see inner exception.\n"
     " ---> System.Security.Authentication.AuthenticationException: The remote certificate is invalid because of "
     "errors in the certificate chain: UntrustedRoot",
     {"trust.interception", "cert.incomplete_chain", "cert.untrusted_root"}),
    ('Error Domain=NSURLErrorDomain Code=-1202 "The certificate for this server is invalid. You might be connecting '
     'to a server that is pretending to be “api.example.com” which could put your confidential information at '
     'risk." UserInfo={_kCFStreamErrorCodeKey=-9813, NSErrorFailingURLKey=https://api.example.com/}',
     {"trust.interception", "cert.incomplete_chain", "cert.untrusted_root"}),
    ("javax.net.ssl.SSLHandshakeException: java.security.cert.CertPathValidatorException: Trust anchor for "
     "certification path not found.", {"trust.interception", "cert.incomplete_chain", "cert.untrusted_root"}),
    ("Your connection is not private\nAttackers might be trying to steal your information from api.example.com\n"
     "NET::ERR_CERT_AUTHORITY_INVALID", {"trust.interception", "cert.incomplete_chain", "cert.untrusted_root"}),
    ("Software is Preventing Firefox From Safely Connecting to This Site\nError code: "
     "MOZILLA_PKIX_ERROR_MITM_DETECTED", {"trust.interception"}),
    ("Error: reqwest::Error { kind: Request, url: \"https://api.example.com/\", source: hyper::Error(Connect, "
     "Custom { kind: Other, error: \"invalid peer certificate: UnknownIssuer\" }) }",
     {"trust.interception", "cert.incomplete_chain", "cert.untrusted_root"}),
    ("fatal: unable to access 'https://git.example.com/team/app.git/': server certificate verification failed. "
     "CAfile: none CRLfile: none", {"trust.interception", "cert.incomplete_chain", "cert.untrusted_root"}),
    ('{"ts": "2026-11-30T08:12:44Z", "curl_code":60}', {"trust.interception", "clock.skewed", "cert.untrusted_root"}),
]


@pytest.mark.parametrize(("text", "expected"), ISSUE_7, ids=[text[:40] for text, _ in ISSUE_7])
def test_the_texts_issue_7_quotes_get_their_causes_in_the_top_3(text: str, expected: set[str]) -> None:
    e = explain(text)
    top3 = [c.code for c in e.candidates[:3]]
    assert expected <= set(top3), (top3, [(c.code, c.likelihood) for c in e.candidates])


def test_a_bare_curl_60_offers_the_field_s_several_causes_each_with_what_tells_it_apart() -> None:
    e = explain('"curl_code":60')
    codes = [c.code for c in e.candidates]
    assert UNTRUSTED_FAMILY <= set(codes)
    assert codes[:3] == ["trust.interception", "clock.skewed", "cert.untrusted_root"]
    for candidate in e.candidates:
        if candidate.code in UNTRUSTED_FAMILY:
            assert candidate.tells_apart, candidate.code


CASES = [
    # Windows: hex beats words in any language, and the signed HRESULT .NET prints counts too
    ("HResult=-2146893019 信頼されていない機関によって証明書チェーンが発行されました", "trust.interception"),
    ("Die Zertifikatkette wurde von einer nicht vertrauenswürdigen Zertifizierungsstelle ausgestellt "
     "(0x80090322)", "cert.hostname_mismatch"),
    ("CERT_E_CN_NO_MATCH", "cert.hostname_mismatch"),
    ("schannel: CertGetCertificateChain trust error CERT_TRUST_IS_PARTIAL_CHAIN", "cert.incomplete_chain"),
    ("Eine vorhandene Verbindung wurde vom Remotehost geschlossen", "tls.abrupt_close"),
    ("Le certificat reçu a expiré", "cert.expired"),
    ("Удаленный хост принудительно разорвал существующее подключение", "tls.abrupt_close"),
    ("A fatal alert was received from the remote endpoint. The TLS protocol defined fatal alert code is 70.",
     "tls.protocol_mismatch"),
    # .NET
    ("System.Net.WebException: The underlying connection was closed: Could not establish trust relationship for "
     "the SSL/TLS secure channel.", "trust.interception"),
    ("The remote certificate is invalid because of errors in the certificate chain: NotTimeValid", "cert.expired"),
    ("System.Net.WebException: The remote server returned an error: (407) Proxy Authentication Required.",
     "proxy.auth_required"),
    ("System.Net.WebException: The remote name could not be resolved: 'api.example.com'", "dns.name_not_resolved"),
    ("System.IO.IOException: Authentication failed because the remote party has closed the transport stream.",
     "tls.abrupt_close"),
    # Apple
    ("NSURLErrorDomain Code=-1201", "cert.expired"),
    ("CFNetwork SSLHandshake failed (-9836)", "tls.protocol_mismatch"),
    ("Task <x> finished with error [-1200] Error Domain=NSURLErrorDomain Code=-1200 \"An SSL error has occurred\" "
     "UserInfo={_kCFStreamErrorCodeKey=-9806}", "tls.abrupt_close"),
    # Browsers
    ("NET::ERR_CERT_DATE_INVALID", "cert.expired"),
    ("Your clock is behind\nNET::ERR_CERT_DATE_INVALID", "clock.skewed"),
    ("net::ERR_SSL_VERSION_OR_CIPHER_MISMATCH", "tls.protocol_mismatch"),
    ("SEC_ERROR_EXPIRED_CERTIFICATE", "cert.expired"),
    ("SSL_ERROR_RX_RECORD_TOO_LONG", "tls.not_tls"),
    ("SSL_ERROR_BAD_CERT_DOMAIN", "cert.hostname_mismatch"),
    ("Safari can’t verify the identity of the website “api.example.com”.", "trust.interception"),
    # Rust, Go, Node, Java, wget, git, containers
    ("error trying to connect: invalid peer certificate: NotValidForName", "cert.hostname_mismatch"),
    ("received fatal alert: HandshakeFailure", "tls.handshake_alert"),
    ("Unable to connect to the server: x509: certificate has expired or is not yet valid: current time "
     "2026-11-30T10:00:00Z is after 2026-11-01T00:00:00Z", "cert.expired"),
    ('Error response from daemon: Get "https://registry.example.com/v2/": net/http: TLS handshake timeout',
     "tls.handshake_timeout"),
    ("npm ERR! code SELF_SIGNED_CERT_IN_CHAIN", "cert.untrusted_root"),
    ("npm ERR! code ERR_SSL_WRONG_VERSION_NUMBER", "tls.not_tls"),
    ("javax.net.ssl.SSLPeerUnverifiedException: Hostname api.example.com not verified", "cert.hostname_mismatch"),
    ("ERROR: cannot verify api.example.com's certificate, issued by 'CN=R3,O=Let's Encrypt,C=US':\n"
     "  Issued certificate has expired.", "cert.expired"),
    ("fatal: unable to access 'https://github.com/x/y.git/': gnutls_handshake() failed: The TLS connection was "
     "non-properly terminated.", "tls.abrupt_close"),
    ("curl: (60) SSL certificate problem: Invalid certificate chain", "trust.interception"),
    ("curl: (35) wolfSSL: SSL_connect failed with error -188: ASN no signer error to confirm failure",
     "trust.interception"),
    ("verify error:num=10:certificate has expired", "cert.expired"),
    ("139876:error:14094410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:s3_pkt.c:1493:",
     "tls.handshake_alert"),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[text[:40] for text, _ in CASES])
def test_each_vocabulary(text: str, expected: str) -> None:
    e = explain(text)
    assert expected in [c.code for c in e.candidates[:3]], [(c.code, c.likelihood) for c in e.candidates]


def test_a_hex_code_wins_over_the_words_around_it() -> None:
    # A zh-CN "secure channel" message (a protocol reading) with the untrusted-root status code:
    # the code says more, and says it in no language.
    e = explain("请求被中止: 未能创建 SSL/TLS 安全通道。 (0x80090325)")
    assert e.signals[0].condition == "untrusted_issuer"
    assert e.candidates[0].code in {"trust.interception", "trust.store_mismatch"}


def test_text_nothing_recognises_says_what_to_collect() -> None:
    e = explain("the app does not work, please help https://api.example.com/login")
    assert e.candidates == ()
    assert any("curl -v https://api.example.com/" in line for line in e.collect)
    assert any("tlsdoctor diagnose" in line for line in e.collect)


def test_every_recogniser_is_well_formed() -> None:
    ecosystems = [r.ecosystem for r in RECOGNISERS]
    assert len(ecosystems) == len(set(ecosystems))
    build_index(RECOGNISERS)  # raises on empty phrases
    for recogniser in RECOGNISERS:
        assert isinstance(recogniser, Recogniser)
        assert recogniser.title and recogniser.covers
        assert recogniser.input_kind is None or recogniser.input_kind in INPUT_KINDS
        tables = [recogniser.phrases, recogniser.names, *recogniser.localised.values()]
        for table in tables:
            for spelling, meaning in table.items():
                assert isinstance(meaning, Means), (recogniser.ecosystem, spelling)
                assert meaning.condition is None or meaning.condition in CONDITIONS


def test_windows_and_dotnet_speak_ten_languages() -> None:
    languages = {"zh-CN", "zh-TW", "ja", "ko", "de", "fr", "es", "pt-BR", "ru"}
    for ecosystem in ("windows", "dotnet"):
        recogniser = next(r for r in RECOGNISERS if r.ecosystem == ecosystem)
        assert languages <= set(recogniser.localised)
        assert all(len(recogniser.localised[lang]) >= 11 for lang in languages), ecosystem


def test_every_condition_leads_to_a_finding_code() -> None:
    from tlsdoctor.classify import SIGNAL_TABLE

    for condition in CONDITIONS:
        rows = [row for row in SIGNAL_TABLE if condition in row.condition]
        assert rows, condition
        assert all(row.code in FINDING_CODES for row in rows)


# Words that classify.py once read with text rows of its own, now read by the recognisers (the
# table keeps libcurl's and OpenSSL's words only): each must still lead with the same cause.
MOVED_FROM_CLASSIFY = [
    ('Get "https://a.example/": x509: certificate has expired or is not yet valid: current time '
     "2026-12-02T10:00:00Z is after 2026-11-01T00:00:00Z", "cert.expired"),
    ('Get "https://a.example/": x509: certificate has expired or is not yet valid: current time '
     "2026-12-02T10:00:00Z is before 2026-12-05T00:00:00Z", "cert.not_yet_valid"),
    ("x509: certificate is valid for a.example, b.example, not c.example", "cert.hostname_mismatch"),
    ("http: server gave HTTP response to HTTPS client", "tls.not_tls"),
    ("proxyconnect tcp: dial tcp 192.0.2.10:3128: i/o timeout", "proxy.unreachable"),
    ("proxyconnect tcp: dial tcp 192.0.2.10:3128: connect: no route to host", "proxy.unreachable"),
    ("proxyconnect tcp: dial tcp: lookup proxy.corp.example on 192.0.2.53:53: no such host", "proxy.unresolvable"),
    ("dial tcp 192.0.2.1:443: i/o timeout", "tcp.timed_out"),
    ("tls: no supported versions satisfy MinVersion and MaxVersion", "tls.protocol_mismatch"),
    ("x509: failed to load system roots and no roots provided", "trust.bundle_missing"),
    ("java.net.SocketTimeoutException: connect timed out", "tcp.timed_out"),
    ("javax.net.ssl.SSLHandshakeException: The server selected protocol version TLS10 is not accepted by client "
     "preferences [TLS13, TLS12]", "tls.protocol_mismatch"),
    ("java.security.cert.CertificateNotYetValidException: NotBefore: Sat Dec 05 00:00:00 UTC 2026",
     "cert.not_yet_valid"),
    ("java.security.cert.CertificateException: No name matching a.example found", "cert.hostname_mismatch"),
    ("javax.net.ssl.SSLHandshakeException: Remote host terminated the handshake", "tls.abrupt_close"),
    ("javax.net.ssl.SSLException: Unrecognized SSL message, plaintext connection?", "tls.not_tls"),
    ("java.security.cert.CertPathValidatorException: Algorithm constraints check failed on keysize limits: "
     "RSA 1024 bit key", "cert.weak_key"),
    ("java.security.InvalidAlgorithmParameterException: the trustAnchors parameter must be non-empty",
     "trust.bundle_missing"),
    ("java.security.cert.CertPathValidatorException: Certificate has been revoked, reason: KEY_COMPROMISE",
     "cert.revoked"),
    ("Error: Client network socket disconnected before secure TLS connection was established", "tls.abrupt_close"),
    ("code: 'ERR_TLS_HANDSHAKE_TIMEOUT'", "tls.handshake_timeout"),
    ("Error: getaddrinfo ENOTFOUND a.example", "dns.name_not_resolved"),
    ("System.Net.Sockets.SocketException: No such host is known", "dns.name_not_resolved"),
    ("schannel: SEC_E_CERT_EXPIRED (0x80090328) - The received certificate has expired.", "cert.expired"),
    ("schannel: SEC_E_WRONG_PRINCIPAL (0x80090322) - The target principal name is incorrect.",
     "cert.hostname_mismatch"),
    ("schannel: next InitializeSecurityContext failed: CRYPT_E_REVOKED (0x80092010) - The certificate is revoked.",
     "cert.revoked"),
    ("requests.exceptions.ProxyError: HTTPSConnectionPool(host='a.example', port=443): Max retries exceeded with "
     "url: / (Caused by ProxyError('Unable to connect to proxy', NewConnectionError('Failed to establish a new "
     "connection: [Errno 111] Connection refused')))", "proxy.unreachable"),
    ("aiohttp.client_exceptions.ClientProxyConnectionError: Cannot connect to host proxy.example:3128 ssl:default",
     "proxy.unreachable"),
    # SQL Server's "SSL Provider" is a clue about the server; the error's own words come first.
    ("A connection was successfully established with the server, but then an error occurred during the pre-login "
     "handshake. (provider: SSL Provider, error: 0 - The target principal name is incorrect.)",
     "cert.hostname_mismatch"),
]


@pytest.mark.parametrize(("text", "code"), MOVED_FROM_CLASSIFY, ids=[t[:40] for t, _c in MOVED_FROM_CLASSIFY])
def test_other_clients_words_are_read_by_the_recognisers(text: str, code: str) -> None:
    candidates = explain(text).candidates
    assert candidates and candidates[0].code == code, [c.code for c in candidates[:3]]

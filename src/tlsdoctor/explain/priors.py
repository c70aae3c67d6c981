"""How often each cause is behind an ambiguous signal, for the client tlsdoctor serves first.

:mod:`tlsdoctor.classify` says which causes a signal *can* mean, with a generic likelihood.
When it offers several for one ambiguous signal — "no trusted issuer" (curl 60, verify 20,
.NET UntrustedRoot, NET::ERR_CERT_AUTHORITY_INVALID, rustls UnknownIssuer...) is six causes —
the order among them is a fact about the field, not about the signal. This module holds
those facts, in one place, with why, for one profile:

    PROFILE: a desktop application that ships its own CA file (libcurl, OpenSSL, Python with
    certifi, Java's cacerts), run on consumer and small-office machines behind home routers,
    antivirus products and the occasional corporate proxy.

and the context in a text that moves them (a proxy in the transcript, "self-signed
certificate in certificate chain", a clock years off, an inspection product's name).
Where the table has *specific* evidence (a row of likelihood ≥ :data:`SPECIFIC`: the issuer
is named "Zscaler", the chain is the leaf alone), that evidence outranks the prior.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Mapping

SPECIFIC = 0.6  # a table row at least this likely is evidence, not a base rate

PROFILE = ("a desktop app with a bundled CA file, on consumer and small-office networks "
           "(antivirus with HTTPS scanning, home routers, some corporate proxies)")


@dataclass(frozen=True)
class Prior:
    """One cause of an ambiguous signal: its share in the field, why, and what tells it apart."""

    code: str
    weight: float
    why: str
    tells_apart: str


@dataclass(frozen=True)
class Ambiguity:
    """A signal the table reads as several causes (recognised by ``anchors`` all being offered)."""

    name: str
    anchors: frozenset[str]
    priors: tuple[Prior, ...]
    # Each anchor's own reading must be at least this likely: a vague "certificate rejected"
    # also offers cert.expired (0.15) without being a date error.
    min_likelihood: float = 0.2
    # Whether a bare curl code (no words, no verify result) is read this way too: curl 60 alone
    # is, in the field, the "no trusted issuer" family far more often than anything else.
    bare_code: bool = False
    only_bare: bool = False  # read this way only when the signal is a bare code


_INTERCEPTION = Prior(
    "trust.interception", 0.30,
    "antivirus suites with HTTPS scanning (Avast/AVG, Kaspersky, ESET, Bitdefender) and TLS-inspecting proxies "
    "re-sign every site with a root they add to the OS store only; an app's own CA file never holds it, so on those "
    "machines every request fails while browsers work — the most frequent cause of curl 60 in desktop-app fleets",
    "the issuer of the certificate the app receives (`openssl s_client -showcerts`, or curl -v's `issuer:`) names "
    "the antivirus or proxy, not the site's CA; the same URL verifies from another network or with the product's "
    "HTTPS scanning off")
_INCOMPLETE = Prior(
    "cert.incomplete_chain", 0.18,
    "the server omits an intermediate; browsers fetch it (AIA) or have it cached, libcurl, OpenSSL, Java and Android "
    "do not — 'works in the browser, not in the app', and the commonest server-side cause in issue threads",
    "`openssl s_client -showcerts` shows only the leaf (or a chain whose top is not self-signed) and the failure is "
    "the same from every network and machine")
_UNTRUSTED = Prior(
    "cert.untrusted_root", 0.17,
    "the server's chain ends at a private or brand-new root that no public store holds (internal services, "
    "registries, appliances)",
    "the last issuer of `openssl s_client -showcerts` is not in certifi nor in the OS store of a machine that works, "
    "and every client fails, not only this one")
_STORE = Prior(
    "trust.store_mismatch", 0.15,
    "corporate and school machines trust a private root (inspection or internal CA) deployed by policy to the OS "
    "store; the app's bundled file lacks it",
    "`tlsdoctor diagnose URL` on that machine verifies against each trust source: the OS store accepts the chain, "
    "the app's CA file does not")
_CLOCK = Prior(
    "clock.skewed", 0.10,
    "consumer machines with a dead CMOS battery or a wrong time zone run years off; with the clock outside the "
    "validity of today's intermediates and cross-signs, no valid path exists and OpenSSL reports a missing issuer "
    "rather than a date",
    "`date -u` on the affected machine against the real time; the error goes away when the clock is set")
_OUTDATED = Prior(
    "trust.bundle_outdated", 0.10,
    "the app ships a CA file from years ago that predates the server's current root (ISRG Root X1, newer "
    "Sectigo/DigiCert roots)",
    "the chain's root is in a current certifi and in the OS store but not in the shipped file; compare the file's "
    "date and root count with a current certifi")


def _weighted(prior: Prior, weight: float) -> Prior:
    return Prior(prior.code, weight, prior.why, prior.tells_apart)


AMBIGUITIES: tuple[Ambiguity, ...] = (
    # "unable to get local issuer certificate", UntrustedRoot, NET::ERR_CERT_AUTHORITY_INVALID, SEC_ERROR_UNKNOWN_ISSUER,
    # "Trust anchor for certification path not found", rustls UnknownIssuer, Go's "unknown authority".
    Ambiguity("no trusted issuer", frozenset({"cert.untrusted_root", "trust.interception"}),
              (_INTERCEPTION, _INCOMPLETE, _UNTRUSTED, _STORE, _CLOCK, _OUTDATED)),
    # A bare curl 60 ("curl_code": 60 in an event, nothing else): the verification failed, reason
    # unknown. Interception still leads; a wrong clock (which fails verification for every reason:
    # expiry, not-yet-valid, no valid path) comes before the server-side causes.
    Ambiguity("a certificate problem, nothing more said", frozenset({"cert.untrusted_root", "trust.interception"}),
              (_INTERCEPTION, _weighted(_CLOCK, 0.18), _weighted(_UNTRUSTED, 0.16), _weighted(_STORE, 0.14),
               _weighted(_INCOMPLETE, 0.12), _weighted(_OUTDATED, 0.06)), bare_code=True, only_bare=True),
    Ambiguity("a certificate outside its validity period", frozenset({"cert.expired", "clock.skewed"}), (
        Prior("cert.expired", 0.45,
              "servers do let certificates expire, and then every client fails at once",
              "the certificate's notAfter (`openssl s_client ... | openssl x509 -noout -dates`) is in the past for "
              "a machine with the right time too"),
        Prior("clock.skewed", 0.40,
              "on consumer machines a clock days to years off is common (dead CMOS battery, dual boot, manual "
              "time zone), and only that machine fails",
              "`date -u` on the affected machine against the real time; other machines reach the site"),
        Prior("cert.not_yet_valid", 0.15,
              "a certificate issued minutes ago meets a client whose clock lags a little",
              "notBefore is in the future for the affected machine's clock"),
    ), min_likelihood=0.3),
)


@dataclass(frozen=True)
class Context:
    """A clue in the text that makes some causes likelier and others less likely."""

    name: str
    factors: Mapping[str, float]
    why: str
    phrases: tuple[str, ...] = ()  # lower-case literals; any one present is the clue
    verify: frozenset[int] = field(default_factory=frozenset)  # or one of these verify results was read


CONTEXTS: tuple[Context, ...] = (
    Context("a proxy on the path", {"trust.interception": 2.0, "trust.store_mismatch": 1.3, "clock.skewed": 0.6},
            "TLS-inspecting proxies are how most corporate networks see HTTPS; a certificate failure through a "
            "proxy is most often its re-signing",
            phrases=("uses proxy env variable", "establish http proxy tunnel", "connect tunnel", "proxy-authorization",
                     "\n> connect ", "https_proxy", "proxyconnect", "proxyerror", "via proxy", "through proxy",
                     "proxy tunnel")),
    Context("a self-signed certificate in the chain", {
        "trust.interception": 1.6, "cert.untrusted_root": 1.6, "trust.store_mismatch": 1.2,
        "cert.incomplete_chain": 0.2, "clock.skewed": 0.4, "trust.bundle_outdated": 0.5},
            "the server sent a whole chain up to a root the client does not hold: an inspection product's or a "
            "private root, not a missing intermediate",
            verify=frozenset({19})),
    Context("an inspection product's name", {"trust.interception": 4.0},
            "the text names a product that re-signs HTTPS (antivirus web shields, inspection proxies, debugging "
            "proxies)",
            phrases=("avast", "avg web", "kaspersky", "eset ssl filter", "eset ssl", "bitdefender", "zscaler",
                     "fortinet", "fortigate", "blue coat", "bluecoat", "netskope", "sophos", "mitmproxy", "fiddler",
                     "charles proxy", "cisco umbrella", "forcepoint", "palo alto networks", "check point software",
                     "mcafee web gateway", "untangle", "lightspeed", "securly", "goguardian",
                     "menlo security", "portswigger", "norton web", "webroot", "trend micro", "barracuda",
                     "smoothwall", "cyberoam", "sonicwall", "watchguard")),
    # SQL Server's TLS (SqlClient, ODBC, sqlcmd): a self-signed or private-CA server certificate,
    # never a web proxy or antivirus in the way, never a missing intermediate from a public CA.
    Context("SQL Server's login handshake", {
        "cert.untrusted_root": 2.5, "trust.interception": 0.3, "cert.incomplete_chain": 0.3,
        "trust.store_mismatch": 0.5, "clock.skewed": 0.3, "trust.bundle_outdated": 0.3},
            "SQL Server encrypts its login with a self-signed certificate unless an administrator installed one; "
            "an untrusted chain there is that certificate or a private CA",
            phrases=("ssl provider", "sqlclient", "sql server", "odbc driver", "sqlcmd", "clientconnectionid", "ssl 提供程序", "ssl プロバイダー",
                     "ssl-anbieter", "fournisseur ssl", "pre-login handshake", "登入前信號交換", "登入程序")),
    Context("a client certificate in play", {"tls.client_cert_required": 8.0},
            "the text speaks of the client's own certificate: a server that requires one is the likely cause",
            phrases=("client certificate", "clientcertificate", "certificado digital", "x509certificate2",
                     "certificate_required", "--cert ", "sslcert", "mutual tls", "mtls")),
    # Java trusts its own cacerts, not the OS store; Android apps ignore user-installed CAs. A
    # private or inspection root the OS trusts is then missing exactly there — on corporate
    # developer machines (Maven, Gradle) first of all.
    Context("a trust store of its own", {"trust.store_mismatch": 1.8},
            "the client uses a trust store of its own (Java's cacerts, an Android app's system-only trust), "
            "which lacks roots the OS or the user added",
            phrases=("failed to execute goal", "could not resolve dependencies", "could not transfer artifact",
                     "gradle", "mvn ", "maven", "cacerts", "keytool", "network_security_config", "user ca",
                     "install a certificate", "user-installed")),
    # curl's cacert.pem says its age on its first line: "Certificate data from Mozilla as of: ...".
    Context("an old CA file", {"trust.bundle_outdated": 5.0, "trust.store_mismatch": 1.5},
            "the app's CA file says it is a years-old copy of Mozilla's store: roots issued since are missing",
            phrases=("certificate data from mozilla as of",)),
    Context("works in a browser", {"cert.incomplete_chain": 2.0, "trust.store_mismatch": 1.4,
                                   "trust.bundle_outdated": 1.3},
            "browsers fetch missing intermediates and use the OS store; an app that fails where the browser "
            "works lacks an intermediate or a root",
            phrases=("works in the browser", "works in chrome", "works in firefox", "works in edge",
                     "browser works", "works fine in browser", "opens fine in the browser", "in the browser fine",
                     "on the same pc opens")),
)

# A clock years off, seen in a date that is not a certificate's own validity date.
_ISO_DATE = re.compile(r"\b(19[7-9]\d|20\d\d)-[01]\d-[0-3]\d")
_CURL_DATE = re.compile(r"\b[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d (19[7-9]\d|20\d\d)\b")
_CERT_DATE_WORDS = ("expire", "notafter", "not after", "notbefore", "not before", "valid until", "start date",
                    "valid from", "is after", "is before", "as of")
CLOCK_FACTORS = {"clock.skewed": 4.0}
CLOCK_WHY = "a date in the text years away from today, where a clock speaks (a log time stamp, Go's 'current time')"


def clock_years_off(lines: list[str], today: _dt.date | None = None) -> bool:
    """Whether a non-certificate date in the text is two or more years from today."""
    year = (today or _dt.date.today()).year
    for line in lines:
        lowered = line.lower()
        if "current time" in lowered:  # Go: "current time 2031-01-01T... is after 2026-..."
            head = line[lowered.index("current time"):][:40]
            match = _ISO_DATE.search(head)
            if match and abs(int(match[1]) - year) >= 2:
                return True
            continue
        if any(word in lowered for word in _CERT_DATE_WORDS):
            continue
        for pattern in (_ISO_DATE, _CURL_DATE):
            for match in pattern.finditer(line[:2000]):
                if abs(int(match[1]) - year) >= 2:
                    return True
    return False

"""The TLS handshake: does it complete, and if not, what did the server answer or accept?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from tlsdoctor.classify import Signal, classify
from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.rules.registry import E, finding, rule
from tlsdoctor.observe.observations import Observations
from tlsdoctor.wire import (
    MAX_RECORD_LEN, AlertDescription, AnswerKind, ContentType, ExtensionType, FirstAnswer, version_name,
)

if TYPE_CHECKING:
    from tlsdoctor.observe.capabilities import CapabilityObservation, HelloAttempt


@rule("tls.not_tls", "tls.protocol_mismatch", "tls.cipher_mismatch", "tls.handshake_alert",
      "tls.abrupt_close", "tls.handshake_timeout", "proxy.connect_refused")
def handshake(obs: Observations) -> Iterator[Finding]:
    """Does the TLS handshake complete, and if not, what did the server answer?"""
    hs = obs.handshake
    if hs is None or hs.ok or hs.route_error is not None or hs.certificate_requested:
        return  # a CertificateRequest, then a failure: `client_certificate` explains it
    answer = obs.first_answer.answer if obs.first_answer else None
    kind = answer.kind if answer else None
    caps = obs.capabilities
    evidence = {"first_answer": kind.name.lower() if kind else None,
                "first_bytes": answer.text_preview if answer else None, "openssl_error": hs.error}
    if kind is AnswerKind.PLAINTEXT and obs.route.proxy is not None and (
            _block_page(obs) or (_canned(answer) and not _origin_says_so_too(obs, answer))):
        yield _block_page_finding(obs, answer, evidence)  # type: ignore[arg-type]
        return
    if kind is AnswerKind.PLAINTEXT and _canned(answer):
        yield _network_page(obs, answer, evidence)  # type: ignore[arg-type]
        return
    if kind in (AnswerKind.PLAINTEXT, AnswerKind.GARBAGE):
        yield _not_tls(answer, evidence, through_proxy=obs.route.proxy is not None)  # type: ignore[arg-type]
        return
    if kind is AnswerKind.SILENCE or hs.timed_out:
        yield finding("tls.handshake_timeout", E, 0.9,
                      "TCP connected, but the server never answered the ClientHello.",
                      "A middlebox or an overloaded server swallows the handshake; try another network, "
                      "and check the server's TLS listener.", **evidence)
        return
    if kind in (AnswerKind.EOF, AnswerKind.RESET):
        how = "reset the connection" if kind is AnswerKind.RESET else "closed the connection"
        small = caps.small_hello if caps else None
        if small is not None and small.accepted and caps.default_client_hello_bytes > small.sent_bytes:  # type: ignore[union-attr]
            yield _large_hello(how, caps, small, evidence)  # type: ignore[arg-type]
            return
        yield finding("tls.abrupt_close", E, 0.85, f"The server {how} right after the ClientHello, with no TLS alert.",
                      "Something between client and server (firewall, DPI middlebox) or a crashing TLS server "
                      "drops the handshake; compare from another network.", **evidence)
        return
    versions = _version_mismatch(obs) or _legacy_renegotiation(obs)
    if versions is not None:
        yield versions
        return
    ciphers = _post_quantum_refused(obs) or _cipher_mismatch(obs) or _weak_dh(obs)
    if ciphers is not None:
        yield ciphers
        return
    alert = hs.alert if hs.alert is not None else (answer.alert_description if answer else None)
    if alert is not None:
        name = _alert_name(alert)
        fatal_close = int(alert) == AlertDescription.CLOSE_NOTIFY
        summary = ("The server answered the ClientHello with a fatal close_notify alert and closed: "
                   "it refuses this client before any negotiation." if fatal_close else
                   f"The server aborted the handshake with a fatal '{name}' alert.")
        if int(alert) == AlertDescription.UNRECOGNIZED_NAME:
            yield _unrecognized_name(obs, evidence)
            return
        yield finding("tls.handshake_alert", E, 0.85 if caps and not caps.versions_accepted else 0.7, summary,
                      "Read the server's TLS error log for this alert; it refuses something in the ClientHello "
                      "(SNI, version, client certificate, policy).", alert=name, **evidence)
        return
    candidates = classify(Signal(text=hs.error or ""))
    if candidates:
        best = candidates[0]
        yield finding(best.code, E, min(0.6, best.likelihood), f"The TLS handshake failed: {hs.error}.",
                      "See the evidence; `tlsdoctor explain` lists the possible causes.", **evidence)


# Key-share groups that make a ClientHello large: ML-KEM hybrids (RFC draft-ietf-tls-ecdhe-mlkem).
_POST_QUANTUM = frozenset({"x25519mlkem768", "secp256r1mlkem768", "secp384r1mlkem1024", "x25519kyber768draft00"})


def _large_hello(how: str, caps: CapabilityObservation, small: HelloAttempt, evidence: dict[str, object]) -> Finding:
    """The server fails on a large ClientHello and answers the same offer in a small one.

    A server (or middlebox) that reads one TCP segment and expects the whole hello in it
    breaks as soon as the hello spans two: OpenSSL 3.5's default post-quantum key share
    made every OpenSSL client's hello ~1.5 KB (https://tldr.fail lists the products).
    """
    size = caps.default_client_hello_bytes
    quantum = [g for g in caps.default_client_key_shares if g.lower() in _POST_QUANTUM]
    why = f" (its post-quantum key share, {quantum[0]}, makes it so)" if quantum else ""
    return finding("tls.abrupt_close", E, 0.9,
                   f"The server {how} after a ClientHello of {size} bytes{why}, more than one TCP segment on most "
                   f"networks; the same offer in a {small.sent_bytes}-byte hello is answered. The server, or a "
                   "middlebox on the way, does not read a ClientHello that spans two segments.",
                   "Fix or update the server or middlebox so that it reads the whole ClientHello "
                   "(https://tldr.fail); meanwhile a client can leave the post-quantum key share out "
                   "(curl --curves X25519:P-256, CURLOPT_SSL_EC_CURVES).",
                   client_hello_bytes=size, small_hello_bytes=small.sent_bytes,
                   key_shares=list(caps.default_client_key_shares), **evidence)


def _post_quantum_refused(obs: Observations) -> Finding | None:
    """The client's hello, with a post-quantum key share, got an alert; the same offer with a classic share is served.

    RFC 8446 §4.2.8 tells a server to ignore key shares for groups it does not know; stacks and
    middleboxes that mis-parse ML-KEM shares abort instead, and broke when browsers (2024) and
    OpenSSL 3.5 (2025) began to send X25519MLKEM768 by default. The alert is the server's, the
    cause is the key share: the capabilities probe resent the offer without it to tell.
    """
    caps, hs = obs.capabilities, obs.handshake
    small = caps.small_hello if caps else None
    quantum = [g for g in caps.default_client_key_shares if g.lower() in _POST_QUANTUM] if caps else []
    own = next((a for a in caps.attempts if a.name == "client"), None) if caps else None
    if small is None or not small.accepted or not quantum or own is None or own.alert is None:
        return None
    name = _alert_name(own.alert)
    return finding("tls.handshake_alert", E, 0.9,
                   f"The server answers a ClientHello carrying a post-quantum key share ({quantum[0]}) with a fatal "
                   f"'{name}' alert, and serves the same offer with a classic key share: its TLS stack, or a "
                   "middlebox on the way, cannot handle ML-KEM key shares (OpenSSL 3.5+, and browsers since "
                   "2024, send one by default).",
                   "Update the server's TLS library or the middlebox (a server must ignore key shares it does not "
                   "know, RFC 8446 §4.2.8); meanwhile a client can leave the post-quantum share out (curl --curves "
                   "X25519:P-256, CURLOPT_SSL_EC_CURVES; OpenSSL's Groups setting).", alert=name,
                   key_shares=list(caps.default_client_key_shares),  # type: ignore[union-attr]
                   classic_hello_served=True, openssl_error=hs.error if hs else None)


def _unrecognized_name(obs: Observations, evidence: dict[str, object]) -> Finding:
    """unrecognized_name (RFC 6066 §3): the server has no site for the name the client sent, or for none.

    A client that connects by IP address sends no SNI (RFC 6066 forbids addresses there), and
    CDNs and virtual-hosting front ends refuse such a hello: the fix is the site's host name.
    """
    target = obs.route.target
    if target.is_ip:
        summary = (f"The server refused the handshake with 'unrecognized_name': the URL names an IP address "
                   f"({target.host}), so the client sends no server name (SNI), and this server serves only the "
                   "sites it is named for.")
        remedy = "Use the site's host name in the URL (it is in the server's certificate), not its address."
    else:
        summary = (f"The server refused the handshake with 'unrecognized_name': it serves no site named "
                   f"'{target.host}'.")
        remedy = ("Check the host name (a typo, or a name the CDN or virtual host is not configured for), and the "
                  "server's SNI configuration.")
    return finding("tls.handshake_alert", E, 0.9, summary, remedy, alert="unrecognized_name",
                   sni_sent=target.server_name, **evidence)


def _alert_name(alert: int) -> str:
    try:
        return AlertDescription(int(alert)).name.lower()
    except ValueError:
        return f"alert {int(alert)}"


_VERSION_ORDER = ("1.0", "1.1", "1.2", "1.3")


def _client_versions(obs: Observations) -> tuple[str, ...]:
    caps = obs.capabilities
    offered = caps.default_client_versions if caps else ("1.2", "1.3")
    cap = obs.client.max_tls
    return tuple(v for v in offered if cap is None or _VERSION_ORDER.index(v) <= _VERSION_ORDER.index(cap))


def _version_mismatch(obs: Observations) -> Finding | None:
    caps = obs.capabilities
    if caps is None or not caps.versions_accepted:
        return None
    client = _client_versions(obs)
    if set(caps.versions_accepted) & set(client):
        return None
    server = ", ".join(f"TLS {v}" for v in caps.versions_accepted)
    offered = ", ".join(f"TLS {v}" for v in client)
    if max(caps.versions_accepted, key=_VERSION_ORDER.index) < min(client, key=_VERSION_ORDER.index):
        remedy = "The server only speaks versions current clients refuse: enable TLS 1.2 and 1.3 on it."
    else:
        remedy = "The client is too old for this server: update it (or its TLS library) to offer TLS 1.2/1.3."
    return finding("tls.protocol_mismatch", E, 0.95, f"No TLS version is acceptable to both: the server accepts "
                   f"{server}; the client offers {offered}.", remedy, server_versions=list(caps.versions_accepted),
                   client_versions=list(client))


def _legacy_renegotiation(obs: Observations) -> Finding | None:
    """A TLS ≤ 1.2 ServerHello without renegotiation_info: a server from before RFC 5746.

    OpenSSL 3 dropped SSL_OP_LEGACY_SERVER_CONNECT from its defaults, so every client on it
    (curl, Python 3.10+, Node 17+, Ruby, PHP, .NET on Linux) aborts right after such a
    ServerHello; clients on OpenSSL 1.1, Go, Java and Windows' schannel still connect, which is
    why "it works from the old machine" is the usual field report. The finding is read from the
    ServerHello itself; the client's words, when they say so, confirm it.
    """
    hs = obs.handshake
    flight = hs.server_flight if hs is not None else None
    hello = flight.server_hello if flight is not None else None
    if hello is None or hello.hello_retry_request or hello.version > (3, 3) \
            or ExtensionType.RENEGOTIATION_INFO in hello.extensions:
        return None
    words = " ".join(t for t in (hs.error if hs else None, obs.curl.error if obs.curl else None) if t)
    confirmed = "legacy renegotiation" in words.lower() or "0A000152" in words
    return finding("tls.protocol_mismatch", E, 0.95 if confirmed else 0.8,
                   f"The server speaks {version_name(hello.version)} without secure renegotiation (RFC 5746, 2010): "
                   "its ServerHello has no renegotiation_info, and OpenSSL 3 clients (curl, Python 3.10+, Node 17+, "
                   "PHP, Ruby, .NET on Linux) refuse it ('unsafe legacy renegotiation disabled'), while OpenSSL 1.1, "
                   "Go, Java and Windows' schannel still connect.",
                   "Update or patch the server (or the load balancer in front of it) to support RFC 5746. As a "
                   "stopgap for a client you control: OpenSSL's UnsafeLegacyServerConnect option (openssl.cnf "
                   "Options), Python's ssl.OP_LEGACY_SERVER_CONNECT.", secure_renegotiation=False,
                   server_version=version_name(hello.version), client_error=words or None)


def _cipher_mismatch(obs: Observations) -> Finding | None:
    """The server speaks a version the client offers, refused the client's own hello, and named what it takes."""
    caps = obs.capabilities
    if caps is None or not caps.versions_accepted or caps.default_client_ok is not False:
        return None  # True: the server takes the client's offer, the failure comes later; None: not asked
    client = set(_client_versions(obs))
    shared = [v for v in caps.versions_accepted if v in client]
    if not shared:
        return None
    accepted = {v: list(caps.suites_accepted.get(v, ())) for v in shared}
    offered = set(caps.default_client_suites)
    foreign = list(dict.fromkeys(n for v in reversed(shared) for n in accepted[v] if n not in offered))
    versions = ", ".join(f"TLS {v}" for v in shared)
    evidence = {"server_suites": accepted, "suites_list_complete": caps.suites_complete,
                "families": {n: caps.families[n] for n in foreign if n in caps.families} or None,
                "client_alert": _alert_name(caps.default_client_alert) if caps.default_client_alert is not None
                else None, "client_suites_offered": len(offered)}
    if foreign:
        families = sorted({caps.families[n] for n in foreign if n in caps.families})
        kinds = f" ({', '.join(families)})" if families else ""
        more = "" if caps.suites_complete else ", and perhaps more"
        return finding("tls.cipher_mismatch", E, 0.95,
                       f"The server speaks {versions} but accepts only cipher suites this client does not offer"
                       f"{kinds}: {', '.join(foreign[:6])}{more}.",
                       "Enable a modern cipher suite on the server (TLS 1.3 AES-GCM/ChaCha20, or ECDHE with AES-GCM "
                       "for TLS 1.2); a client would have to be rebuilt to offer these.", **evidence)
    groups = [g for g in caps.groups_selected if g not in caps.default_client_groups]
    if groups:
        return finding("tls.cipher_mismatch", E, 0.85,
                       f"The server speaks {versions} with suites this client offers, but refuses its hello: it "
                       f"wants the key-exchange group {', '.join(groups)}, which the client does not offer.",
                       "Enable X25519 or P-256 key exchange on the server (or offer that group in the client).",
                       server_groups=list(caps.groups_selected), client_groups=list(caps.default_client_groups),
                       **evidence)
    return finding("tls.cipher_mismatch", E, 0.6,
                   f"The server speaks {versions} and accepts suites this client offers, yet refuses the client's "
                   "own hello: no signature algorithm or group acceptable to both.",
                   "Compare the server's TLS policy (signature algorithms, groups) with the client's.", **evidence)


# OpenSSL refuses a finite-field DH group below 2048 bits at security level 2 (the default
# since 3.2; Debian's since 3.0): "dh key too small". Logjam (2015) is why.
MIN_DH_BITS = 2048


def _weak_dh(obs: Observations) -> Finding | None:
    caps, hs = obs.capabilities, obs.handshake
    bits = caps.dh_prime_bits if caps else None
    said = hs is not None and hs.error is not None and "dh key too small" in hs.error.lower()
    if bits is None or bits >= MIN_DH_BITS or not (said or caps.default_client_ok):  # type: ignore[union-attr]
        return None
    return finding("tls.cipher_mismatch", E, 0.95 if said else 0.8,
                   f"The server's only key exchange is finite-field Diffie-Hellman with a {bits}-bit group; the "
                   f"client refuses groups below {MIN_DH_BITS} bits (OpenSSL: 'dh key too small').",
                   "Configure the server with ECDHE suites, or a DH group of 2048 bits or more (RFC 7919 ffdhe2048; "
                   "nginx: ssl_dhparam).", dh_prime_bits=bits, openssl_error=hs.error if hs else None)


def _block_page(obs: Observations) -> bool:
    """Plain text inside a tunnel to a server that, met directly, speaks TLS: the proxy answered."""
    direct = obs.direct_handshake
    return obs.route.proxy is not None and direct is not None and direct.ok


# What an HTTP server answers bytes it cannot parse as a request (a ClientHello): a server
# that tried. Any other status was sent whatever the client said (see wire/first_answer.py).
_PARSE_ERROR_STATUSES = frozenset({400, 408, 411, 413, 414, 431, 501, 505})


def _canned(answer: FirstAnswer) -> bool:
    """An HTTP answer to a ClientHello that no server parsing it as a request would give."""
    return answer.http_status is not None and answer.http_status not in _PARSE_ERROR_STATUSES


def _origin_says_so_too(obs: Observations, answer: FirstAnswer) -> bool:
    """The server, met without the proxy, answers the ClientHello with the same status line:
    the proxy only relayed it (a filter in front of the server, not the proxy, sent the page)."""
    direct = obs.direct_handshake.first_answer if obs.direct_handshake is not None else None
    return direct is not None and direct.kind is AnswerKind.PLAINTEXT and direct.text_preview == answer.text_preview


def _network_page(obs: Observations, answer: FirstAnswer, evidence: dict[str, object]) -> Finding:
    """Something on the path answers the ClientHello with its own page: a captive portal or a filter.

    An HTTP server on a wrong port answers a ClientHello with 400 (it tried to parse it); a
    302 to a login page, a 403 or 451 page, or a 200 comes from something that answers every
    connection so, whatever is asked: hotel, airport and guest Wi-Fi before their terms are
    accepted, or a filtering gateway. curl says "wrong version number" (35) either way.
    """
    status, location = answer.http_status, answer.http_location
    target = obs.route.target
    if location is not None and status is not None and 300 <= status < 400:
        said = f"an HTTP {status} redirect to {location}"
        remedy = (f"Open {location} (or any http:// page) in a browser on this network and sign in or accept its "
                  "terms, then retry; or use another network.")
    else:
        said = f"its own HTTP page ({answer.text_preview!r})"
        remedy = (f"Open https://{target.authority}/ in a browser on this network to read the page (it names the "
                  "network's policy or login); ask the network's administrators, or use another network.")
    return finding("tls.not_tls", E, 0.9,
                   f"Something on this network answered the TLS ClientHello with {said}: a page sent whatever the "
                   "client asks (a server on a wrong port answers 400), so a captive portal (hotel, airport, guest "
                   "Wi-Fi) or a filtering gateway stands in for the site.", remedy,
                   http_status=status, http_location=location, **evidence)


def _block_page_finding(obs: Observations, answer: FirstAnswer, evidence: dict[str, object]) -> Finding:
    """A filtering proxy that accepts CONNECT, then answers the ClientHello itself with its block page.

    Clients report it as "wrong version number" (curl 35), which reads like a server on the
    wrong port. Two facts say it is the proxy: the server, met without the proxy, completes
    the handshake; or the answer's status is one no server parsing the ClientHello would give
    (a 403 page, a redirect), which is all there is to see where the proxy is the only route.
    """
    proxy, target = obs.route.proxy, obs.route.target
    assert proxy is not None
    direct = _block_page(obs)
    why = ("Without the proxy, the server completes the TLS handshake." if direct else
           f"HTTP {answer.http_status} is no answer a server gives a ClientHello it tried to read (that is 400): the "
           "page was sent whatever the client said.")
    return finding("proxy.connect_refused", E, 0.9 if direct else 0.85,
                   f"The proxy {proxy.url} accepted CONNECT {target.authority}, then answered the ClientHello "
                   f"itself, in plain text ({answer.text_preview!r}): a filtering proxy's block page. {why}",
                   f"The proxy's policy blocks this site: ask its administrators to allow {target.host} (the block "
                   "page names the rule or category), or exempt it (no_proxy) where the direct route is allowed.",
                   peer="proxy", proxy=proxy.url, **evidence)


def _not_tls(answer: FirstAnswer, evidence: dict[str, object], *, through_proxy: bool = False) -> Finding:
    """Plain text is a sure sign of a non-TLS port; bytes that are neither TLS nor text say less."""
    remedy = ("This port does not speak TLS: use the HTTPS port, or fix the server's TLS configuration "
              "(or an http:// proxy mistaken for the server).")
    if through_proxy:
        remedy += (" Through a proxy, the plain text may be the proxy's own block page sent inside the tunnel: "
                   "compare with a connection that avoids the proxy.")
    if answer.kind is AnswerKind.PLAINTEXT:
        return finding("tls.not_tls", E, 0.95,
                       f"The server answered the TLS ClientHello in plain text: {answer.text_preview!r}.", remedy,
                       **evidence)
    head = answer.preview
    evidence = {**evidence, "first_bytes": head[:16].hex(" ")}
    announced = _oversized_record(head)
    if announced is not None:
        # A record header (type, version 3.x) with a length TLS forbids: a broken TLS stack, a
        # non-TLS service whose bytes happen to start so, or a hostile server. OpenSSL says
        # "record overflow"/"packet length too long"; we know it is not valid TLS, not which.
        return finding("tls.not_tls", E, 0.6,
                       f"The server's answer is not valid TLS: its first record header announces {announced:,} "
                       f"bytes, more than TLS allows ({MAX_RECORD_LEN:,}, RFC 8446 §5.2): a broken TLS stack or "
                       "something else than TLS on this port.", remedy, announced_record_length=announced, **evidence)
    return finding("tls.not_tls", E, 0.7,
                   f"The server answered the TLS ClientHello with bytes that are neither a TLS record nor text "
                   f"(first bytes: {head[:8].hex(' ')}): this port speaks another binary protocol, or a broken one.",
                   remedy, **evidence)


def _oversized_record(head: bytes) -> int | None:
    """The length a TLS-looking record header announces, when it is beyond what TLS allows."""
    if len(head) < 5 or head[0] not in {int(t) for t in ContentType} or head[1] != 3 or head[2] > 4:
        return None
    length = int.from_bytes(head[3:5], "big")
    return length if length > MAX_RECORD_LEN else None


@rule("tls.client_cert_required")
def client_certificate(obs: Observations) -> Iterator[Finding]:
    """Does the server demand a client certificate that this client does not present?"""
    hs = obs.handshake
    if hs is None or not hs.certificate_requested or hs.route_error is not None:
        return
    curl = obs.curl
    http = obs.http
    failed_after = (curl is not None and curl.curl_code != 0) or (http is not None and http.answer is None)
    if hs.ok and not failed_after:
        return  # it asked, the client sent nothing, and the server went on: the request is optional
    # TLS 1.3: the handshake completes on the client's side and the alert certificate_required
    # (116) comes with the first read (libcurl 56); TLS 1.2: handshake_failure ends the
    # handshake itself (libcurl 35). Either way the CertificateRequest came first.
    alert = _alert_name(hs.alert) if hs.alert is not None else None
    error = (curl.error if curl is not None and curl.curl_code != 0 else None) or hs.error or next(
        (e.error for e in (http.exchanges if http is not None else ()) if e.error), None)
    if alert is None and error and "certificate required" in error.lower():
        alert = "certificate_required"
    when = "after the handshake, at the first read" if hs.ok else "during the handshake"
    names = hs.client_ca_names
    yield finding("tls.client_cert_required", E, 0.95 if alert else 0.85,
                  f"The server asks for a client certificate (CertificateRequest"
                  f"{', from ' + '; '.join(names[:3]) if names else ''}) and refuses this client, which presents "
                  f"none: it fails {when}{' with the alert ' + alert if alert else ''}.",
                  "Configure the client certificate and key the server expects (curl --cert/--key, "
                  "CURLOPT_SSLCERT), issued by one of the CAs it names; or, if this endpoint should be public, "
                  "turn off client authentication on the server (nginx: ssl_verify_client).",
                  tls_version=hs.version, alert=alert, client_ca_names=list(names) or None,
                  libcurl_code=curl.curl_code if curl else None, error=error)

"""Rules: observations in, findings out. One function per question, none touches the network.

Each rule answers one question a support engineer would ask ("did the name resolve?",
"is this chain someone else's?") from the facts in :class:`Observations`, and says how
sure the evidence makes it. Low-level signals (an alert number, a CONNECT status, a
libcurl code) are named through :mod:`tlsdoctor.classify`, the one table; rules add the
evidence that turns a likely reading into a diagnosis. A rule that lacks the facts it
needs says nothing: a wrong verdict is worse than none.

Rules register with :func:`rule`, naming the codes they may emit; the docs per finding
code are generated from that registry, so documentation and detection cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Iterable, Iterator

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from tlsdoctor import verify_codes as vc
from tlsdoctor.classify import Signal, classify
from tlsdoctor.findings import FINDING_CODES, Severity
from tlsdoctor.judge.coverage import could_not_check, ok_confidence, proofs_of_ok
from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.verdict import RANK, choose_verdict, ordered
from tlsdoctor.observe.observations import Observations, describe_cert, fingerprint
from tlsdoctor.observe.revocation import issued_by
from tlsdoctor.wire import MAX_RECORD_LEN, AlertDescription, AnswerKind, ContentType, FirstAnswer

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

EXPIRY_WARNING = timedelta(days=14)
CLOCK_TOLERANCE = timedelta(minutes=5)  # below this, clock differences are network noise

# Issuer names of TLS-inspecting products (antivirus, corporate gateways, debugging
# proxies). A second signal only: such a name proves nothing on its own.
INTERCEPTION_ISSUERS = (
    "antivirus", "web shield", "avast", "avg ", "kaspersky", "eset", "bitdefender", "norton", "mcafee",
    "sophos", "trend micro", "zscaler", "netskope", "fortinet", "fortigate", "palo alto", "blue coat",
    "bluecoat", "forcepoint", "websense", "cisco umbrella", "check point", "barracuda", "watchguard",
    "mitmproxy", "fiddler", "charles proxy", "burp", "proxyman", "untangle", "lightspeed", "securly",
    "goguardian", "contentkeeper", "iboss",
)


@dataclass(frozen=True)
class Rule:
    name: str
    emits: tuple[str, ...]
    question: str
    check: Callable[[Observations], Iterable[Finding]]


RULES: list[Rule] = []


def rule(*emits: str) -> Callable[[Callable[[Observations], Iterable[Finding]]], Callable[[Observations], Iterable[Finding]]]:
    for code in emits:
        assert code in FINDING_CODES, code

    def register(fn: Callable[[Observations], Iterable[Finding]]) -> Callable[[Observations], Iterable[Finding]]:
        RULES.append(Rule(fn.__name__, emits, (fn.__doc__ or "").strip().splitlines()[0], fn))
        return fn

    return register


def finding(code: str, severity: Severity, confidence: float, summary: str, remedy: str = "",
            **evidence: object) -> Finding:
    return Finding(code, severity, confidence, summary, remedy,
                   {k: v for k, v in evidence.items() if v is not None}, RANK[code])


def judge(obs: Observations) -> tuple[list[Finding], Finding]:
    """All findings (verdict first) and the verdict."""
    found: list[Finding] = []
    for entry in RULES:
        found.extend(entry.check(obs))
    if not any(f.severity is E for f in found):
        found.extend(unexplained_failure(obs))
    # "ok" is a claim that needs its evidence (judge/coverage.py): without it, say what is missing.
    unchecked, proofs = could_not_check(obs), proofs_of_ok(obs)
    if not any(f.severity is E for f in found) and not proofs:
        found.append(finding("diagnosis.incomplete", E, 0.6 if obs.cut else 0.4,
                             "Nothing this diagnosis observed shows the request working, and nothing explains a "
                             "failure: " + ("; ".join(f"{u.what}: {u.why}" for u in unchecked[:4])
                                            or "no probe got far enough") + ".",
                             "Diagnose again with a longer --timeout; see what it could not check.",
                             could_not_check=[u.to_dict() for u in unchecked]))
    ok = finding("ok", I, ok_confidence(proofs, unchecked, bool(obs.cut)),
                 "The request works: TLS and HTTP succeed with this client's trust."
                 + (f" Not checked: {'; '.join(u.what for u in unchecked[:4])}." if unchecked else ""),
                 proven_by=proofs, **_ok_evidence(obs))
    verdict = choose_verdict(found, ok)
    rest = [f for f in ordered(found) if f is not verdict]
    return [verdict, *rest], verdict


def unexplained_failure(obs: Observations) -> Iterator[Finding]:
    """The safety net: something failed and no rule could say why. Never let that read "ok".

    The best reading of libcurl's own error (the one table) becomes the verdict, with a
    confidence that says how little we know.
    """
    hs, curl = obs.handshake, obs.curl
    failed_handshake = hs is not None and not hs.ok
    failed_curl = curl is not None and curl.curl_code != 0
    if not (failed_handshake or failed_curl):
        return
    text = " ".join(t for t in (curl.error if curl else None, hs.error if hs else None) if t)
    signal = Signal(curl_code=curl.curl_code if failed_curl else None,  # type: ignore[union-attr]
                    verify_result=curl.verify_result if failed_curl and curl.curl_code == 60 else None,  # type: ignore[union-attr]
                    text=text)
    candidates = classify(signal)
    code = candidates[0].code if candidates else "tls.handshake_alert"
    yield finding(code, E, min(0.35, candidates[0].likelihood if candidates else 0.2),
                  f"The connection fails ({text or 'no error text'}), and no probe could pin down why; this is the "
                  "most likely reading of that error.", "Run `tlsdoctor explain` on the error for the other "
                  "candidates, and collect `curl -v` output from the affected machine.",
                  libcurl_code=curl.curl_code if curl else None, error=text,
                  candidates=[c.code for c in candidates[:4]])


def _ok_evidence(obs: Observations) -> dict[str, object]:
    hs = obs.handshake
    return {"tls_version": hs.version if hs else None, "cipher": hs.cipher if hs else None,
            "alpn": hs.alpn if hs else None,
            "http_status": obs.http.http1.status if obs.http else None}


# -- the route ------------------------------------------------------------------------------


@rule("proxy.unresolvable", "proxy.unreachable", "proxy.auth_required", "proxy.connect_refused")
def proxy_route(obs: Observations) -> Iterator[Finding]:
    """Does the proxy resolve, accept connections and agree to tunnel?"""
    proxy = obs.route.proxy
    if proxy is None:
        return
    res = obs.proxy_resolution
    if res is not None and not res.addresses:
        yield finding("proxy.unresolvable", E, 0.95, f"The proxy's name {proxy.host} does not resolve ({res.error}).",
                      f"Check the proxy setting ({proxy.source}): the host name is wrong or DNS cannot see it.",
                      proxy=proxy.url, resolver_error=res.error)
        return
    failure = _route_failure(obs)
    if failure is None:
        return
    stage, message, answer = failure
    if stage == "proxy-connect":
        yield finding("proxy.unreachable", E, 0.9, f"The proxy {proxy.url} does not accept connections: {message}.",
                      f"Check that the proxy ({proxy.source}) is running and reachable, or remove the setting.",
                      proxy=proxy.url, error=message)
    elif stage == "proxy-tunnel" and answer is not None and answer.status is not None:
        best = classify(Signal(connect_status=answer.status))
        code = best[0].code if best else "proxy.connect_refused"
        remedy = ("Configure the proxy's credentials for this client (tlsdoctor never sends them)."
                  if code == "proxy.auth_required"
                  else "Ask the proxy's administrators to allow CONNECT to this host and port.")
        yield finding(code, E, 0.95, f"The proxy answered CONNECT {obs.route.target.authority} with "
                      f"'{answer.status_line}'.", remedy, proxy=proxy.url, status_line=answer.status_line,
                      proxy_authenticate=dict(answer.headers).get("proxy-authenticate"))


def _route_failure(obs: Observations) -> tuple[str, str, object] | None:
    for probe in (obs.handshake, obs.first_answer):
        failure = getattr(probe, "route_error", None) if probe else None
        if failure is not None:
            return failure.stage, failure.message, failure.connect_answer
    return None


@rule("dns.name_not_resolved", "tcp.refused", "tcp.timed_out", "tcp.reset")
def direct_route(obs: Observations) -> Iterator[Finding]:
    """Does the host resolve, and does anything accept TCP connections there?"""
    if obs.route.proxy is not None:
        return
    target = obs.route.target
    res = obs.resolution
    if res is not None and not res.addresses:
        yield finding("dns.name_not_resolved", E, 0.95, f"The host name {target.host} does not resolve: {res.error}.",
                      "Check the spelling of the host, the machine's DNS settings and VPN; "
                      "a name that resolves elsewhere may be internal-only.", host=target.host, resolver_error=res.error)
        return
    if not obs.tcp or any(t.outcome == "connected" for t in obs.tcp):
        return
    outcomes = {t.outcome for t in obs.tcp}
    errno = {"refused": "ECONNREFUSED", "timed_out": "ETIMEDOUT", "reset": "ECONNRESET"}
    candidates = classify(Signal(errno=errno.get(next(iter(outcomes)))))
    code = candidates[0].code if len(outcomes) == 1 and candidates else "tcp.timed_out"
    detail = "; ".join(f"{t.address}: {t.outcome}" for t in obs.tcp)
    remedies = {
        "tcp.refused": "Nothing listens on that port: check the port, and that the server is running.",
        "tcp.timed_out": "Packets get no answer: a firewall drops them, or the host is down.",
        "tcp.reset": "Something resets the connection before TLS: a firewall or the server's own filter.",
    }
    yield finding(code, E, 0.9, f"No address of {target.host} accepts a TCP connection on port {target.port} "
                  f"({detail}).", remedies[code], addresses=[t.address for t in obs.tcp], outcomes=detail)


# -- the TLS handshake ----------------------------------------------------------------------


@rule("tls.not_tls", "tls.protocol_mismatch", "tls.cipher_mismatch", "tls.handshake_alert",
      "tls.abrupt_close", "tls.handshake_timeout")
def handshake(obs: Observations) -> Iterator[Finding]:
    """Does the TLS handshake complete, and if not, what did the server answer?"""
    hs = obs.handshake
    if hs is None or hs.ok or hs.route_error is not None:
        return
    answer = obs.first_answer.answer if obs.first_answer else None
    kind = answer.kind if answer else None
    caps = obs.capabilities
    evidence = {"first_answer": kind.name.lower() if kind else None,
                "first_bytes": answer.text_preview if answer else None, "openssl_error": hs.error}
    if kind in (AnswerKind.PLAINTEXT, AnswerKind.GARBAGE):
        yield _not_tls(answer, evidence)  # type: ignore[arg-type]
        return
    if kind is AnswerKind.SILENCE or hs.timed_out:
        yield finding("tls.handshake_timeout", E, 0.9,
                      "TCP connected, but the server never answered the ClientHello.",
                      "A middlebox or an overloaded server swallows the handshake; try another network, "
                      "and check the server's TLS listener.", **evidence)
        return
    if kind in (AnswerKind.EOF, AnswerKind.RESET):
        how = "reset the connection" if kind is AnswerKind.RESET else "closed the connection"
        yield finding("tls.abrupt_close", E, 0.85, f"The server {how} right after the ClientHello, with no TLS alert.",
                      "Something between client and server (firewall, DPI middlebox) or a crashing TLS server "
                      "drops the handshake; compare from another network.", **evidence)
        return
    versions = _version_mismatch(obs)
    if versions is not None:
        yield versions
        return
    ciphers = _cipher_mismatch(obs)
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
        yield finding("tls.handshake_alert", E, 0.85 if caps and not caps.versions_accepted else 0.7, summary,
                      "Read the server's TLS error log for this alert; it refuses something in the ClientHello "
                      "(SNI, version, client certificate, policy).", alert=name, **evidence)
        return
    candidates = classify(Signal(text=hs.error or ""))
    if candidates:
        best = candidates[0]
        yield finding(best.code, E, min(0.6, best.likelihood), f"The TLS handshake failed: {hs.error}.",
                      "See the evidence; `tlsdoctor explain` lists the possible causes.", **evidence)


def _not_tls(answer: FirstAnswer, evidence: dict[str, object]) -> Finding:
    """Plain text is a sure sign of a non-TLS port; bytes that are neither TLS nor text say less."""
    remedy = ("This port does not speak TLS: use the HTTPS port, or fix the server's TLS configuration "
              "(or an http:// proxy mistaken for the server).")
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


def _cipher_mismatch(obs: Observations) -> Finding | None:
    caps = obs.capabilities
    if caps is None or not caps.versions_accepted or caps.default_client_ok:
        return None
    client = set(_client_versions(obs))
    shared = [v for v in caps.versions_accepted if v in client]
    if not shared:
        return None
    negotiated = {v: caps.ciphers_negotiated.get(v) for v in shared}
    ciphers = ", ".join(sorted({c for c in negotiated.values() if c}))
    return finding("tls.cipher_mismatch", E, 0.9,
                   f"The server speaks TLS {', '.join(shared)} but only with cipher suites this client does not "
                   f"offer ({ciphers or 'see evidence'}).",
                   "Enable a modern cipher suite on the server (TLS 1.3 AES-GCM/ChaCha20, or ECDHE with AES-GCM "
                   "for TLS 1.2).", server_ciphers=negotiated, default_client_error=caps.default_client_error)


# -- trust ----------------------------------------------------------------------------------


def _client_source(obs: Observations):  # type: ignore[no-untyped-def]
    return obs.trust.sources[0] if obs.trust else None


def _validation(obs: Observations, kind: str, source: str = "ca-bundle"):  # type: ignore[no-untyped-def]
    return obs.trust.validation(source, kind) if obs.trust else None


def _client_trusts(obs: Observations) -> bool | None:
    """Does the client's own CA file accept the chain now, name included (strictly)?"""
    v = _validation(obs, "client_now")
    return v.ok if v else None


def libraries_accept(obs: Observations) -> bool:
    """Do the libraries clients use accept this chain with the client's trust?

    The cross-check for our own path validation (``cryptography``'s verifier), which has
    limits of its own (issue 12: it stopped at 8 intermediates where OpenSSL allows 100):
    when libcurl completed the request, or OpenSSL verified the whole presented chain with
    the client's CA file, no rule may call the chain untrusted.
    """
    curl = obs.curl
    if curl is not None and curl.curl_code == 0:
        return True
    hs, trust = obs.handshake, obs.trust
    whole = hs is not None and hs.chain_length == len(hs.presented_chain)
    return whole and trust is not None and trust.openssl_client is not None and trust.openssl_client.ok


def _interceptor(obs: Observations) -> tuple[float, dict[str, object]] | None:
    """Evidence that the presented chain is not the origin's own (confidence, evidence)."""
    chain = obs.presented_chain
    if not chain:
        return None
    leaf = chain[0]
    issuer_text = " ".join(f"{c.issuer.rfc4514_string()} {c.subject.rfc4514_string()}" for c in chain).lower()
    product = next((p.strip() for p in INTERCEPTION_ISSUERS if p in issuer_text), None)
    direct = obs.direct_handshake
    if obs.route.proxy is not None and direct is not None and direct.ok and direct.presented_chain:
        if fingerprint(direct.presented_chain[0]) != fingerprint(leaf):
            return 0.95, {"via_proxy_leaf": describe_cert(leaf), "direct_leaf": describe_cert(direct.presented_chain[0]),
                          "product_hint": product}
        return None
    if product is not None:
        return 0.6, {"presented_leaf": describe_cert(leaf), "product_hint": product}
    return None


@rule("trust.interception", "trust.store_mismatch")
def interception(obs: Observations) -> Iterator[Finding]:
    """Is someone between client and server re-signing the TLS traffic?"""
    found = _interceptor(obs)
    if found is None:
        return
    confidence, evidence = found
    trusted = _client_trusts(obs)
    issuer = obs.presented_chain[0].issuer.rfc4514_string()
    other = [v for v in (obs.trust.chain_only_now if obs.trust else ()) if v.source != "ca-bundle" and v.ok]
    how = ("the chain through the proxy differs from the origin's own" if "direct_leaf" in evidence
           else f"the issuer looks like a TLS-inspecting product ({evidence.get('product_hint')})")
    if trusted:
        yield finding("trust.interception", W, confidence,
                      f"The connection works, but it is intercepted: {how}; issuer '{issuer}' is trusted by "
                      "this client.", "If this inspection is not intended, find the product that installed "
                      "the CA (antivirus, corporate proxy, debugging tool).", **evidence)
        return
    yield finding("trust.interception", E, confidence,
                  f"Something between client and server re-signs TLS with its own CA ('{issuer}'): {how}.",
                  "Add the inspecting product's CA to the client's CA file (if the inspection is legitimate), "
                  "exclude this host from inspection, or bypass the proxy.", **evidence)
    for v in other:
        yield finding("trust.store_mismatch", E, 0.85,
                      f"The interceptor's CA is trusted by {_source_words(obs, v.source)}, but not by the CA file "
                      "the client uses.", "Make the client use the OS trust store (e.g. truststore for Python, "
                      "CURLSSLOPT_NATIVE_CA for libcurl) or add that CA to its CA file.", trusted_by=v.source)


def _source_words(obs: Observations, name: str) -> str:
    source = next((s for s in obs.trust.sources if s.name == name), None) if obs.trust else None
    return source.description if source else name


@rule("trust.store_mismatch")
def store_mismatch(obs: Observations) -> Iterator[Finding]:
    """Does the chain verify with another trust source on this machine but not the client's?"""
    if obs.trust is None or _interceptor(obs) is not None:
        return
    client_ok = _validation(obs, "chain_only_now")
    others = [v for v in obs.trust.chain_only_now if v.source != "ca-bundle"]
    if client_ok is None or (not client_ok.ok and libraries_accept(obs)):
        return
    trusted_elsewhere = [v for v in others if v.ok]
    if not client_ok.ok and trusted_elsewhere:
        v = trusted_elsewhere[0]
        yield finding("trust.store_mismatch", E, 0.9,
                      f"The chain is trusted by {_source_words(obs, v.source)} but not by the client's CA file "
                      f"({_source_words(obs, 'ca-bundle')}).",
                      "Make the client use the OS store (truststore / CURLSSLOPT_NATIVE_CA) or add the missing CA "
                      f"('{v.anchor}') to its CA file.", anchor=v.anchor, trusted_by=v.source)
    elif client_ok.ok and others and not any(v.ok for v in others):
        yield finding("trust.store_mismatch", W, 0.6,
                      "The chain verifies only with the client's CA file; the OS store does not trust it.",
                      "Other programs on this machine will fail on this host; that may be intended.",
                      anchor=client_ok.anchor)


@rule("trust.bundle_corrupt")
def bundle_corrupt(obs: Observations) -> Iterator[Finding]:
    """Does a broken entry in the client's CA file break verification?"""
    trust = obs.trust
    if trust is None or trust.lint is None or not trust.lint.problems:
        return
    broken = [p for p in trust.lint.problems if p.index in trust.lint.broken_indexes()]
    if not broken:
        return
    entries = "; ".join(p.detail for p in broken[:3])
    if trust.openssl_client is not None and not trust.openssl_client.ok and trust.openssl_cleaned is not None \
            and trust.openssl_cleaned.ok:
        yield finding("trust.bundle_corrupt", E, 0.95,
                      f"The client's CA file holds a broken entry that breaks verification: {entries}.",
                      f"Remove entry {broken[0].index} (line {broken[0].line}) from {trust.lint.path}, or "
                      "regenerate the CA file from a clean source (certifi, the OS store).",
                      openssl_error=trust.openssl_client.message, openssl_code=trust.openssl_client.verify_code,
                      broken_entries=[{"index": p.index, "line": p.line, "problem": p.problem, "subject": p.subject}
                                      for p in broken])
    else:
        yield finding("trust.bundle_corrupt", W, 0.7, f"The client's CA file has broken entries: {entries}.",
                      "They do not break this connection, but may break others: clean the CA file.",
                      broken_entries=[p.index for p in broken])


@rule("clock.skewed", "cert.expired", "cert.not_yet_valid")
def validity(obs: Observations) -> Iterator[Finding]:
    """Is a certificate out of its validity window, and is that the certificate's fault or the clock's?"""
    chain = obs.presented_chain
    if not chain:
        return
    now, server = obs.local_time, obs.server_time
    offset = (now - server) if server else None
    skewed = offset is not None and abs(offset) > CLOCK_TOLERANCE
    server_ok = [v for v in (obs.trust.chain_only_server_time if obs.trust else ()) if v.ok]
    now_ok = [v for v in (obs.trust.chain_only_now if obs.trust else ()) if v.ok]
    out_of_window = [c for c in chain[:4] if not c.not_valid_before_utc <= now <= c.not_valid_after_utc]
    clock_evidence = {"local_time": now.isoformat(), "server_date": server.isoformat() if server else None,
                      "offset_s": int(offset.total_seconds()) if offset is not None else None}
    if out_of_window and skewed and server is not None and all(
        c.not_valid_before_utc <= server <= c.not_valid_after_utc for c in out_of_window
    ):
        direction = "ahead" if offset > timedelta(0) else "behind"  # type: ignore[operator]
        yield finding("clock.skewed", E, 0.95 if server_ok or not now_ok else 0.85,
                      f"This machine's clock is {_duration(abs(offset))} {direction}; the certificate is valid at "  # type: ignore[arg-type]
                      "the server's time.", "Set the system clock (enable network time); no change on the server "
                      "is needed.", **clock_evidence)
        stale = out_of_window[0]
        code = "cert.expired" if now > stale.not_valid_after_utc else "cert.not_yet_valid"
        yield finding(code, E, 0.2, "The certificate only looks out of date because of the local clock.",
                      **describe_cert(stale))
        return
    if skewed and not out_of_window:
        yield finding("clock.skewed", W, 0.8, f"This machine's clock differs from the server's by "
                      f"{_duration(abs(offset))}; certificates may soon look expired.",  # type: ignore[arg-type]
                      "Enable network time on this machine.", **clock_evidence)
    for cert in out_of_window:
        expired = now > cert.not_valid_after_utc
        which = "leaf" if cert is chain[0] else f"chain certificate '{cert.subject.rfc4514_string()}'"
        if expired:
            yield finding("cert.expired", E, 0.95 if server is not None else 0.8,
                          f"The {which} expired {_duration(now - cert.not_valid_after_utc)} ago "
                          f"({cert.not_valid_after_utc:%Y-%m-%d}).",
                          "Renew the certificate on the server (and automate renewal).",
                          **describe_cert(cert), **clock_evidence)
        else:
            yield finding("cert.not_yet_valid", E, 0.95 if server is not None else 0.8,
                          f"The {which} only becomes valid on {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC.",
                          "Install a certificate that is valid now (or wait).", **describe_cert(cert), **clock_evidence)
    leaf = chain[0]
    if not out_of_window and leaf.not_valid_after_utc - now < EXPIRY_WARNING:
        yield finding("cert.expired", W, 0.9, f"The certificate expires in {_duration(leaf.not_valid_after_utc - now)} "
                      f"({leaf.not_valid_after_utc:%Y-%m-%d}).", "Renew it now.", **describe_cert(leaf))


def _duration(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} days"
    if seconds >= 2 * 3600:
        return f"{seconds // 3600} hours"
    return f"{max(seconds // 60, 1)} minutes"


@rule("cert.self_signed", "cert.incomplete_chain", "cert.untrusted_root")
def chain_to_trust(obs: Observations) -> Iterator[Finding]:
    """Does the presented chain lead to a CA the client trusts, and if not, why not?"""
    chain = obs.presented_chain
    chain_only = _validation(obs, "chain_only_now")
    if not chain or chain_only is None or chain_only.ok or _interceptor(obs) is not None:
        return
    if libraries_accept(obs):
        return  # OpenSSL and libcurl accept it: our own check hit a limit of its own (judge/coverage.py says which)
    if any(not c.not_valid_before_utc <= obs.local_time <= c.not_valid_after_utc for c in chain[:4]):
        return  # a date problem, judged by `validity`
    trust = obs.trust
    if trust is not None and trust.openssl_cleaned is not None and trust.openssl_cleaned.ok:
        return  # the CA file's broken entry, judged by `bundle_corrupt`
    if any(v.ok for v in trust.chain_only_now if v.source != "ca-bundle"):  # type: ignore[union-attr]
        return  # trusted elsewhere: `store_mismatch`
    if property_problems(chain):
        return  # a weak digest, key or usage fails strict verification: `certificate_properties`
    leaf = chain[0]
    if leaf.issuer == leaf.subject and issued_by(leaf, leaf):
        yield finding("cert.self_signed", E, 0.95, f"The server presents a self-signed certificate "
                      f"('{leaf.subject.rfc4514_string()}').", "Install a certificate from a trusted CA on the "
                      "server, or (for a private service) add this exact certificate to the client's trust.",
                      **describe_cert(leaf))
        return
    fetched = obs.revocation.issuer_fetch if obs.revocation else None
    if trust is not None and trust.with_fetched_issuer is not None and trust.with_fetched_issuer.ok:
        yield finding("cert.incomplete_chain", E, 0.95,
                      f"The server sends its certificate without the intermediate "
                      f"'{leaf.issuer.rfc4514_string()}'; with that intermediate (fetched from the certificate's "
                      "caIssuers URL) the chain is trusted.",
                      "Configure the server to send the full chain (leaf, then intermediates: fullchain.pem).",
                      missing_issuer=leaf.issuer.rfc4514_string(), ca_issuers_url=fetched.url if fetched else None,
                      presented=len(chain))
        return
    last = chain[-1]
    root_in_chain = last.issuer == last.subject
    issuer = last.subject if root_in_chain else last.issuer
    missing = not any(c.subject == leaf.issuer for c in chain[1:]) and not root_in_chain
    yield finding("cert.untrusted_root", E, 0.6 if missing else 0.85,
                  f"The chain ends at '{issuer.rfc4514_string()}', a CA that no trust source on this machine holds.",
                  "If this is a private CA, add its root to the client's CA file; otherwise the server must use a "
                  "certificate from a public CA.", anchor_missing=issuer.rfc4514_string(), chain_length=len(chain),
                  client_error=chain_only.error)


@rule("cert.weak_signature", "cert.weak_key", "cert.bad_usage")
def certificate_properties(obs: Observations) -> Iterator[Finding]:
    """Does a certificate use a digest, key size or usage that clients reject?"""
    chain = obs.presented_chain
    if not chain:
        return
    if _interceptor(obs) is not None:
        return
    # Strict verifiers and OpenSSL disagree here (cryptography accepts RSA 1024, OpenSSL at
    # security level 2 does not), so libcurl's real outcome decides: rejected there, or by
    # the strict verifier, is an error; accepted by libcurl is a warning.
    curl = obs.curl
    accepted_by_libcurl = curl is not None and curl.curl_code == 0
    rejected = (curl is not None and curl.curl_code == 60) or _client_trusts(obs) is False
    severity = W if accepted_by_libcurl and not rejected else E
    for code, cert, summary, remedy, evidence in property_problems(chain):
        confidence = 0.95 if curl is not None and curl.verify_result in _VERIFY_FOR.get(code, ()) else 0.85
        yield finding(code, severity, confidence, summary, remedy, **evidence, **describe_cert(cert))


# OpenSSL verify results that name each property problem (what libcurl reports)
_VERIFY_FOR = {
    "cert.weak_signature": (vc.X509_V_ERR_CA_MD_TOO_WEAK,),
    "cert.weak_key": (vc.X509_V_ERR_EE_KEY_TOO_SMALL, vc.X509_V_ERR_CA_KEY_TOO_SMALL),
    "cert.bad_usage": (vc.X509_V_ERR_INVALID_PURPOSE,),
}


def property_problems(chain: tuple[x509.Certificate, ...]) -> list[tuple[str, x509.Certificate, str, str, dict]]:
    """Digest, key size and usage problems of the presented certificates, as (code, cert, words)."""
    problems: list[tuple[str, x509.Certificate, str, str, dict]] = []
    for cert in chain[:4]:
        is_root = cert.issuer == cert.subject
        algorithm = cert.signature_hash_algorithm
        if not is_root and algorithm is not None and algorithm.name in ("sha1", "md5"):
            problems.append(("cert.weak_signature", cert,
                             f"'{cert.subject.rfc4514_string()}' is signed with {algorithm.name.upper()}, which "
                             "current clients reject.", "Reissue the certificate with SHA-256.",
                             {"digest": algorithm.name}))
        key = cert.public_key()
        if isinstance(key, (rsa.RSAPublicKey, dsa.DSAPublicKey)) and key.key_size < 2048:
            problems.append(("cert.weak_key", cert,
                             f"'{cert.subject.rfc4514_string()}' has a {key.key_size}-bit key; clients require 2048.",
                             "Reissue the certificate with an RSA 2048+ or ECDSA P-256 key.",
                             {"key_bits": key.key_size}))
    usage = _usage_problem(chain[0]) if chain else None
    if usage:
        problems.append(("cert.bad_usage", chain[0], f"The certificate cannot be used by a TLS server: {usage}.",
                         "Reissue it with extendedKeyUsage serverAuth (and keyUsage digitalSignature).", {}))
    return problems


def _usage_problem(leaf: x509.Certificate) -> str | None:
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.SERVER_AUTH not in eku and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku:
            names = ", ".join(getattr(o, "_name", o.dotted_string) for o in eku)
            return f"its extended key usage allows only {names}"
    except x509.ExtensionNotFound:
        pass
    except ValueError:
        return "its extended key usage extension does not parse"
    try:
        ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        if not (ku.digital_signature or ku.key_encipherment or ku.key_agreement):
            return "its key usage allows neither digitalSignature nor keyEncipherment"
    except x509.ExtensionNotFound:
        pass
    except ValueError:
        return "its key usage extension does not parse"
    return None


@rule("cert.hostname_mismatch")
def hostname(obs: Observations) -> Iterator[Finding]:
    """Is the certificate for this host name?"""
    chain = obs.presented_chain
    with_name, without = _validation(obs, "client_now"), _validation(obs, "chain_only_now")
    if not chain or with_name is None or without is None or with_name.ok or not without.ok:
        return
    if _interceptor(obs) is not None:
        return
    leaf = chain[0]
    described = describe_cert(leaf)
    host = obs.route.target.host
    if not described["san"]:
        cn = leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        cn_text = str(cn[0].value) if cn else None
        matches_cn = cn_text is not None and cn_text.lower() == host.lower()
        summary = (f"The certificate has no subjectAltName; '{host}' is only in its CN. libcurl still accepts that "
                   "(CN fallback), but browsers, Python, Go and Java refuse it." if matches_cn else
                   f"The certificate has no subjectAltName and its CN '{cn_text}' is not '{host}'.")
        yield finding("cert.hostname_mismatch", E, 0.9, summary,
                      "Reissue the certificate with the host name in subjectAltName (RFC 6125 / CA/B Forum).",
                      common_name=cn_text, **described)
        return
    yield finding("cert.hostname_mismatch", E, 0.95,
                  f"The certificate is for {', '.join(described['san'][:5])}, not for '{host}'.",
                  "Use the host name the certificate is for, or reissue it to include this name.",
                  host=host, **described)


# -- revocation -----------------------------------------------------------------------------


@rule("cert.revoked", "cert.must_staple_missing")
def revocation(obs: Observations) -> Iterator[Finding]:
    """Do OCSP or the CRL say the certificate is revoked; does it demand a staple it lacks?"""
    rev = obs.revocation
    if rev is None:
        return
    sayers = [a for a in (rev.staple, rev.responder) if a is not None and a.status == "revoked"
              and a.signed_by_issuer is not False]
    crl_says = rev.crl is not None and rev.crl.listed and rev.crl.signed_by_issuer is not False
    if sayers or crl_says:
        channels = [f"OCSP ({a.source})" for a in sayers] + (["the CRL"] if crl_says else [])
        when = sayers[0].revocation_time if sayers else None
        yield finding("cert.revoked", E, 0.95 if (sayers and crl_says) or any(a.source == "staple" for a in sayers)
                      else 0.9, f"The certificate is revoked, says {' and '.join(channels)}.",
                      "The server must install a new certificate; the revoked one must not be used again.",
                      channels=channels, revoked_at=when.isoformat() if when else None,
                      ocsp_url=rev.ocsp_url, crl_url=rev.crl_url)
        return
    if rev.must_staple and rev.staple is None and obs.handshake and obs.handshake.ok:
        yield finding("cert.must_staple_missing", E, 0.9,
                      "The certificate demands a stapled OCSP response (TLS Feature: must-staple), and the server "
                      "sent none: strict clients (Firefox, curl --cert-status) refuse it.",
                      "Enable OCSP stapling on the server (nginx: ssl_stapling on), or drop must-staple.",
                      ocsp_url=rev.ocsp_url)


# -- HTTP -----------------------------------------------------------------------------------


@rule("http2.negotiation_failed", "proxy.upstream_failed", "http.error")
def http(obs: Observations) -> Iterator[Finding]:
    """Once TLS works, does HTTP work, over both HTTP/1.1 and HTTP/2?"""
    if obs.http is None:
        return
    h1, h2 = obs.http.http1, obs.http.h2
    hs = obs.handshake
    answered = h1.ok or (h2 is not None and h2.ok)
    if h1.timed_out and not answered and hs is not None and hs.ok:
        curl = obs.curl
        yield finding("http.timed_out", E, 0.9 if curl is not None and curl.curl_code == 28 else 0.8,
                      f"TLS works, but the server's HTTP answer did not come whole in time ({h1.error}).",
                      "The application behind TLS hangs or trickles its answer: see its logs; clients fail "
                      "with a timeout meanwhile.", http1_error=h1.error, h2_error=h2.error if h2 else None,
                      libcurl_code=curl.curl_code if curl else None, libcurl_error=curl.error if curl else None)
        return
    if h2 is not None and not h2.ok and h1.ok:
        yield finding("http2.negotiation_failed", E, 0.9,
                      f"ALPN selected HTTP/2, then HTTP/2 failed ({h2.error}); HTTP/1.1 works.",
                      "Fix HTTP/2 on the server or the proxy in front of it, or disable h2 in ALPN; clients can "
                      "use HTTP/1.1 meanwhile (curl --http1.1).", h2_error=h2.error, http1_status=h1.status)
    status = h1.status if h1.ok else (h2.status if h2 and h2.ok else None)
    if status is None:
        return
    if obs.route.proxy is not None and status in (502, 504) and _interceptor(obs) is not None:
        yield finding("proxy.upstream_failed", E, 0.85,
                      f"The inspecting proxy answered {status} itself: it could not reach or verify the origin.",
                      "Diagnose the origin from the proxy's side (or without the proxy); the proxy's error page "
                      "usually names the reason.", status=status)
    elif status >= 500:
        yield finding("http.error", E, 0.7, f"TLS is fine; the server answered HTTP {status}.",
                      "A server-side error: see the server's logs.", status=status)
    elif status >= 400:
        yield finding("http.error", W, 0.5, f"TLS is fine; the server answered HTTP {status} to HEAD "
                      f"/ (the only request an unverified probe sends).", "Often expected for a site root; check the real request.",
                      status=status)


@rule("trust.bundle_missing")
def bundle_missing(obs: Observations) -> Iterator[Finding]:
    """Is a CA file the client relies on missing or unreadable?"""
    for source in obs.trust.sources if obs.trust else ():
        if source.name == "os-store" and source.error and source.path:
            yield finding("trust.bundle_missing", W, 0.7, f"The OS trust store setting points at something "
                          f"unusable: {source.error}.", "Fix SSL_CERT_FILE / SSL_CERT_DIR or install ca-certificates.",
                          path=source.path)

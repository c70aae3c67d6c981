"""The TLS handshake: does it complete, and if not, what did the server answer or accept?"""

from __future__ import annotations

from typing import Iterator

from tlsdoctor.classify import Signal, classify
from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.rules.registry import E, finding, rule
from tlsdoctor.observe.observations import Observations
from tlsdoctor.wire import MAX_RECORD_LEN, AlertDescription, AnswerKind, ContentType, FirstAnswer


@rule("tls.not_tls", "tls.protocol_mismatch", "tls.cipher_mismatch", "tls.handshake_alert",
      "tls.abrupt_close", "tls.handshake_timeout")
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


@rule("tls.client_cert_required")
def client_certificate(obs: Observations) -> Iterator[Finding]:
    """Does the server demand a client certificate that this client does not present?"""
    hs = obs.handshake
    if hs is None or not hs.certificate_requested or hs.route_error is not None:
        return
    curl = obs.curl
    http1 = obs.http.http1 if obs.http else None
    failed_after = (curl is not None and curl.curl_code != 0) or (http1 is not None and not http1.ok)
    if hs.ok and not failed_after:
        return  # it asked, the client sent nothing, and the server went on: the request is optional
    # TLS 1.3: the handshake completes on the client's side and the alert certificate_required
    # (116) comes with the first read (libcurl 56); TLS 1.2: handshake_failure ends the
    # handshake itself (libcurl 35). Either way the CertificateRequest came first.
    alert = _alert_name(hs.alert) if hs.alert is not None else None
    error = (curl.error if curl is not None and curl.curl_code != 0 else None) or hs.error or (
        http1.error if http1 is not None else None)
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

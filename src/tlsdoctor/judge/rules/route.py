"""The route: DNS, TCP, and the proxy, before any TLS."""

from __future__ import annotations

import ipaddress

from typing import Iterator

from tlsdoctor.classify import Signal, classify
from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.rules.registry import E, W, finding, rule
from tlsdoctor.observe.observations import Observations
from tlsdoctor.wire import AnswerKind


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
    stage, message, answer, silent = failure
    if stage == "proxy-connect" and silent:
        yield finding("proxy.unreachable", E, 0.9, f"The proxy {proxy.url} does not answer: no connection within "
                      "the timeout (a firewall drops the packets, or the proxy's host is down or elsewhere).",
                      f"Check that the proxy ({proxy.source}) is running and reachable from this network (a proxy "
                      "of the office network, met from home, goes unanswered), or remove the setting.",
                      proxy=proxy.url, error=message)
    elif stage == "proxy-connect":
        yield finding("proxy.unreachable", E, 0.9, f"The proxy {proxy.url} does not accept connections: {message}.",
                      f"Check that the proxy ({proxy.source}) is running and reachable, or remove the setting.",
                      proxy=proxy.url, error=message)
    elif stage == "proxy-tunnel" and answer is not None and answer.status is not None:
        best = classify(Signal(connect_status=answer.status))
        code = best[0].code if best else "proxy.connect_refused"
        said = f"The proxy answered CONNECT {obs.route.target.authority} with '{answer.status_line}'"
        if code == "proxy.auth_required":
            yield _auth_required(obs, said, answer.headers)
            return
        yield finding(code, E, 0.95, f"{said}.", "Ask the proxy's administrators to allow CONNECT to this host "
                      "and port.", proxy=proxy.url, status_line=answer.status_line)


# Proxy-Authenticate schemes that log in as the machine's user (Windows' integrated authentication):
# browsers and the platform's HTTP stack answer them by themselves; libcurl and Python do not.
_INTEGRATED = frozenset({"ntlm", "negotiate", "kerberos"})


def _auth_required(obs: Observations, said: str, headers: tuple[tuple[str, str], ...]) -> Finding:
    """A 407: which credentials the proxy wants, and whether the client's setting can give them.

    The field's two traps: a proxy that accepts only NTLM/Negotiate (the browser works, as the
    logged-in user; curl and Python get 407 however right their password is, since credentials
    in a proxy URL go as Basic), and a proxy URL that carries credentials, which tlsdoctor never
    sends, so that its own 407 proves nothing about them.
    """
    proxy = obs.route.proxy
    assert proxy is not None
    challenges = [value for name, value in headers if name == "proxy-authenticate"]
    schemes = list(dict.fromkeys(c.split(None, 1)[0].lower() for c in challenges if c.strip()))
    offered = ", ".join(s.upper() if s == "ntlm" else s.capitalize() for s in schemes) or "no scheme named"
    evidence = {"proxy": proxy.url, "status_line": said.rsplit("'", 2)[-2], "proxy_authenticate": challenges,
                "schemes": schemes, "credentials_in_setting": proxy.has_credentials}
    if proxy.url.startswith("socks4"):
        # SOCKS4 has no passwords: a proxy that checks users asks the client machine's identd
        # (RFC 1413) who opened the connection, and refuses when it cannot tell.
        return finding("proxy.auth_required", E, 0.85,
                       f"{said}: the SOCKS4 proxy checks who connects with the client machine's identd service "
                       "(RFC 1413), and could not confirm this user.",
                       "SOCKS4 carries no password: use the proxy's SOCKS5 side with credentials "
                       "(socks5h://USER:PASSWORD@...), or run the identd the proxy expects (rare outside old "
                       "corporate networks).", **evidence)
    if proxy.socks:
        # SOCKS5 has one credential scheme (RFC 1929, username and password); tlsdoctor offers
        # none, so with credentials in the setting its refusal says nothing about them.
        hostport = proxy.url.split("://", 1)[1]
        if proxy.has_credentials:
            return finding("proxy.auth_required", W, 0.5,
                           f"{said}. The proxy setting carries credentials, which tlsdoctor never sends, so it "
                           "cannot see past the proxy; a client that is still refused has wrong credentials.",
                           f"Check them by hand: curl -v -x 'socks5h://USER:PASSWORD@{hostport}' "
                           f"{obs.route.target.origin}/", **evidence)
        return finding("proxy.auth_required", E, 0.95,
                       f"{said}: the SOCKS5 proxy wants a username and password (RFC 1929) and the client's proxy "
                       "setting has none.", f"Put them in the proxy URL (socks5h://USER:PASSWORD@{hostport}; curl "
                       "--proxy-user), or ask for the proxy's credentials (an SSH tunnel's `ssh -D` needs none).",
                       **evidence)
    basic = not schemes or "basic" in schemes
    if not basic and set(schemes) & _INTEGRATED:
        who = ("the credentials in the proxy setting go as Basic (curl's and Python's default), which it refuses"
               if proxy.has_credentials else "the client sends none")
        return finding("proxy.auth_required", E, 0.95,
                       f"{said}: it logs users in with {offered} only (Windows' integrated authentication, "
                       f"which browsers and the platform's HTTP stack do as the logged-in user); {who}.",
                       "Let the client do the proxy's scheme: curl --proxy-negotiate -U : (or --proxy-ntlm), "
                       "libcurl CURLOPT_PROXYAUTH=CURLAUTH_NEGOTIATE|CURLAUTH_NTLM; Python has no built-in "
                       "NTLM/Negotiate for proxies (requests-negotiate-sspi, or a local forwarder such as px "
                       "or cntlm); or use the platform's HTTP stack.", **evidence)
    if not basic:
        return finding("proxy.auth_required", E, 0.85,
                       f"{said}: it accepts {offered}, not Basic, which is how curl and Python send the "
                       f"credentials of a proxy URL{'' if proxy.has_credentials else ' (the client sends none)'}.",
                       f"Tell the client to use {offered} (curl --proxy-anyauth, libcurl CURLOPT_PROXYAUTH).",
                       **evidence)
    if proxy.has_credentials:
        # tlsdoctor never sends credentials: its own 407 says nothing about the client's. What is
        # behind the proxy goes unseen (could_not_check), so the verdict cannot be this.
        return finding("proxy.auth_required", W, 0.5,
                       f"{said}: it wants credentials ({offered}). The proxy setting carries some, which "
                       "tlsdoctor never sends, so it cannot see past the proxy; a client that still gets 407 "
                       "has wrong credentials.", "Check them by hand: curl -v -x 'http://USER:PASSWORD@"
                       f"{proxy.url.split('://', 1)[1]}' {obs.route.target.origin}/", **evidence)
    return finding("proxy.auth_required", E, 0.95, f"{said}: it wants credentials ({offered}) and the client's "
                   "proxy setting has none.", "Configure the proxy's credentials for this client (tlsdoctor "
                   "never sends them).", **evidence)


@rule("tls.not_tls")
def proxy_not_tls(obs: Observations) -> Iterator[Finding]:
    """Is an https:// proxy a plain HTTP proxy (the proxy URL's scheme is wrong)?

    The field's classic since curl 7.52 and urllib3 1.26 began to honour the scheme: a proxy
    set as ``HTTPS_PROXY=https://proxy:3128`` (the variable's name says https, so the URL does
    too) gets a ClientHello, answers "400 Bad Request" in plain text, and every request fails
    with "wrong version number" (curl 35), which reads like a fault of the server.
    """
    proxy, seen = obs.route.proxy, obs.proxy_answer
    answer = seen.answer if seen is not None else None
    if proxy is None or answer is None:
        return
    tunnel = obs.handshake is not None and obs.handshake.route_error is None
    if answer.kind is AnswerKind.PLAINTEXT:
        confidence, how = 0.95, f"answers a TLS ClientHello in plain text ({answer.text_preview!r})"
    elif answer.kind in (AnswerKind.EOF, AnswerKind.RESET) and tunnel:
        confidence, how = 0.8, ("drops a TLS ClientHello (it " + ("closed" if answer.kind is AnswerKind.EOF
                                                                  else "reset") + " the connection), "
                                "yet tunnels a plain-text CONNECT")
    else:
        return
    plain = "http://" + proxy.url.removeprefix("https://")
    works = (f" As {plain}, it tunnels to {obs.route.target.authority} and the server answers TLS."
             if tunnel and obs.handshake is not None and obs.handshake.ok else "")
    yield finding("tls.not_tls", E, confidence,
                  f"The proxy is set as {proxy.url} ({proxy.source}), so the client speaks TLS to the proxy "
                  f"itself; but the proxy {how}: it is a plain HTTP proxy.{works}",
                  f"Write the proxy as {plain}: the 'https' of https_proxy names the traffic the proxy carries, "
                  "not how to reach it (curl since 7.52 and Python's urllib3 since 1.26 speak TLS to an "
                  "https:// proxy).", peer="proxy", proxy=proxy.url, proxy_first_answer=answer.kind.name.lower(),
                  first_bytes=answer.text_preview)


@rule("cert.untrusted_root", "cert.self_signed", "cert.expired", "cert.not_yet_valid", "cert.hostname_mismatch",
      "cert.incomplete_chain", "trust.store_mismatch")
def proxy_certificate(obs: Observations) -> Iterator[Finding]:
    """Does the client's CA file accept an HTTPS proxy's own certificate, for the proxy's name?

    A corporate HTTPS proxy's certificate comes from the company's CA, which the OS store may
    hold and an application's CA file does not: curl then fails with 60 ("SSL certificate
    problem") before any CONNECT, and the origin's certificate, the usual suspect, is fine.
    libcurl verifies the proxy with CURLOPT_PROXY_CAINFO, which is not the --cacert file.
    """
    proxy, hs, trust = obs.route.proxy, obs.proxy_handshake, obs.proxy_trust
    if proxy is None or hs is None or not hs.ok or trust is None or not trust.client_now:
        return
    client = trust.client_now[0]
    if client.ok:
        return
    bundle_chain_ok = any(v.ok for v in trust.chain_only_now if v.source == "ca-bundle")
    verify = trust.openssl_client.verify_code if trust.openssl_client is not None else None
    if bundle_chain_ok:
        code = "cert.hostname_mismatch"
    else:
        best = classify(Signal(curl_code=60, verify_result=verify)) if verify else []
        code = best[0].code if best and best[0].code.startswith("cert.") else "cert.untrusted_root"
    elsewhere = next((v for v in trust.chain_only_now if v.ok and v.source != "ca-bundle"), None)
    if elsewhere is not None and code == "cert.untrusted_root":
        code = "trust.store_mismatch"  # as for a server's chain: another source on this machine holds the CA
    issuer = hs.presented_chain[0].issuer.rfc4514_string() if hs.presented_chain else "?"
    where = next((s.description for s in trust.sources if elsewhere and s.name == elsewhere.source), None)
    also = f" {where[:1].upper()}{where[1:]} trusts it." if where else ""
    said = trust.openssl_client.message if trust.openssl_client is not None and trust.openssl_client.message \
        else client.error
    yield finding(code, E, 0.9,
                  f"The HTTPS proxy {proxy.url} presents a certificate the client's CA file refuses "
                  f"({said}; issued by '{issuer}').{also} The client fails at the proxy, before any "
                  f"CONNECT to {obs.route.target.authority}.",
                  "Give the client the proxy's CA for the proxy connection (curl --proxy-cacert, libcurl "
                  "CURLOPT_PROXY_CAINFO: not the --cacert file), or let it use the OS store; "
                  "or fix the proxy's certificate.", peer="proxy", proxy=proxy.url, issuer=issuer,
                  verify_result=verify, error=client.error, trusted_by=elsewhere.source if elsewhere else None)


def _route_failure(obs: Observations) -> tuple[str, str, object, bool] | None:
    """(stage, message, the proxy's answer, timed out) of the route's failure, if it failed."""
    for probe in (obs.handshake, obs.first_answer):
        failure = getattr(probe, "route_error", None) if probe else None
        if failure is not None:
            return failure.stage, failure.message, failure.connect_answer, failure.timed_out
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
    if not obs.tcp:
        return
    if any(t.outcome == "connected" for t in obs.tcp):
        yield from _dead_addresses(obs)
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
    addresses = [t.address for t in obs.tcp]
    pinned = res is not None and res.pinned  # given with --resolve: no DNS answered them
    if not target.is_ip and not pinned and not _local_name(target.host) and all(_sinkhole(a) for a in addresses):
        # A public name answered with 0.0.0.0 or a loopback address: a DNS filter's "blocked".
        yield finding(code, E, 0.9, f"The host name {target.host} resolves to {', '.join(addresses)} on this machine: "
                      "a DNS filter or hosts file blocks it (ad-blockers, Pi-hole, AdGuard, NextDNS, a corporate DNS "
                      f"policy answer so), and nothing serves it there ({detail}).",
                      f"Allow {target.host} in the DNS filter or remove it from the hosts file "
                      "(`getent hosts NAME` shows the answer; compare with `dig @1.1.1.1 NAME`).",
                      addresses=addresses, outcomes=detail, dns_sinkhole=True)
        return
    yield finding(code, E, 0.9, f"No address of {target.host} accepts a TCP connection on port {target.port} "
                  f"({detail}).", remedies[code], addresses=addresses, outcomes=detail)


def _dead_addresses(obs: Observations) -> Iterator[Finding]:
    """Some of the host's addresses accept connections and others do not: a warning, since
    clients meet the dead ones in different ways.

    curl and browsers race a host's addresses (Happy Eyeballs, RFC 8305) and hardly notice.
    Clients that try them one by one, in the resolver's order (Python's
    socket.create_connection under requests and urllib3, Java, many SDKs), wait out their
    connect timeout on an address that drops packets before they try the next, or give up;
    one that refuses costs them a round trip. The common case is an AAAA record for a server
    whose IPv6 does not work, or a load balancer's address that was retired.
    """
    target = obs.route.target
    live = [t.address for t in obs.tcp if t.outcome == "connected"]
    silent = [t.address for t in obs.tcp if t.outcome == "timed_out"]
    refused = [t.address for t in obs.tcp if t.outcome in ("refused", "reset")]
    where = "given with --resolve" if obs.resolution is not None and obs.resolution.pinned else "DNS gives"
    if silent:
        yield finding("tcp.timed_out", W, 0.85,
                      f"Of the {len(obs.tcp)} addresses {where} for {target.host}, {', '.join(silent)} "
                      f"{'gets' if len(silent) == 1 else 'get'} no answer on port {target.port} (no connection "
                      f"within {_timeout_words(obs)}); {', '.join(live)} "
                      "accepts. curl and browsers race the addresses and hardly notice; clients that try them one "
                      "by one (Python's requests and urllib3, Java) wait out their connect timeout first, or fail.",
                      f"Fix or remove the dead address's DNS record ({_record_kind(silent)} for {target.host}), or "
                      "make such clients prefer the working address family.",
                      dead_addresses=silent, live_addresses=live)
    if refused:
        yield finding("tcp.refused", W, 0.6,
                      f"Of the {len(obs.tcp)} addresses {where} for {target.host}, {', '.join(refused)} "
                      f"{'refuses' if len(refused) == 1 else 'refuse'} connections on port {target.port}; "
                      f"{', '.join(live)} accepts. Clients that try addresses in order move on after the refusal; "
                      "a few stop there (older Node.js: 'connect ECONNREFUSED ::1').",
                      f"Serve port {target.port} on every address of {target.host}, or remove the others from DNS "
                      "(a server listening on 127.0.0.1 only, met as localhost = ::1, is the classic).",
                      refused_addresses=refused, live_addresses=live)


def _timeout_words(obs: Observations) -> str:
    silent = [t for t in obs.tcp if t.outcome == "timed_out"]
    return (silent[0].error or "the timeout").replace("no answer within ", "") if silent else "the timeout"


def _record_kind(addresses: list[str]) -> str:
    """Which DNS record type names these addresses: AAAA for IPv6, A for IPv4."""
    kinds = {"AAAA" if ":" in a else "A" for a in addresses}
    return " and ".join(sorted(kinds)) + (" records" if len(addresses) > 1 else " record")


def _sinkhole(address: str) -> bool:
    """0.0.0.0, ::, or a loopback address: where DNS filters send names they block."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return ip.is_unspecified or ip.is_loopback


def _local_name(host: str) -> bool:
    """Names that are the local machine by definition (RFC 6761 localhost), or by a one-label hosts entry."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost") or "." not in name

"""The presented certificates: dates (and the clock), the path to a trusted root, properties, name."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterator

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from tlsdoctor import verify_codes as vc
from tlsdoctor.classify import Signal, classify
from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.rules.evidence import client_trusts, duration_words, interceptor, libraries_accept, validation
from tlsdoctor.judge.rules.registry import E, W, finding, rule
from tlsdoctor.observe.observations import Observations, describe_cert
from tlsdoctor.observe.revocation import issued_by


EXPIRY_WARNING = timedelta(days=14)
CLOCK_TOLERANCE = timedelta(minutes=5)  # below this, clock differences are network noise


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
                      f"This machine's clock is {duration_words(abs(offset))} {direction}; the certificate is valid at "  # type: ignore[arg-type]
                      "the server's time.", "Set the system clock (enable network time); no change on the server "
                      "is needed.", **clock_evidence)
        stale = out_of_window[0]
        code = "cert.expired" if now > stale.not_valid_after_utc else "cert.not_yet_valid"
        yield finding(code, E, 0.2, "The certificate only looks out of date because of the local clock.",
                      **describe_cert(stale))
        return
    if skewed and not out_of_window:
        yield finding("clock.skewed", W, 0.8, f"This machine's clock differs from the server's by "
                      f"{duration_words(abs(offset))}; certificates may soon look expired.",  # type: ignore[arg-type]
                      "Enable network time on this machine.", **clock_evidence)
    # A chain certificate out of its dates on a chain this client verifies is not on its path:
    # an extra the server sends (the expired AddTrust cross-sign of May 2020). Clients that
    # build their path through it fail; this one does not.
    extra = client_trusts(obs) is True or (obs.curl is not None and obs.curl.curl_code == 0)
    for cert in out_of_window:
        expired = now > cert.not_valid_after_utc
        which = "leaf" if cert is chain[0] else f"chain certificate '{cert.subject.rfc4514_string()}'"
        if extra and cert is not chain[0]:
            yield _unneeded_out_of_date(cert, expired, now)
            continue
        renewed = _renewed_copy(obs, cert) if expired and cert is not chain[0] else None
        if renewed is not None:
            fetched, url = renewed
            yield finding("cert.expired", E, 0.95,
                          f"The server sends an old copy of the intermediate '{cert.subject.rfc4514_string()}', "
                          f"which expired {duration_words(now - cert.not_valid_after_utc)} ago "
                          f"({cert.not_valid_after_utc:%Y-%m-%d}); the CA has renewed it (same name and key, valid "
                          f"until {fetched.not_valid_after_utc:%Y-%m-%d}), and with the current copy, fetched from "
                          "the certificate's caIssuers URL, the chain is trusted. The server's own certificate is fine.",
                          f"Replace the intermediate in the server's chain file with the CA's current one ({url}, "
                          "or the CA's fullchain download); no new certificate is needed.",
                          **describe_cert(cert), renewed_issuer_url=url,
                          renewed_not_after=fetched.not_valid_after_utc.isoformat(), **clock_evidence)
            continue
        if expired:
            yield finding("cert.expired", E, 0.95 if server is not None else 0.8,
                          f"The {which} expired {duration_words(now - cert.not_valid_after_utc)} ago "
                          f"({cert.not_valid_after_utc:%Y-%m-%d}).",
                          "Renew the certificate on the server (and automate renewal).",
                          **describe_cert(cert), **clock_evidence)
        else:
            yield finding("cert.not_yet_valid", E, 0.95 if server is not None else 0.8,
                          f"The {which} only becomes valid on {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC.",
                          "Install a certificate that is valid now (or wait).", **describe_cert(cert), **clock_evidence)
    leaf = chain[0]
    if not out_of_window and leaf.not_valid_after_utc - now < EXPIRY_WARNING:
        yield finding("cert.expired", W, 0.9, f"The certificate expires in {duration_words(leaf.not_valid_after_utc - now)} "
                      f"({leaf.not_valid_after_utc:%Y-%m-%d}).", "Renew it now.", **describe_cert(leaf))


# OpenSSL's verify results that mean "no issuer for this chain in the client's CA file".
_NO_TRUSTED_ISSUER = {vc.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, vc.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                      vc.X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, vc.X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN}


@rule("cert.untrusted_root")
def untrusted_beyond_dates(obs: Observations) -> Iterator[Finding]:
    """With its dates put right, would this client trust the chain? libcurl's own verdict tells.

    A certificate out of its validity window hides every other trust problem from our own
    validation (it fails on the date first). OpenSSL, inside libcurl, looks for the issuer
    before it looks at dates: "unable to get local issuer certificate" beside an expired
    leaf means that renewing alone would not fix this client (issue 10, "whole causes").
    """
    chain, curl = obs.presented_chain, obs.curl
    if not chain or curl is None or curl.curl_code != 60 or curl.verify_result not in _NO_TRUSTED_ISSUER:
        return
    if all(c.not_valid_before_utc <= obs.local_time <= c.not_valid_after_utc for c in chain[:4]):
        return  # no date problem: `chain_to_trust` judges the path to a root
    if interceptor(obs) is not None:
        return
    last = chain[-1]
    issuer = last.subject if last.issuer == last.subject else last.issuer
    yield finding("cert.untrusted_root", E, 0.8,
                  f"This client's CA file holds no issuer for the chain (libcurl: OpenSSL verify result "
                  f"{curl.verify_result}): even with the dates put right, this client would not trust a chain "
                  f"that ends at '{issuer.rfc4514_string()}'.",
                  "Add the issuing CA's root to the client's CA file (or use the OS store), or use a certificate "
                  "from a CA the client trusts.", anchor_missing=issuer.rfc4514_string(),
                  libcurl_verify_result=curl.verify_result, libcurl_error=curl.error)



def _renewed_copy(obs: Observations, cert: x509.Certificate) -> tuple[x509.Certificate, str] | None:
    """The CA's current copy of the expired intermediate ``cert`` the server sends, and where it
    came from, when the caIssuers fetch found one (same subject and key, valid now) that makes
    the chain verify with the client's trust: the server's chain file is merely out of date."""
    fetched = obs.revocation.issuer_fetch if obs.revocation else None
    trust = obs.trust
    if fetched is None or fetched.certificate is None or not fetched.issues_leaf or trust is None \
            or trust.with_fetched_issuer is None or not trust.with_fetched_issuer.ok:
        return None
    current = fetched.certificate
    same = current.subject == cert.subject and current.public_key() == cert.public_key()
    if not same or not current.not_valid_before_utc <= obs.local_time <= current.not_valid_after_utc:
        return None
    return current, fetched.url


@rule("cert.self_signed", "cert.incomplete_chain", "cert.expired", "cert.untrusted_root")
def chain_to_trust(obs: Observations) -> Iterator[Finding]:
    """Does the presented chain lead to a CA the client trusts, and if not, why not?"""
    chain = obs.presented_chain
    chain_only = validation(obs, "chain_only_now")
    if not chain or chain_only is None or chain_only.ok or interceptor(obs) is not None:
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
    strays = [c for c in chain[1:] if not issued_by(leaf, c)]
    if len(chain) > 1 and len(strays) == len(chain) - 1 and trust is not None and not _issuer_held(trust, leaf):
        # Nothing the server sends issued its certificate, and no trust source holds the issuer:
        # the intermediate of a previous certificate, left in place at renewal.
        sent = ", ".join(f"'{c.subject.rfc4514_string()}'" for c in strays[:3])
        yield finding("cert.incomplete_chain", E, 0.85,
                      f"The server's certificate was issued by '{leaf.issuer.rfc4514_string()}', which the server "
                      f"does not send; it sends {sent} instead, which did not issue it (an intermediate left over "
                      "from a previous certificate?).",
                      "Configure the server to send the intermediate that issued its current certificate (the "
                      "certificate's own fullchain.pem).", missing_issuer=leaf.issuer.rfc4514_string(),
                      sent_instead=[c.subject.rfc4514_string() for c in strays], presented=len(chain),
                      missing_issuer_key_id=_authority_key_id(leaf))
        return
    last = chain[-1]
    if last.issuer != last.subject and not _is_ca(last) and trust is not None and not _issuer_held(trust, last):
        # The chain's structure says it: it stops at a certificate that is no CA and not
        # self-issued, whose issuer no trust source holds by name or key identifier. Web PKI
        # roots never issue leaves directly (CA/B Forum BR 6.1.7), so an intermediate is
        # missing, even though the leaf names no caIssuers URL to fetch it from.
        sent = (f"only its certificate ('{last.subject.rfc4514_string()}')" if len(chain) == 1
                else f"a chain that ends at '{last.subject.rfc4514_string()}'")
        fetch = ("its caIssuers URL did not give it either" if fetched is not None
                 else "the certificate names no caIssuers URL, so clients cannot fetch it either")
        yield finding("cert.incomplete_chain", E, 0.8,
                      f"The server sends {sent}, without the CA certificate that issued it "
                      f"('{last.issuer.rfc4514_string()}'), and no trust source on this machine holds that issuer; "
                      f"{fetch}.",
                      "Configure the server to send the full chain (leaf, then intermediates: fullchain.pem).",
                      missing_issuer=last.issuer.rfc4514_string(), presented=len(chain),
                      missing_issuer_key_id=_authority_key_id(last), ca_issuers_url=fetched.url if fetched else None)
        return
    expired = _expired_anchor(trust, last, obs) if trust is not None else None
    if expired is not None:
        yield expired
        return
    constrained = _name_constraints(chain, obs, chain_only.error)
    if constrained is not None:
        yield constrained
        return
    held = _held_but_refused(trust, last, obs, chain_only.error) if trust is not None else None
    if held is not None:
        yield held
        return
    root_in_chain = last.issuer == last.subject
    issuer = last.subject if root_in_chain else last.issuer
    missing = not any(c.subject == leaf.issuer for c in chain[1:]) and not root_in_chain
    yield finding("cert.untrusted_root", E, 0.6 if missing else 0.85,
                  f"The chain ends at '{issuer.rfc4514_string()}', a CA that no trust source on this machine holds.",
                  "If this is a private CA, add its root to the client's CA file; otherwise the server must use a "
                  "certificate from a public CA.", anchor_missing=issuer.rfc4514_string(), chain_length=len(chain),
                  client_error=chain_only.error)


def _unneeded_out_of_date(cert: x509.Certificate, expired: bool, now: datetime) -> Finding:
    """A chain certificate out of its dates that this client's path does not need: a warning."""
    when = (f"expired {duration_words(now - cert.not_valid_after_utc)} ago ({cert.not_valid_after_utc:%Y-%m-%d})"
            if expired else f"is not valid before {cert.not_valid_before_utc:%Y-%m-%d}")
    return finding("cert.expired" if expired else "cert.not_yet_valid", W, 0.85,
                   f"The server also sends '{cert.subject.rfc4514_string()}' (issued by "
                   f"'{cert.issuer.rfc4514_string()}'), which {when}. This client verifies the chain without it, "
                   "but clients that build their path through it fail (OpenSSL before 1.1.0, GnuTLS before "
                   "3.6.14, old Android and embedded clients).",
                   "Remove that certificate from the chain the server sends (keep the leaf and the intermediates "
                   "up to the current root).", **describe_cert(cert))


def _expired_anchor(trust: object, last: x509.Certificate, obs: Observations) -> Finding | None:
    """The chain's root is held, but only in a copy whose dates have ended: ``cert.expired``.

    A CA renews its root with the same name and key (or cross-signs its new root with the
    old one, as Let's Encrypt's chain through DST Root CA X3 did until that root expired on
    2021-09-30); a store that still holds only the old copy fails with "certificate has
    expired" while every certificate the server sends is valid. Our path validation says
    "no valid path", and reading that as an unknown root would be false: the root is there.
    """
    now = obs.local_time
    for source, anchor in _held_issuers(trust, last):  # the client's CA file first
        if anchor.not_valid_before_utc <= now <= anchor.not_valid_after_utc:
            continue
        held = "the client's CA file" if source.name == "ca-bundle" else source.description
        ended = anchor.not_valid_after_utc
        words = (f"The chain leads to the root '{anchor.subject.rfc4514_string()}', and {held} holds it, but "
                 + (f"only a copy that expired {duration_words(now - ended)} ago ({ended:%Y-%m-%d})"
                    if ended < now else f"only a copy valid from {anchor.not_valid_before_utc:%Y-%m-%d}")
                 + "; every certificate the server sends is valid.")
        curl = obs.curl
        agrees = curl is not None and curl.verify_result in (vc.X509_V_ERR_CERT_HAS_EXPIRED,
                                                              vc.X509_V_ERR_CERT_NOT_YET_VALID)
        return finding("cert.expired" if ended < now else "cert.not_yet_valid", E, 0.9 if agrees else 0.8,
                       words, "Update the client's CA file (and the OS store) to a current copy of the CA's "
                       "roots: the CA has renewed or replaced this one. Nothing on the server needs to change.",
                       expired_root=anchor.subject.rfc4514_string(), root_not_after=ended.isoformat(),
                       trust_source=source.name, libcurl_verify_result=curl.verify_result if curl else None)
    return None


def _held_but_refused(trust: object, last: x509.Certificate, obs: Observations, error: str | None) -> Finding | None:
    """The chain's issuer is in the client's CA file, in date, and the path still fails.

    Whatever the reason (a path length, a critical extension no verifier knows, a CA
    without keyCertSign), "a CA that no trust source holds" would be false: say what is
    known, and read libcurl's own verify result through the one table for the code.
    """
    now = obs.local_time
    anchor = next((c for source, c in _held_issuers(trust, last) if source.name == "ca-bundle"
                   and c.not_valid_before_utc <= now <= c.not_valid_after_utc), None)
    if anchor is None:
        return None
    curl = obs.curl
    said = f" (libcurl: {curl.error})" if curl is not None and curl.curl_code == 60 else ""
    candidates = classify(Signal(verify_result=curl.verify_result if curl is not None and curl.curl_code == 60 else None,
                                 text=f"{error or ''} {curl.error if curl else ''}"))
    code = next((c.code for c in candidates if c.code.startswith("cert.")), "cert.untrusted_root")
    return finding(code, E, 0.6,
                   f"The chain leads to '{anchor.subject.rfc4514_string()}', which the client's CA file holds, but "
                   f"the path does not verify: {error or 'no reason given'}{said}.",
                   "Read the reason: the chain the server sends breaks a rule of path validation (RFC 5280); "
                   "`openssl verify -CAfile CA_FILE -untrusted chain.pem leaf.pem` names it too.",
                   anchor=anchor.subject.rfc4514_string(), client_error=error,
                   libcurl_verify_result=curl.verify_result if curl else None)


def _held_issuers(trust: object, cert: x509.Certificate) -> Iterator[tuple[object, x509.Certificate]]:
    """Each (trust source, certificate) that issued ``cert``, by name and signature, sources in order."""
    for source in trust.sources:  # type: ignore[attr-defined]
        for candidate in source.certificates:
            if candidate.subject == cert.issuer and issued_by(cert, candidate):
                yield source, candidate


_CONSTRAINT_VERIFY = (vc.X509_V_ERR_PERMITTED_VIOLATION, vc.X509_V_ERR_EXCLUDED_VIOLATION)


def _name_constraints(chain: tuple[x509.Certificate, ...], obs: Observations, error: str | None) -> Finding | None:
    """A CA in the chain may only issue for some names (RFC 5280 §4.2.1.10), and not for this one.

    Enterprise PKIs constrain their issuing CAs to their own domains and networks; a
    certificate for a name outside them fails everywhere with "permitted subtree violation"
    while the root is trusted. Reading that as an unknown root would send the user to the
    wrong fix.
    """
    curl = obs.curl
    said = (curl is not None and curl.verify_result in _CONSTRAINT_VERIFY) or "name constraint" in (error or "").lower()
    constrained = [(cert, ext.value) for cert in chain[1:] for ext in cert.extensions
                   if isinstance(ext.value, x509.NameConstraints)]
    if not said or not constrained:
        return None
    ca, constraints = constrained[0]
    permitted = ", ".join(_subtree(n) for n in constraints.permitted_subtrees or ())
    excluded = ", ".join(_subtree(n) for n in constraints.excluded_subtrees or ())
    scope = (f"may only issue for {permitted}" if permitted else "") + (" and " if permitted and excluded else "") + \
        (f"may never issue for {excluded}" if excluded else "")
    names = describe_cert(chain[0])["san"] or [obs.route.target.host]
    return finding("cert.hostname_mismatch", E, 0.9 if curl is not None and curl.verify_result in _CONSTRAINT_VERIFY
                   else 0.8,
                   f"The certificate is for {', '.join(names[:5])}, but the CA that issued it, "
                   f"'{ca.subject.rfc4514_string()}', {scope} (name constraints): every client refuses the chain.",
                   "Issue the certificate from a CA whose name constraints include this name, or have the "
                   "constraints of that CA widened; nothing on the client needs to change.",
                   constrained_ca=ca.subject.rfc4514_string(), permitted=permitted or None, excluded=excluded or None,
                   libcurl_verify_result=curl.verify_result if curl else None, client_error=error)


def _subtree(name: x509.GeneralName) -> str:
    value = name.value
    return str(value) if not isinstance(value, str) else value


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError):
        return False


def _authority_key_id(cert: x509.Certificate) -> str | None:
    try:
        key_id = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except (x509.ExtensionNotFound, ValueError):
        return None
    return key_id.hex() if key_id else None


def _issuer_held(trust: object, cert: x509.Certificate) -> bool:
    """Does any trust source hold ``cert``'s issuer, by subject name or by key identifier (AKI = SKI)?"""
    key_id = _authority_key_id(cert)
    for source in trust.sources:  # type: ignore[attr-defined]
        for candidate in source.certificates:
            if candidate.subject == cert.issuer:
                return True
            if key_id is not None:
                try:
                    ski = candidate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
                except (x509.ExtensionNotFound, ValueError):
                    continue
                if ski.hex() == key_id:
                    return True
    return False


@rule("cert.weak_signature", "cert.weak_key", "cert.bad_usage")
def certificate_properties(obs: Observations) -> Iterator[Finding]:
    """Does a certificate use a digest, key size or usage that clients reject?"""
    chain = obs.presented_chain
    if not chain:
        return
    if interceptor(obs) is not None:
        return
    # Strict verifiers and OpenSSL disagree here (cryptography accepts RSA 1024, OpenSSL at
    # security level 2 does not), so libcurl's real outcome decides: rejected there, or by
    # the strict verifier, is an error; accepted by libcurl is a warning.
    curl = obs.curl
    accepted_by_libcurl = curl is not None and curl.curl_code == 0
    rejected = (curl is not None and curl.curl_code == 60) or client_trusts(obs) is False
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

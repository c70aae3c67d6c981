"""Trust: whose CA signed the chain, and which trust source on this machine holds it."""

from __future__ import annotations

from typing import Iterator

from cryptography import x509

from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.rules.evidence import client_trusts, interceptor, libraries_accept, source_words, validation
from tlsdoctor.judge.rules.registry import E, W, finding, rule
from tlsdoctor.observe.observations import Observations, fingerprint


@rule("trust.interception", "trust.store_mismatch")
def interception(obs: Observations) -> Iterator[Finding]:
    """Is someone between client and server re-signing the TLS traffic?"""
    found = interceptor(obs)
    if found is None:
        return
    confidence, evidence = found
    trusted = client_trusts(obs)
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
                      f"The interceptor's CA is trusted by {source_words(obs, v.source)}, but not by the CA file "
                      "the client uses.", "Make the client use the OS trust store (e.g. truststore for Python, "
                      "CURLSSLOPT_NATIVE_CA for libcurl) or add that CA to its CA file.", trusted_by=v.source)


@rule("trust.store_mismatch")
def store_mismatch(obs: Observations) -> Iterator[Finding]:
    """Does the chain verify with another trust source on this machine but not the client's?"""
    if obs.trust is None or interceptor(obs) is not None:
        return
    client_ok = validation(obs, "chain_only_now")
    others = [v for v in obs.trust.chain_only_now if v.source != "ca-bundle"]
    if client_ok is None or (not client_ok.ok and libraries_accept(obs)):
        return
    trusted_elsewhere = [v for v in others if v.ok]
    if not client_ok.ok and trusted_elsewhere:
        v = trusted_elsewhere[0]
        private = obs.trust.anchor_in_public_store is False
        why = (f" '{v.anchor}' is a private root (the current public store, certifi's copy of Mozilla's, "
               "does not hold it): someone deployed it to that store, as company IT does for internal sites, and no bundled CA file (certifi, cacert.pem) will ever "
               "hold it" if private else "")
        yield finding("trust.store_mismatch", E, 0.9,
                      f"The chain is trusted by {source_words(obs, v.source)} but not by {_client_file(obs)}.{why}"
                      + ("." if why else ""),
                      "Make the client use the OS store (truststore / CURLSSLOPT_NATIVE_CA) or add the missing CA "
                      f"('{v.anchor}') to its CA file" + (" (updating the bundle will not help)." if private else "."),
                      anchor=v.anchor, trusted_by=v.source, private_root=private)
    elif client_ok.ok and others and not any(v.ok for v in others):
        yield finding("trust.store_mismatch", W, 0.6,
                      "The chain verifies only with the client's CA file; the OS store does not trust it.",
                      "Other programs on this machine will fail on this host; that may be intended.",
                      anchor=client_ok.anchor)


def _client_file(obs: Observations) -> str:
    words = source_words(obs, "ca-bundle")
    return words if words.startswith("the client's") else f"the client's CA file ({words})"


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


@rule("trust.bundle_missing")
def bundle_missing(obs: Observations) -> Iterator[Finding]:
    """Is a CA file the client relies on missing or unreadable?"""
    for source in obs.trust.sources if obs.trust else ():
        if source.name == "ca-bundle" and source.error and not source.certificates:
            # The file is there but OpenSSL reads no certificate from it: libcurl stops at curl 77
            # before connecting, Python's ssl raises at load_verify_locations. Nothing the server
            # does matters until the file is fixed.
            curl = obs.curl
            elsewhere = [v.source for v in (obs.trust.chain_only_now if obs.trust else ()) if v.ok]
            also = (f" This server's chain verifies with {source_words(obs, elsewhere[0])}, so the fixed file "
                    "(or that store) will work." if elsewhere else "")
            yield finding("trust.bundle_missing", E, 0.95 if curl is not None and curl.curl_code == 77 else 0.9,
                          f"The client's CA file ({source.path}) holds no certificate OpenSSL can read: "
                          f"{source.error}.", _unreadable_fix(source.error) + also, path=source.path,
                          curl_code=curl.curl_code if curl is not None else None)
        if source.name == "os-store" and source.error and source.path:
            yield finding("trust.bundle_missing", W, 0.7, f"The OS trust store setting points at something "
                          f"unusable: {source.error}.", "Fix SSL_CERT_FILE / SSL_CERT_DIR or install ca-certificates.",
                          path=source.path)


# What a CA file holds instead of PEM certificates (observe/pem.not_pem_reason's words) → the fix.
_CONVERSIONS = (
    ("UTF-16", "Re-save it as ASCII: PowerShell `Get-Content IN | Set-Content -Encoding ascii OUT`, or "
               "`iconv -f UTF-16 -t ASCII IN > OUT`."),
    ("DER-encoded certificate", "Convert it to PEM: `openssl x509 -inform der -in IN -out OUT.pem`."),
    ("PKCS#7", "Convert it to PEM certificates: `openssl pkcs7 -print_certs -in IN -out OUT.pem` "
               "(with `-inform der` for a .p7b)."),
    ("private key", "Point the client at the CA's certificate, not at a key."),
    ("signing request", "Point the client at the certificate the CA issued, not at the request."),
)


def _unreadable_fix(error: str) -> str:
    return next((fix for words, fix in _CONVERSIONS if words in error),
                "Point the client at a PEM file of the CA certificates it should trust "
                "('-----BEGIN CERTIFICATE-----' blocks), or let it use the OS store.")


# An "old copy of a store" shares most of its roots with a current one; a private CA file
# (one or two roots of one's own) shares none, and is `store_mismatch`, not outdated.
OUTDATED_MIN_SHARED = 3
OUTDATED_MIN_SHARED_FRACTION = 0.5


@rule("trust.bundle_outdated")
def bundle_outdated(obs: Observations) -> Iterator[Finding]:
    """Is the client's CA file an old copy of a store, lacking the newer root that the chain needs?"""
    trust = obs.trust
    client = validation(obs, "chain_only_now")
    if trust is None or client is None or client.ok or interceptor(obs) is not None:
        return
    bundle = trust.sources[0]
    trusting = next((v for v in trust.chain_only_now if v.source != "ca-bundle" and v.ok and v.chain), None)
    if trusting is None or not bundle.certificates:
        return
    store = next((s for s in trust.sources if s.name == trusting.source), None)
    anchor = trusting.chain[-1]
    held = {fingerprint(c) for c in bundle.certificates}
    if store is None or fingerprint(anchor) in held or any(
            c.subject == anchor.subject and c.public_key() == anchor.public_key() for c in bundle.certificates):
        return  # the file holds that root: something else fails (a date, a usage...)
    in_store = {fingerprint(c) for c in store.certificates}
    shared = len(held & in_store)
    if shared < OUTDATED_MIN_SHARED or shared < OUTDATED_MIN_SHARED_FRACTION * len(held):
        return
    newest = max(c.not_valid_before_utc for c in bundle.certificates)
    root_is_newer = anchor.not_valid_before_utc > newest
    if not root_is_newer and trust.anchor_in_public_store is False:
        # The file is younger than the root it lacks, and no public store holds that root: a
        # private CA (a company's, deployed to the OS store). No newer copy of any bundle will
        # ever have it; `trust.store_mismatch` says so.
        return
    modified = trust.ca_file_modified
    age = f"its newest root dates from {newest:%Y-%m-%d}"
    if modified is not None:
        age += f" and the file was last written on {modified:%Y-%m-%d}"
    yield finding("trust.bundle_outdated", E, 0.9 if root_is_newer or trust.anchor_in_public_store else 0.75,
                  f"The client's CA file is an old copy of a trust store: it holds {shared} of the "
                  f"{len(in_store)} roots of {source_words(obs, store.name)}, but not "
                  f"'{_cn(anchor)}' (issued {anchor.not_valid_before_utc:%Y-%m-%d}), the root this chain needs; "
                  f"{age}.",
                  "Update the CA file the application ships (e.g. a current certifi), or make the client use the "
                  "OS trust store (truststore / CURLSSLOPT_NATIVE_CA); adding only the missing root also works.",
                  missing_root=anchor.subject.rfc4514_string(),
                  missing_root_not_before=anchor.not_valid_before_utc.isoformat(),
                  ca_file=bundle.path, ca_file_roots=len(held), shared_with_store=shared, store=store.name,
                  ca_file_newest_not_before=newest.isoformat(),
                  ca_file_modified=modified.isoformat() if modified else None)


def _cn(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()

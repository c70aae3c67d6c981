"""Who signed the chain the client was shown: ``outcome.presented_issuer`` of ``report/1``.

When an antivirus or a corporate proxy re-signs TLS traffic, the one fact that tells a fleet
*which* product breaks its users is the name of the CA at the top of the chain the client was
presented ("Avast Web/Mail Shield Root", "Kaspersky Anti-Virus Personal Root Certificate").
libcurl already holds that chain when verification fails (``CURLINFO_CERTINFO``, which it fills
before it gives up on the handshake), so the curl stack keeps it, bounded, with the error, and
this module turns it into one short name on the reporter's thread — never a new connection.

Privacy: a CA's subject CN or O names a product or an organisation, not a person, and it is the
only part of the chain a report carries (no serial numbers, no leaf names, no fingerprints).
It still passes the report's scrubber (:func:`tlsdoctor.client.report.event.scrub`), is made
printable and is cut to 64 characters, the X.520 upper bound of a common name — a hostile
certificate can put anything in its names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tlsdoctor.findings import FINDING_CODES

#: X.520's ub-common-name (RFC 5280, appendix A): a longer "name" is not one a CA would use.
ISSUER_CAP = 64
#: How much of a presented chain a report looks at (a hostile server may present hundreds).
CHAIN_CERTS = 10
#: A certificate's PEM text beyond this is not parsed (real ones are a few kilobytes).
PEM_CHARS = 16 * 1024
#: What a failure keeps of the chain until the reporter's thread reads it: at most this many
#: characters in all, like the raw message (a reporter's queue of 1,000 holds at most 16 MB).
CHAIN_BUDGET = 16 * 1024
_NAME_CHARS = 1024  # a printed name (Subject, Issuer) kept; real ones are under 300

# Attribute = value pairs of a distinguished name as TLS libraries print them: OpenSSL's
# "C = US, O = Example, CN = Example Root", RFC 4514's "CN=Example Root,O=Example" (a value may
# be quoted or escaped: it then holds commas) and the old slash form "/C=US/O=Example/CN=Root".
# Only the slash form splits on "/": real names hold one ("Avast Web/Mail Shield Root").
_PAIR = re.compile(r'(?:^|[,+])\s*([A-Za-z][A-Za-z0-9.]*)\s*=\s*("(?:[^"\\]|\\.)*"|(?:[^,+\\]|\\.)*)')
_SLASH_PAIR = re.compile(r'/\s*([A-Za-z][A-Za-z0-9.]*)\s*=\s*((?:[^/\\]|\\.)*)')


def keep_chain(certinfo: Any) -> tuple[dict[str, str], ...]:
    """What a failure keeps of libcurl's CERTINFO (a list, per certificate, of (field, value)
    pairs), on the request thread: the printed Subject and Issuer and the PEM, of the first
    certificates, within :data:`CHAIN_BUDGET` characters. Slices and a loop, no parsing."""
    kept: list[dict[str, str]] = []
    budget = CHAIN_BUDGET
    for fields in list(certinfo or ())[:CHAIN_CERTS]:
        cert: dict[str, str] = {}
        pem = None
        for pair in fields if isinstance(fields, (list, tuple)) else ():
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[1], str)):
                continue
            if pair[0] in ("Subject", "Issuer"):
                cert[pair[0]] = pair[1][:_NAME_CHARS]
            elif pair[0] == "Cert":
                pem = pair[1]
        budget -= sum(len(v) for v in cert.values())
        if pem is not None and len(pem) <= min(PEM_CHARS, budget):
            cert["Cert"] = pem
            budget -= len(pem)
        if budget < 0:
            break
        kept.append(cert)
    return tuple(kept)


def is_trust_failure(code: str | None) -> bool:
    """A failure about who signed the chain: the codes whose NEL type is
    ``tls.cert.authority_invalid`` (untrusted root, self-signed, incomplete chain, interception,
    store mismatch, outdated bundle) and the rest of the ``trust.*`` family."""
    if not code:
        return False
    finding = FINDING_CODES.get(code)
    return code.startswith("trust.") or (finding is not None and finding.nel_type == "tls.cert.authority_invalid")


def _display(attributes: Iterable[tuple[str, str]]) -> str | None:
    """A CA's display name from its name's attributes: the common name, else the organisation,
    else the organisational unit (some interception products set only O or OU)."""
    found: dict[str, str] = {}
    for key, value in attributes:
        found.setdefault(key.upper(), value)
    for key in ("CN", "COMMONNAME", "O", "ORGANIZATIONNAME", "OU", "ORGANIZATIONALUNITNAME"):
        if found.get(key, "").strip():
            return found[key].strip()
    return None


def _text_name(text: str) -> str | None:
    pairs = []
    text = text[:PEM_CHARS].strip()
    for key, value in (_SLASH_PAIR if text.startswith("/") else _PAIR).findall(text):
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        pairs.append((key, re.sub(r"\\(.)", r"\1", value)))
    return _display(pairs)


def _certificates(chain: Sequence[Mapping[str, Any]]) -> list[Any] | None:
    """The chain's certificates parsed from their PEM text, or None when any is missing or broken."""
    from cryptography import x509

    parsed = []
    for cert in chain:
        pem = cert.get("Cert")
        if not isinstance(pem, str) or len(pem) > PEM_CHARS:
            return None
        try:
            parsed.append(x509.load_pem_x509_certificate(pem.encode("ascii", "replace")))
        except ValueError:
            return None
    return parsed


def _root_most(names: list[tuple[Any, Any]]) -> int:
    """Index of the root-most certificate: from the leaf (first), follow each certificate's
    issuer to the presented certificate with that subject, whatever order the server sent."""
    index, seen = 0, {0}
    while True:
        subject, issuer = names[index]
        if issuer == subject:
            return index  # self-signed: the top
        following = next((i for i, (s, _) in enumerate(names) if s == issuer and i not in seen), None)
        if following is None:
            return index
        index = following
        seen.add(index)


def presented_issuer(chain: Sequence[Mapping[str, Any]] | None) -> str | None:
    """The name of the CA that issued the root-most certificate of ``chain`` (unscrubbed).

    ``chain`` is what the curl stack kept of ``CURLINFO_CERTINFO``: one mapping per presented
    certificate, leaf first, with libcurl's ``Subject``, ``Issuer`` and ``Cert`` (PEM) fields.
    The PEM is authoritative (parsed with ``cryptography``); the printed names are the fallback
    for TLS backends that give no PEM.
    """
    if not chain:
        return None
    chain = [cert for cert in list(chain)[:CHAIN_CERTS] if isinstance(cert, Mapping)]
    if not chain:
        return None
    from cryptography.x509.oid import NameOID

    certificates = _certificates(chain)
    if certificates:
        top = certificates[_root_most([(c.subject, c.issuer) for c in certificates])]
        pairs = []
        for oid, key in ((NameOID.COMMON_NAME, "CN"), (NameOID.ORGANIZATION_NAME, "O"),
                         (NameOID.ORGANIZATIONAL_UNIT_NAME, "OU")):
            for attribute in top.issuer.get_attributes_for_oid(oid):
                value = attribute.value
                pairs.append((key, value if isinstance(value, str) else value.decode("utf-8", "replace")))
        name = _display(pairs)
        return name if name is not None else (top.issuer.rfc4514_string() or None)
    texts = [(str(cert.get("Subject") or ""), str(cert.get("Issuer") or "")) for cert in chain]
    if not any(issuer for _, issuer in texts):
        return None
    return _text_name(texts[_root_most(texts)][1])



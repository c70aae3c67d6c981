"""Names: is the certificate for the host the client asked for, and if not, how nearly?

A name mismatch is the one certificate failure whose fix is often on the client's side (use
the name the certificate holds), and whose usual causes are near misses a person overlooks:
the wildcard that does not cover the bare domain, ``www`` or not, an IP address where the
certificate lists names. The rule says which, and the fix that goes with it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Iterator

from cryptography import x509

from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.rules.evidence import interceptor, validation
from tlsdoctor.judge.rules.registry import E, finding, rule
from tlsdoctor.observe.observations import Observations, describe_cert


@rule("cert.hostname_mismatch")
def hostname(obs: Observations) -> Iterator[Finding]:
    """Is the certificate for this host name?"""
    chain = obs.presented_chain
    with_name, without = validation(obs, "client_now"), validation(obs, "chain_only_now")
    if not chain or with_name is None or without is None or with_name.ok or not without.ok:
        return
    if interceptor(obs) is not None:
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
    near = near_miss(host, described["san"])
    yield finding("cert.hostname_mismatch", E, 0.95,
                  f"The certificate is for {', '.join(described['san'][:5])}, not for '{host}'"
                  + (f": {near[0]}." if near else "."),
                  near[1] if near else "Use the host name the certificate is for, or reissue it to include this name.",
                  host=host, **described)


def near_miss(host: str, names: Sequence[str]) -> tuple[str, str] | None:
    """Why a name the certificate almost covers is not covered, and the fix: (why, remedy).

    The field's usual near misses (RFC 6125 §6.4.3, CA/B Forum BR 3.2.2.6): a wildcard covers
    exactly one label, so ``*.example.com`` covers neither ``example.com`` nor
    ``a.b.example.com``; ``www.example.com`` and ``example.com`` are two names; and an IP
    address is matched only by an IP address entry, never by a name.
    """
    host = host.lower().rstrip(".")
    listed = [n.lower().rstrip(".") for n in names]
    is_ip = _is_ip(host)
    if is_ip and not any(_is_ip(n) for n in listed):
        return ("the client connects by IP address, and the certificate lists names only (an address is matched "
                "only by an IP address entry)", f"Connect by the certificate's name ({listed[0]}) instead of the "
                "address, or reissue the certificate with the address as an IP subjectAltName.") if listed else None
    for name in listed:
        if not name.startswith("*."):
            continue
        base = name[2:]
        if host == base:
            return (f"the wildcard {name} covers one label below {base} (www.{base}), not {base} itself",
                    f"Reissue the certificate with both {base} and {name} (most CAs add the bare name for free).")
        if host.endswith("." + base):
            return (f"the wildcard {name} covers exactly one label, and {host} has more below {base}",
                    f"Reissue the certificate with {host} (or *.{host.split('.', 1)[1]}) in subjectAltName.")
    for name in listed:
        if host == f"www.{name}" or name == f"www.{host}":
            return (f"{name} and {host} are two names, and the certificate holds only one",
                    f"Reissue the certificate with both {host} and {name}, or redirect to the name it holds "
                    "(the redirect itself needs a certificate for this name).")
    return None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True

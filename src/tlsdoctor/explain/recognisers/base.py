"""What a recogniser is: one ecosystem's error vocabulary as data, mapped to shared signals.

A recogniser never names a finding code. It says what a spelling *means* in the shared
vocabulary of :class:`tlsdoctor.signals.Signal` — a curl code, an OpenSSL verify result, a
TLS alert, an errno, a proxy's CONNECT status, or one of :data:`tlsdoctor.signals.CONDITIONS`
— and :func:`tlsdoctor.classify.classify`, the one table, says what that means as a cause.
A new message is a new row here; a new *kind* of meaning is a row in classify/table.py.

Three kinds of spelling, matched by the engine in :mod:`tlsdoctor.explain.read` in linear
time (no backtracking regular expression sees a phrase or a name):

- ``phrases``: message text, matched case- and whitespace-insensitively as a substring after
  NFKC normalisation (so full-width ``：`` in a Chinese message equals ``:``);
- ``names``: identifiers matched as whole tokens (``SEC_E_UNTRUSTED_ROOT``,
  ``NET::ERR_CERT_AUTHORITY_INVALID``, ``0x80090325``, ``-2146893019``);
- ``patterns``: the few spellings that carry a number (``curl: (60)``,
  ``NSURLErrorDomain Code=-1202``), each a bounded regular expression anchored by a literal.

Each spelling has a *trust*: hex status codes and numbers are language-independent and
always win (:data:`NUMERIC`), then names, then English phrases, then translations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

from tlsdoctor.signals import CONDITIONS

# How much a spelling is trusted when two readings of one signal field disagree (lower wins).
NUMERIC = 0  # a status code by number or hex: 0x80090325, -1202, curl: (60)
NAME = 1  # an identifier: SEC_E_UNTRUSTED_ROOT, NET::ERR_CERT_DATE_INVALID, UntrustedRoot
PHRASE = 2  # an English message
LOCALISED = 3  # the same message in another language
WRAPPER = 4  # a generic wrapper around the real error ("The SSL connection could not be established")

FIELDS = ("curl", "verify", "alert", "errno", "connect_status", "condition")


@dataclass(frozen=True)
class Means:
    """What one spelling says, in shared signals (at least one field set)."""

    curl: int | None = None
    verify: int | None = None
    alert: int | None = None
    errno: str | None = None
    connect_status: int | None = None
    condition: str | None = None
    trust: int | None = None  # overrides the spelling kind's default trust

    def __post_init__(self) -> None:
        if self.condition is not None and self.condition not in CONDITIONS:
            raise ValueError(f"unknown condition {self.condition!r}: add it to tlsdoctor.signals.CONDITIONS")
        if not any(getattr(self, name) is not None for name in FIELDS):
            raise ValueError("a spelling must mean at least one signal")

    def items(self) -> Iterator[tuple[str, object]]:
        for name in FIELDS:
            value = getattr(self, name)
            if value is not None:
                yield name, value


@dataclass(frozen=True)
class Pattern:
    """A spelling that carries a number: a bounded regex with one group, and what the number means.

    ``table`` maps the group (as written, e.g. ``"-1202"``) to a meaning; without a table,
    ``read`` turns the match into one (or None to ignore it). ``gate`` is a lowercase literal
    that must occur in the text for the regex to run at all — cheap, and it keeps the regex
    off texts it cannot match.
    """

    regex: re.Pattern[str]
    gate: str
    table: Mapping[str, Means] = field(default_factory=dict)
    read: Callable[[re.Match[str]], Means | None] | None = None
    trust: int = NUMERIC

    def meaning(self, match: re.Match[str]) -> Means | None:
        if self.read is not None:
            return self.read(match)
        return self.table.get(match[1])


@dataclass(frozen=True)
class Recogniser:
    """One ecosystem's error vocabulary (see the module docstring)."""

    ecosystem: str  # short id, as the corpus files name it: "windows", "dotnet", "chrome"
    title: str  # for docs/explain.md: "Windows SSPI/schannel and CryptoAPI status codes"
    covers: str  # which products and versions the table was written from
    phrases: Mapping[str, Means] = field(default_factory=dict)
    names: Mapping[str, Means] = field(default_factory=dict)
    patterns: tuple[Pattern, ...] = ()
    localised: Mapping[str, Mapping[str, Means]] = field(default_factory=dict)  # language → phrases
    markers: tuple[str, ...] = ()  # lowercase phrases saying a text comes from this ecosystem
    input_kind: str | None = None  # what explain calls such a text when no shape says more

    @property
    def languages(self) -> tuple[str, ...]:
        return ("en", *self.localised) if (self.phrases or self.names) else tuple(self.localised)


# Shorthands for tables: the meanings used again and again.
UNTRUSTED = Means(condition="untrusted_issuer")
PARTIAL_CHAIN = Means(condition="chain_incomplete")
DATE_INVALID = Means(condition="cert_date_invalid")
REJECTED = Means(condition="cert_rejected")
REVOCATION_UNKNOWN = Means(condition="revocation_unavailable")
SECURE_CHANNEL = Means(condition="secure_channel_failed")
HANDSHAKE_FAILED = Means(condition="handshake_failed")
VERSION_OR_CIPHER = Means(condition="version_or_cipher_mismatch")
PROTOCOL = Means(condition="protocol_mismatch")
CIPHER = Means(condition="cipher_mismatch")
CLOSED = Means(condition="connection_closed")
NO_ANSWER = Means(condition="no_http_answer")
NOT_TLS = Means(condition="not_tls")
CLIENT_CERT = Means(condition="client_cert_required")
NO_NAME = Means(condition="name_not_resolved")
PROXY_FAILED = Means(condition="proxy_failed")
PROXY_UNREACHABLE = Means(condition="proxy_unreachable")
HANDSHAKE_TIMEOUT = Means(condition="handshake_timeout")
BUNDLE_MISSING = Means(condition="bundle_missing")
MITM = Means(condition="mitm_detected")
EXPIRED = Means(verify=10)
NOT_YET_VALID = Means(verify=9)
SELF_SIGNED = Means(verify=18)
SELF_SIGNED_IN_CHAIN = Means(verify=19)
NO_LOCAL_ISSUER = Means(verify=20)
LEAF_ONLY = Means(verify=21)
REVOKED = Means(verify=23)
BAD_USAGE = Means(verify=26)
NAME_MISMATCH = Means(verify=62)
WEAK_KEY = Means(verify=66)
WEAK_SIGNATURE = Means(verify=68)
REFUSED = Means(errno="ECONNREFUSED")
RESET = Means(errno="ECONNRESET")
TIMED_OUT = Means(errno="ETIMEDOUT")
PROXY_AUTH = Means(connect_status=407)


def numbered(regex: str, gate: str, table: Mapping[str, Means], *, flags: int = 0, trust: int = NUMERIC) -> Pattern:
    """A :class:`Pattern` from a regex with one group and a table of what each number means."""
    return Pattern(re.compile(regex, flags), gate.lower(), table, trust=trust)

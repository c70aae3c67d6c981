"""The CA-file linter: what in a CA file can break verification, entry by entry.

A CA file is read by OpenSSL in a way that makes single entries matter: OpenSSL refuses
the whole file when one block does not decode, and it looks issuers up *by subject*,
taking the first time-valid match. So a damaged re-export of a root (same subject, same
key, but not a CA) listed before the good one makes every chain through that root fail
with "invalid CA certificate" (``trust.bundle_corrupt``). :func:`lint_ca_file` names such
entries with their position (entry number and line) so that a human can find them;
:func:`without_broken_entries` gives the file minus them, so that a rule can prove the
diagnosis with OpenSSL itself ("removing entry 0 makes the chain verify").

The OpenSSL behaviours relied on were measured with OpenSSL 3.0 against the lab: a twin
with basicConstraints CA:FALSE, with keyUsage lacking keyCertSign, or with no
basicConstraints at all breaks verification when listed first and is harmless when listed
after the good entry; an expired twin is skipped (OpenSSL prefers a time-valid issuer).
Note that ``cryptography``'s verifier backtracks past the twin and does *not* reproduce
the failure: the linter, not :func:`tlsdoctor.observe.trust.verify_presented_chain`, is
the probe for this.
"""

from __future__ import annotations

import hashlib
import os
import threading
from datetime import datetime, timezone
from typing import Collection

from cryptography import x509

from tlsdoctor.observe.pem import Encoding, PublicFormat, file_identity
from tlsdoctor.observe.trust import (
    MAX_CA_ENTRIES,
    MAX_CA_FILE_BYTES,
    PemBlock,
    certificate_blocks,
    decode_block,
    must_propagate,
    not_pem_reason,
    openssl_block_error,
    openssl_load_error,
    read_ca_file_bytes,
    subject_text,
)
from tlsdoctor.records import record

PROBLEMS = ("unparseable", "not-a-ca", "expired", "not-yet-valid", "shadows")
# Within one entry, problems are listed by how much they break: a file OpenSSL refuses
# first, then a twin in the way, then the entry's own defects.
_SEVERITY = ("unparseable", "shadows", "not-a-ca", "expired", "not-yet-valid")

# What :func:`without_broken_entries` removes by default: the entries that can break
# verification of *other* chains. A non-CA entry without a twin is left alone: it is often
# a self-signed server certificate pinned on purpose, which OpenSSL trusts as itself.
# Expired entries are left alone too: OpenSSL skips them in favour of a valid twin.
BREAKING = frozenset({"unparseable", "shadows"})


@record
class CaFileProblem:
    """One problem with one entry of a CA file."""

    index: int  # 0-based entry number, among certificate blocks
    line: int  # 1-based line of its BEGIN marker
    subject: str | None  # RFC 4514; None when the entry does not decode
    problem: str  # one of PROBLEMS
    detail: str  # one line a human reads
    shadowed_index: int | None = None  # for "shadows": the good twin this entry gets in the way of


@record
class CaFileLint:
    """The linter's findings for one CA file. ``error`` means the file could not be linted at all."""

    path: str
    entries: int
    problems: tuple[CaFileProblem, ...] = ()
    error: str | None = None
    truncated: bool = False  # more than MAX_CA_ENTRIES entries: only the first were linted
    sha256: str | None = None  # of the file as linted: without_broken_entries refuses a changed file
    openssl_error: str | None = None  # what OpenSSL says loading the file as it is; None when it loads

    def broken_indexes(self, kinds: Collection[str] = BREAKING) -> frozenset[int]:
        return frozenset(p.index for p in self.problems if p.problem in kinds)


@record
class _CaVerdict:
    """Whether OpenSSL takes a certificate as a CA (the logic of its ``check_ca()``)."""

    reason: str | None  # why it is not a valid CA; None when it is one
    lenient_openssl_accepts: bool = False  # only OpenSSL's X509_STRICT mode rejects it


def _ca_verdict(cert: x509.Certificate) -> _CaVerdict:
    """Is ``cert`` usable as an issuer? Mirrors OpenSSL's check_ca (crypto/x509/v3_purp.c).

    keyUsage without keyCertSign, or basicConstraints CA:FALSE: never a CA. No
    basicConstraints: lenient OpenSSL still accepts a self-signed v1 root or a certificate
    whose keyUsage allows keyCertSign, but strict verifiers (OpenSSL's X509_STRICT, the
    default of Python 3.13's ``ssl.create_default_context``; cryptography) do not.
    """
    try:
        extensions = cert.extensions
    except BaseException as exc:
        if must_propagate(exc):
            raise
        return _CaVerdict("its extensions do not parse")
    try:
        usage = extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.key_cert_sign:
        return _CaVerdict("keyUsage without keyCertSign")
    try:
        constraints = extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is not None:
        return _CaVerdict(None if constraints.ca else "basicConstraints CA:FALSE")
    if cert.version == x509.Version.v1 and cert.issuer == cert.subject:
        return _CaVerdict("no basicConstraints (a v1 root)", lenient_openssl_accepts=True)
    if usage is not None:  # keyCertSign asserted, no basicConstraints
        return _CaVerdict("no basicConstraints", lenient_openssl_accepts=True)
    return _CaVerdict("no basicConstraints")


def _twin_key(cert: x509.Certificate) -> tuple[bytes, bytes] | None:
    """Subject and public key, the identity OpenSSL's issuer lookup sees; None if unreadable."""
    try:
        return (
            cert.subject.public_bytes(),
            cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo),
        )
    except BaseException as exc:  # unsupported key types (GOST, ...) cannot be compared
        if must_propagate(exc):
            raise
        return None


def _valid_at(cert: x509.Certificate, at: datetime) -> bool:
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


def _quote(subject: str | None) -> str:
    return f"'{subject}'" if subject is not None else "(undecodable subject)"


@record
class _Entry:
    block: PemBlock
    cert: x509.Certificate
    subject: str | None
    verdict: _CaVerdict
    twin_key: tuple[bytes, bytes] | None


_UNSET = object()


@record
class _Parsed:
    """What a lint finds whatever the time: read once per file version (see :func:`_parsed`)."""

    path: str
    error: str | None = None
    digest: str | None = None
    blocks: tuple[PemBlock, ...] = ()
    truncated: bool = False
    problems: tuple[CaFileProblem, ...] = ()  # the unparseable entries
    entries: tuple[_Entry, ...] = ()
    openssl_error: str | None = None


_PARSED: dict[tuple[object, ...], _Parsed] = {}
_PARSED_LOCK = threading.Lock()
_PARSED_ENTRIES = 8


def lint_ca_file(path: str | os.PathLike[str], *, at: datetime, openssl_error: object = _UNSET) -> CaFileLint:
    """Lint a PEM CA file at time ``at``. Never raises for a bad file: records ``error``.

    Problems, one per entry and kind:

    - ``unparseable``: the block does not decode, with cryptography or with OpenSSL (the
      detail says which; when OpenSSL cannot load it, OpenSSL refuses the whole file);
    - ``not-a-ca``: it cannot issue (see :func:`_ca_verdict`) — it can only be trusted as the
      exact server certificate;
    - ``expired`` / ``not-yet-valid`` at ``at``;
    - ``shadows``: same subject and key as a good CA entry, but not a CA itself; reported
      instead of ``not-a-ca`` for that entry, naming the good twin in ``shadowed_index``.

    ``openssl_error``: what OpenSSL said loading this very file, when the caller already
    asked (a :class:`~tlsdoctor.observe.trust.TrustSource` of it holds the answer); asking
    again costs ~25 ms for certifi's bundle. The time-independent reading of a file is
    kept per process by path, size, mtime and inode (a batch lints the same file for
    every URL).
    """
    text = os.fspath(path)
    when = at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
    parsed = _parsed(text, openssl_error)
    if parsed.error is not None:
        return CaFileLint(text, len(parsed.blocks), error=parsed.error, sha256=parsed.digest)
    problems = list(parsed.problems)
    entries = parsed.entries
    blocks, truncated, digest = parsed.blocks, parsed.truncated, parsed.digest
    openssl_error = parsed.openssl_error

    twins: dict[tuple[bytes, bytes], list[_Entry]] = {}
    for entry in entries:
        if entry.twin_key is not None:
            twins.setdefault(entry.twin_key, []).append(entry)

    for entry in entries:
        i, line, name = entry.block.index, entry.block.line, _quote(entry.subject)
        if entry.verdict.reason is not None:
            group = twins.get(entry.twin_key, []) if entry.twin_key is not None else []
            good = [e for e in group if e.verdict.reason is None]
            if good:
                problems.append(_shadow_problem(entry, _pick_twin(good, when), when))
            else:
                problems.append(CaFileProblem(
                    i, line, entry.subject, "not-a-ca",
                    f"entry {i} {name} (line {line}) is not a CA certificate ({entry.verdict.reason})"
                    + (": lenient OpenSSL accepts it as an issuer, strict verifiers do not"
                       if entry.verdict.lenient_openssl_accepts
                       else ": it can only be trusted as the exact server certificate, never as an issuer"),
                ))
        if entry.cert.not_valid_after_utc < when:
            problems.append(CaFileProblem(
                i, line, entry.subject, "expired",
                f"entry {i} {name} (line {line}) expired on {entry.cert.not_valid_after_utc:%Y-%m-%d %H:%M:%SZ}",
            ))
        elif entry.cert.not_valid_before_utc > when:
            problems.append(CaFileProblem(
                i, line, entry.subject, "not-yet-valid",
                f"entry {i} {name} (line {line}) is not valid before {entry.cert.not_valid_before_utc:%Y-%m-%d %H:%M:%SZ}",
            ))

    problems.sort(key=lambda p: (p.index, _SEVERITY.index(p.problem)))
    return CaFileLint(text, len(blocks), tuple(problems), None, truncated, digest, openssl_error)


def _parsed(text: str, openssl_error: object) -> _Parsed:
    key = (text, file_identity(text), "asked here" if openssl_error is _UNSET else openssl_error)
    with _PARSED_LOCK:
        hit = _PARSED.get(key)
    if hit is not None:
        return hit
    parsed = _parse(text, openssl_error)
    if parsed.digest is not None:
        with _PARSED_LOCK:
            if len(_PARSED) >= _PARSED_ENTRIES:
                _PARSED.pop(next(iter(_PARSED)))
            _PARSED[key] = parsed
    return parsed


def _parse(text: str, known_openssl_error: object) -> _Parsed:
    data, error = read_ca_file_bytes(text, MAX_CA_FILE_BYTES)
    if data is None:
        return _Parsed(text, error=error)
    digest = hashlib.sha256(data).hexdigest()
    if not data.strip():
        return _Parsed(text, error="empty file", digest=digest)
    blocks, truncated = certificate_blocks(data, MAX_CA_ENTRIES)
    if not blocks:
        return _Parsed(text, error=not_pem_reason(data), digest=digest)

    problems: list[CaFileProblem] = []
    entries: list[_Entry] = []
    # Ask OpenSSL about the file as clients load it; only when it refuses, find which blocks.
    openssl_error = openssl_load_error(cafile=text) if known_openssl_error is _UNSET else known_openssl_error
    for block in blocks:
        where = f"entry {block.index} (line {block.line})"
        try:
            cert = decode_block(block)
        except ValueError as exc:
            refused = openssl_block_error(block) if openssl_error else None
            consequence = (
                "OpenSSL reads it, but cryptography-based verifiers do not"
                if openssl_error is None or refused is None
                else "OpenSSL refuses the whole file because of it"
            )
            problems.append(CaFileProblem(
                block.index, block.line, None, "unparseable", f"{where} does not decode: {exc}; {consequence}"
            ))
            continue
        subject = subject_text(cert)
        refused = openssl_block_error(block) if openssl_error else None
        if refused is not None:
            # cryptography parses lazily and OpenSSL eagerly (e.g. the public key), so a
            # damaged entry can decode here and still be refused there.
            problems.append(CaFileProblem(
                block.index, block.line, subject, "unparseable",
                f"entry {block.index} {_quote(subject)} (line {block.line}) does not load in OpenSSL ({refused}); "
                "OpenSSL refuses the whole file because of it",
            ))
            continue
        entries.append(_Entry(block, cert, subject, _ca_verdict(cert), _twin_key(cert)))
    return _Parsed(text, None, digest, tuple(blocks), truncated, tuple(problems), tuple(entries),
                   openssl_error)  # type: ignore[arg-type]


def _pick_twin(good: list[_Entry], at: datetime) -> _Entry:
    """The good twin to name: a time-valid one if any, the earliest of those (OpenSSL's pick)."""
    valid = [e for e in good if _valid_at(e.cert, at)]
    return (valid or good)[0]


def _shadow_problem(broken: _Entry, good: _Entry, at: datetime) -> CaFileProblem:
    i, line = broken.block.index, broken.block.line
    j, good_line = good.block.index, good.block.line
    head = (
        f"entry {i} {_quote(broken.subject)} (line {line}) has the same subject and key as entry {j} "
        f"(line {good_line}) but {broken.verdict.reason}"
    )
    # OpenSSL's issuer lookup (X509_STORE_CTX_get1_issuer) takes the first entry with the
    # right subject that is valid now, falling back to an invalid one only if none is.
    if not _valid_at(broken.cert, at) and _valid_at(good.cert, at):
        consequence = "it is not valid at this time, so OpenSSL prefers the good entry for now"
    elif i < j:
        consequence = "OpenSSL finds it first and reports 'invalid CA certificate'"
    else:
        consequence = "it comes after the good entry, so OpenSSL finds the good one first; reordering the file breaks verification"
    if broken.verdict.lenient_openssl_accepts:
        consequence += " (in strict mode: OpenSSL's X509_STRICT, the Python 3.13+ default)"
    return CaFileProblem(i, line, broken.subject, "shadows", f"{head}: {consequence}", shadowed_index=j)


def without_broken_entries(
    path: str | os.PathLike[str], lint: CaFileLint, *, kinds: Collection[str] = BREAKING
) -> bytes:
    """The CA file at ``path`` minus the entries ``lint`` found broken, as PEM bytes.

    Kept entries are copied byte for byte, one after another, without the text between
    them (comments, dumps), so the result is a CA file OpenSSL loads — unless nothing is
    left, in which case the result is ``b""`` (which OpenSSL refuses: nothing to trust).
    Removes ``unparseable`` and ``shadows`` entries by default (see :data:`BREAKING`),
    except an ``unparseable`` entry that OpenSSL reads (one only cryptography refuses).
    With a ``truncated`` lint, entries past :data:`MAX_CA_ENTRIES` are not copied.

    Raises ``ValueError`` when the file cannot be read or is not the file that was linted
    (its SHA-256 changed): the entry numbers would no longer mean anything.
    """
    if lint.error is not None:
        raise ValueError(f"{lint.path} could not be linted: {lint.error}")
    data, error = read_ca_file_bytes(path, MAX_CA_FILE_BYTES)
    if data is None:
        raise ValueError(f"{os.fspath(path)}: {error}")
    if lint.sha256 is not None and hashlib.sha256(data).hexdigest() != lint.sha256:
        raise ValueError(f"{os.fspath(path)} changed since it was linted")
    blocks, _ = certificate_blocks(data, MAX_CA_ENTRIES)
    drop = lint.broken_indexes(kinds)
    if "unparseable" in kinds:
        # An entry only cryptography refuses is one OpenSSL trusts: removing it would change
        # what OpenSSL trusts, not repair the file.
        unparseable = lint.broken_indexes({"unparseable"}) - lint.broken_indexes(set(kinds) - {"unparseable"})
        drop -= {i for i in unparseable if openssl_block_error(blocks[i]) is None}
    kept = [block.text if block.text.endswith((b"\n", b"\r")) else block.text + b"\n"
            for block in blocks if block.index not in drop]
    return b"".join(kept)

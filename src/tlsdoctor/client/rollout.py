"""Which HTTP stack this install uses: a GrowthBook feature, evaluated locally.

The move from the platform stack to libcurl is rolled out to a growing share of installs
(1% → 3% → 5% → 10% ...) and must be switchable off remotely, without a restart. The
decision is a GrowthBook feature (``http-stack``, values ``"curl"`` / ``"native"``)
evaluated by the ``growthbook`` SDK itself against a JSON payload that is either a local
file or fetched from a URL — no GrowthBook server is needed, and a GrowthBook server's
own SDK payload works unchanged.

Why the SDK and not our own hash: the acceptance criterion is "identical to what the
GrowthBook SDK computes", and an operator reading the GrowthBook docs must be able to
predict the cohort. We only add what the SDK leaves to the application: where the
payload comes from, when it is re-read, what happens when it is broken, and which id is
hashed.

The bucketing (GrowthBook hash version 2, :func:`growthbook.core.gbhash`)::

    n = (fnv1a32(str(fnv1a32(seed + install_id))) % 10000) / 10000     # in [0, 1)
    on the new stack  <=>  n < coverage

``n`` depends only on the rule's seed and the install id, so raising the coverage with
the same seed only *adds* installs: whoever was on curl at 1% stays on curl at 3%. A
new seed reshuffles everyone; see docs/rollout.md.

The hashed attribute is a random install id (:func:`install_id`), never anything that
identifies a user or a machine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: The values the feature may take: the names of the client's stacks.
STACKS = ("curl", "native")

#: GrowthBook's hash version 2: 10,000 buckets and no bias for short seeds (version 1
#: had 1,000 buckets and correlated neighbouring seeds). Rules without it would be
#: bucketed with version 1 by the SDK (``hashVersion or 1``), reshuffling the cohort.
HASH_VERSION = 2

#: The attribute the rules hash: the random install id.
HASH_ATTRIBUTE = "id"

#: A payload is a few hundred bytes; anything past 1 MiB is not a rollout payload, and
#: reading it whole would let a broken server or a wrong path exhaust memory.
MAX_PAYLOAD_BYTES = 1 << 20

#: Seconds, for the default URL fetch.
FETCH_TIMEOUT_S = 5.0

#: A file signature no stat() returns: forces a re-read after a failed read.
_UNREADABLE = (-1, -1, -1)

#: How long a first caller waits for another thread's first payload read.
_FIRST_ANSWER_WAIT_S = 2 * FETCH_TIMEOUT_S + 1

INSTALL_ID_FILE = "install-id"
_INSTALL_ID_RE = re.compile(r"[0-9a-f]{32}")


# ---------------------------------------------------------------------------------------
# Install id
# ---------------------------------------------------------------------------------------


def install_id(state_dir: Path) -> str:
    """This install's random id: 128 bits, hex, kept in ``state_dir/install-id``.

    Random rather than derived from a machine or user id so that the rollout hash (and
    the reports that carry it) identify nothing. Created once, atomically (a temporary
    file, then a link or rename), mode 0600; a corrupt file is replaced. If two
    processes start at once, the first one to link its file wins and the other adopts
    its id, so an install never has two ids.

    If the state directory cannot be written (read-only home, full disk), an ephemeral
    id is returned and a warning logged: the app must still start, at the price of
    being re-bucketed on every start.
    """
    path = Path(state_dir) / INSTALL_ID_FILE
    existing, present = _read_install_id(path)
    if existing is not None:
        _tighten_mode(path)
        return existing
    fresh = secrets.token_hex(16)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".install-id.", suffix=".tmp")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(fresh + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)  # mkstemp already uses 0600; say it for other platforms
            if present:
                # Corrupt: replace it. A racing process doing the same may win; both
                # then read back whatever is on disk.
                os.replace(tmp, path)
            else:
                try:
                    # link() fails if the name exists: creation without clobbering a
                    # concurrent winner, which rename() would do.
                    os.link(tmp, path)
                except FileExistsError:
                    pass
                except OSError:
                    os.replace(tmp, path)  # a filesystem without hard links
        finally:
            tmp.unlink(missing_ok=True)
        on_disk, _ = _read_install_id(path)
        return on_disk if on_disk is not None else fresh
    except OSError as exc:
        log.warning("cannot store the install id in %s (%s); using an ephemeral one", path, exc)
        return fresh


def _read_install_id(path: Path) -> tuple[str | None, bool]:
    """(the valid id or None, whether something is at ``path``)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(256)
    except FileNotFoundError:
        return None, False
    except OSError:
        return None, True
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return None, True
    return (text, True) if _INSTALL_ID_RE.fullmatch(text) else (None, True)


def _tighten_mode(path: Path) -> None:
    try:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
    except OSError:
        pass


# ---------------------------------------------------------------------------------------
# Payloads
# ---------------------------------------------------------------------------------------


class PayloadError(ValueError):
    """A rollout payload that must not be used; the message says why, for ``last_error``."""


def rollout_payload(
    coverage: float,
    *,
    feature: str = "http-stack",
    kill_switch: bool = False,
    seed: str | None = None,
) -> dict[str, Any]:
    """The GrowthBook payload that puts ``coverage`` (0..1) of installs on ``curl``.

    One GrowthBook *percentage rollout* rule: a ``force`` rule with ``coverage``. The
    SDK includes an install when ``gbhash(seed, id, 2) < coverage``, which is stable per
    id and monotonic in coverage (the 1% cohort stays in at 3%). An experiment-style rule
    (``variations``/``weights``) would bucket the same way but means "A/B test" to the
    SDK and to GrowthBook's UI (tracking callbacks, experiment keys); this is a rollout.

    ``seed`` defaults to the feature name, which is what the SDK uses for a rule without
    one; it is written out so that a payload shows what its cohort depends on. Keep it
    across steps; change it only to draw a fresh cohort.

    ``kill_switch=True`` puts a rule ``{"id": "kill-switch", "force": "native"}`` first.
    GrowthBook applies the first matching rule, and a force rule without coverage matches
    every install, so it overrides everything below it at the next reload. The rollout
    rule stays in place underneath: removing the kill-switch rule restores exactly the
    same cohort, and reports name the rule (``"rule": "kill-switch"``), so a dashboard
    tells "switched off" apart from "not in the cohort".
    """
    if isinstance(coverage, bool) or not isinstance(coverage, (int, float)) or not (
        math.isfinite(coverage) and 0.0 <= coverage <= 1.0
    ):
        raise ValueError(f"coverage must be a number between 0 and 1, not {coverage!r}")
    percent = f"{round(coverage * 100, 4):g}"
    rules: list[dict[str, Any]] = [
        {
            "id": f"rollout-{percent}pct",
            "force": "curl",
            "coverage": float(coverage),
            "hashAttribute": HASH_ATTRIBUTE,
            "hashVersion": HASH_VERSION,
            "seed": seed if seed is not None else feature,
        }
    ]
    if kill_switch:
        rules.insert(0, {"id": "kill-switch", "force": "native"})
    return {"features": {feature: {"defaultValue": "native", "rules": rules}}}


def check_payload(doc: Any, feature: str = "http-stack") -> None:
    """Raise :class:`PayloadError` unless ``doc`` is a payload every install can evaluate.

    The checks do not depend on the install id, so a payload is accepted or refused by
    all installs alike (never by half of them). Refused: a value other than a stack
    name anywhere in the feature (a typo like ``"Curl"`` must not reach the client), a
    rule that hashes anything but ``id`` with hash version 2 (it would silently include
    nobody, or reshuffle the cohort), a coverage outside 0..1. Unknown keys are allowed:
    GrowthBook adds fields over time and the SDK ignores those it does not know.
    """
    if not isinstance(doc, dict):
        raise PayloadError("payload is not a JSON object")
    features = doc.get("features")
    if features is None and "encryptedFeatures" in doc:
        raise PayloadError("encrypted payloads are not supported; publish the plain SDK payload")
    if not isinstance(features, dict):
        raise PayloadError('payload has no "features" object')
    if "savedGroups" in doc and not isinstance(doc["savedGroups"], dict):
        raise PayloadError('"savedGroups" is not an object')
    spec = features.get(feature)
    if spec is None:
        raise PayloadError(f"feature {feature!r} is not in the payload")
    if not isinstance(spec, dict):
        raise PayloadError(f"feature {feature!r} is not an object")
    _check_value(spec.get("defaultValue"), f"{feature}.defaultValue")
    rules = spec.get("rules", [])
    if not isinstance(rules, list):
        raise PayloadError(f"{feature}.rules is not a list")
    for index, rule in enumerate(rules):
        where = f"{feature}.rules[{index}]"
        if isinstance(rule, dict) and rule.get("id"):
            where += f" ({rule['id']})"
        if not isinstance(rule, dict):
            raise PayloadError(f"{where} is not an object")
        if rule.get("force") is not None:
            _check_value(rule["force"], f"{where}.force")
        elif rule.get("variations") is not None:
            variations = rule["variations"]
            if not isinstance(variations, list) or not variations:
                raise PayloadError(f"{where}.variations is not a non-empty list")
            for k, value in enumerate(variations):
                _check_value(value, f"{where}.variations[{k}]")
        else:
            raise PayloadError(f"{where} has neither force nor variations")
        hashes = any(rule.get(key) is not None for key in ("coverage", "range", "variations"))
        if hashes:
            if rule.get("hashAttribute", HASH_ATTRIBUTE) != HASH_ATTRIBUTE:
                raise PayloadError(
                    f"{where} hashes {rule.get('hashAttribute')!r}; installs only have {HASH_ATTRIBUTE!r}"
                )
            if rule.get("hashVersion") != HASH_VERSION:
                raise PayloadError(f"{where} must set hashVersion {HASH_VERSION} (got {rule.get('hashVersion')!r})")
        coverage = rule.get("coverage")
        if coverage is not None and (
            isinstance(coverage, bool) or not isinstance(coverage, (int, float))
            or not (math.isfinite(coverage) and 0.0 <= coverage <= 1.0)
        ):
            raise PayloadError(f"{where}.coverage must be a number between 0 and 1 (got {coverage!r})")


def _check_value(value: Any, where: str) -> None:
    if value not in STACKS or not isinstance(value, str):
        raise PayloadError(f"{where} is {value!r}; expected one of {', '.join(STACKS)}")


# ---------------------------------------------------------------------------------------
# The decision
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cohort:
    """The stack this install uses, and why: the ``cohort`` of a ``tlsdoctor.report/1``.

    ``rule`` is the GrowthBook rule id that matched (``"rollout-5pct"``, ``"kill-switch"``),
    ``"default"`` when no rule matched, or ``"fallback"`` when no usable payload was ever
    read (then ``value`` is the Rollout's default). ``payload_version`` is
    ``sha256:`` + the first 16 hex digits of the payload bytes, so reports from installs
    on different payload generations can be told apart.
    """

    feature: str
    value: str
    rule: str | None
    source: str
    payload_version: str | None

    def report_fields(self) -> dict[str, Any]:
        """The ``cohort`` object of a ``tlsdoctor.report/1`` event."""
        return {"feature": self.feature, "value": self.value, "rule": self.rule,
                "payload_version": self.payload_version}


def fetch_url(url: str) -> bytes:
    """GET ``url`` with verification on, a 5 s timeout and at most 1 MiB read.

    Trust comes from the OS store (``truststore``) like the native stack's, because the
    payload must arrive on exactly the machines where the bundled CA file fails (an
    intercepting antivirus whose CA only the OS trusts). Proxies from the environment are
    honoured for the same reason.
    """
    import ssl

    import httpx

    verify: ssl.SSLContext | bool
    try:
        import truststore

        verify = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    except Exception:  # noqa: BLE001 - truststore unusable here: certifi, still verified
        verify = True
    deadline = time.monotonic() + 2 * FETCH_TIMEOUT_S  # the per-phase timeouts, bounded in total
    with (
        httpx.Client(verify=verify, timeout=FETCH_TIMEOUT_S, follow_redirects=True, max_redirects=3) as client,
        client.stream("GET", url, headers={"Accept": "application/json"}) as response,
    ):
        if response.status_code != 200:
            raise PayloadError(f"GET {_redact(url)} answered {response.status_code}")
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_PAYLOAD_BYTES:
                raise PayloadError(f"payload larger than {MAX_PAYLOAD_BYTES} bytes")
            if time.monotonic() > deadline:
                raise PayloadError(f"payload download took more than {2 * FETCH_TIMEOUT_S:g} s")
        return bytes(body)


def _redact(url: str) -> str:
    """The URL without query string or credentials: GrowthBook client keys live there."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class Rollout:
    """Answers "curl or native?" for this install, re-reading the payload as it changes.

    ``stack()`` is called on every request from many threads, so it is cheap: the
    evaluation depends only on the payload and the install id, and is done once per
    payload read. The payload is looked at again only when ``reload_interval`` seconds
    have passed since the last look, and then a file is re-read only if its mtime, size
    or inode changed; a URL is fetched again. That interval is how long a kill switch
    takes to reach a running app.

    A URL fetch runs outside the lock that ``stack()`` takes: while one thread fetches,
    the others keep the current answer instead of queueing behind the network. Only the
    very first evaluation makes callers wait (bounded by the fetch timeout), so that an
    app does not start its first requests on a stack the payload does not assign.

    A payload that cannot be used (unreadable, not JSON, refused by
    :func:`check_payload`) never changes the answer: the last good evaluation stays, or
    ``default`` if there is none, and ``last_error`` says why. A bad edit must not flip
    installs between stacks; to switch curl off, publish the kill switch, do not delete
    the file.
    """

    def __init__(
        self,
        *,
        feature: str = "http-stack",
        payload: Path | str,
        install_id: str,
        reload_interval: float = 60.0,
        default: str = "native",
        clock: Callable[[], float] = time.monotonic,
        fetch: Callable[[str], bytes] | None = None,
    ) -> None:
        if default not in STACKS:
            raise ValueError(f"default must be one of {STACKS}, not {default!r}")
        if not (reload_interval >= 0 and math.isfinite(reload_interval)):
            raise ValueError(f"reload_interval must be a non-negative number of seconds, not {reload_interval!r}")
        if not install_id:
            raise ValueError("install_id is empty; the SDK would include this install in no rollout")
        self.feature = feature
        self.install_id = install_id
        self.reload_interval = float(reload_interval)
        self.default = default
        self._clock = clock
        self._fetch = fetch or fetch_url
        self._url: str | None = None
        self._path: Path | None = None
        if isinstance(payload, str) and "://" in payload:
            scheme = payload.split("://", 1)[0].lower()
            if scheme not in ("http", "https"):
                raise ValueError(f"payload URL must be http(s), not {scheme}")
            self._url = payload
            self.source = _redact(payload)
        else:
            self._path = Path(payload)
            self.source = str(self._path)

        self._lock = threading.Lock()  # guards the fields below; held only briefly
        self._load_lock = threading.Lock()  # one payload read at a time
        self._cohort: Cohort | None = None
        self._checked_at: float | None = None
        self._signature: tuple[int, int, int] | None = None
        self._last_error: str | None = None
        self._loads = 0

    # -- public ---------------------------------------------------------------------------

    @property
    def last_error(self) -> str | None:
        """Why the last payload read was not used, or None if it was."""
        with self._lock:
            return self._last_error

    @property
    def loads(self) -> int:
        """How many times the payload was actually read or fetched (for tests and stats)."""
        with self._lock:
            return self._loads

    def stack(self) -> Cohort:
        """The stack for this install now. Never raises: a failure yields the safe answer."""
        try:
            with self._lock:
                cohort = self._cohort
                if cohort is not None and not self._due():
                    return cohort
            if cohort is None:
                # The first answer: wait for it, but not forever (a custom fetch may hang).
                if not self._load_lock.acquire(timeout=_FIRST_ANSWER_WAIT_S):
                    return self._fallback()
            elif not self._load_lock.acquire(blocking=False):
                return cohort  # someone else is reloading; the current answer stands
            try:
                with self._lock:
                    if self._cohort is not None and not self._due():
                        return self._cohort  # reloaded while we waited
                    self._checked_at = self._clock()
                self._reload()
            finally:
                self._load_lock.release()
            with self._lock:
                assert self._cohort is not None
                return self._cohort
        except Exception as exc:  # noqa: BLE001 - the rollout must never break a request
            log.warning("rollout: unexpected error, keeping the current stack: %r", exc)
            with self._lock:
                if self._cohort is None:
                    self._last_error = f"unexpected error: {exc!r}"
                    self._cohort = self._fallback()
                return self._cohort

    # -- internals --------------------------------------------------------------------------

    def _due(self) -> bool:
        return self._checked_at is None or self._clock() - self._checked_at >= self.reload_interval

    def _fallback(self) -> Cohort:
        return Cohort(self.feature, self.default, "fallback", self.source, None)

    def _reload(self) -> None:
        """Read the payload if it changed and evaluate it (called under ``_load_lock``)."""
        try:
            raw = self._read_if_changed()
            if raw is None:
                return  # the file did not change since the last read
            cohort = self._evaluate(raw)
        except Exception as exc:  # noqa: BLE001 - PayloadError, OSError, httpx, SDK surprises
            reason = str(exc) if isinstance(exc, PayloadError) else f"{type(exc).__name__}: {exc}"
            with self._lock:
                if self._last_error != reason:
                    log.warning("rollout payload %s not used: %s", self.source, reason)
                self._last_error = reason
                if self._cohort is None:
                    self._cohort = self._fallback()
            return
        with self._lock:
            self._cohort = cohort
            self._last_error = None

    def _read_if_changed(self) -> bytes | None:
        if self._url is not None:
            with self._lock:
                self._loads += 1
            return self._fetch(self._url)
        assert self._path is not None
        try:
            st = os.stat(self._path)
            signature: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            signature = None
        with self._lock:
            if self._cohort is not None and signature == self._signature:
                return None
            # Recorded before reading: a file changed while we read it has a newer
            # signature and is read again at the next look.
            self._signature = signature
            self._loads += 1
        if signature is None:
            raise PayloadError(f"payload file {self._path} does not exist")
        try:
            with open(self._path, "rb") as f:
                raw = f.read(MAX_PAYLOAD_BYTES + 1)
        except OSError:
            with self._lock:
                self._signature = _UNREADABLE  # a transient failure: read again next time
            raise
        if len(raw) > MAX_PAYLOAD_BYTES:
            raise PayloadError(f"payload larger than {MAX_PAYLOAD_BYTES} bytes")
        return raw

    def _evaluate(self, raw: bytes) -> Cohort:
        version = "sha256:" + hashlib.sha256(raw).hexdigest()[:16]
        if not raw.strip():
            raise PayloadError("payload is empty")
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise PayloadError(f"payload is not JSON: {exc}") from None
        check_payload(doc, self.feature)
        return evaluate(doc, self.feature, self.install_id, source=self.source, payload_version=version)


def evaluate(
    doc: Mapping[str, Any],
    feature: str,
    install: str,
    *,
    source: str = "",
    payload_version: str | None = None,
) -> Cohort:
    """Evaluate ``feature`` of a checked payload for one install id with the GrowthBook SDK.

    A fresh SDK object per evaluation: it is cheap (tens of microseconds), shares no
    state between installs or threads, and never contacts GrowthBook (no client key).
    """
    from growthbook import GrowthBook

    gb = GrowthBook(
        features=doc["features"],
        attributes={HASH_ATTRIBUTE: install},
        savedGroups=doc.get("savedGroups") or {},
    )
    result = gb.eval_feature(feature)
    if not isinstance(result.value, str) or result.value not in STACKS:
        raise PayloadError(f"feature {feature!r} evaluated to {result.value!r} ({result.source})")
    if result.source == "defaultValue":
        rule = "default"
    else:
        rule = result.ruleId or result.source
    return Cohort(feature, result.value, rule, source, payload_version)


def main(argv: list[str] | None = None) -> int:
    """``tlsdoctor rollout``: write or check a payload before publishing it.

    The command line lives in :mod:`tlsdoctor.cli.rollout` (one voice for every command);
    this entry point stays for ``python -m tlsdoctor.client.rollout`` and old scripts.
    """
    import sys

    from tlsdoctor.cli import main as cli_main

    return cli_main(["rollout", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())

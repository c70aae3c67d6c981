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

Three modules, one a concept: the payload *document* — writing one and checking one before
any install uses it — is :mod:`tlsdoctor.client.growthbook_payload`; the install id is
:mod:`tlsdoctor.client.install_identity`; this module is the per-install *decision*: where the
payload comes from and when it is re-read (:class:`Rollout`), what the SDK says for this id
(:func:`evaluate`), and what a broken payload changes (nothing).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The payload document and the install id have modules of their own; their names stay
# importable from here, where callers (the client, fleet, the CLI, docs) have always found them.
from tlsdoctor.client.growthbook_payload import (
    HASH_ATTRIBUTE, HASH_VERSION, MAX_PAYLOAD_BYTES, STACKS, PayloadError, check_payload, rollout_payload,
)
from tlsdoctor.client.install_identity import INSTALL_ID_FILE, install_id

__all__ = [
    "HASH_ATTRIBUTE", "HASH_VERSION", "INSTALL_ID_FILE", "MAX_PAYLOAD_BYTES", "STACKS", "Cohort", "PayloadError",
    "Rollout", "check_payload", "evaluate", "fetch_url", "install_id", "main", "rollout_payload",
]

log = logging.getLogger(__name__)

#: Seconds, for the default URL fetch.
FETCH_TIMEOUT_S = 5.0

#: A file signature no stat() returns: forces a re-read after a failed read.
_UNREADABLE = (-1, -1, -1)

#: How long a first caller waits for another thread's first payload read.
_FIRST_ANSWER_WAIT_S = 2 * FETCH_TIMEOUT_S + 1


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

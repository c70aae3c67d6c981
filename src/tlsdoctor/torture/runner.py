"""The one generic runner: baseline, then each attack in rounds, each followed by sanity.

For every attack: R rounds, each the attack (a round function, or connections held open)
followed by a fresh verified libcurl request; held attacks get their sanity request
*while* held, and one more after release. Rounds cycle through the attack's variants
(FIN, RST) and the TLS versions the server offers. When the last request failed, sanity
requests continue for a grace period to see whether the server recovers. A dead server
ends the run (the rest cannot be told apart from the first death) unless ``keep_going``.

Every loop here is bounded by a count, every wait by a timeout, and every new connection
passes one rate limit.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from OpenSSL import SSL

from tlsdoctor.torture.attacks import MAX_HOLD, Round
from tlsdoctor.torture.catalogue import ATTACKS, Attack, attack as attack_by_id
from tlsdoctor.torture.connection import RateLimit, TlsClient
from tlsdoctor.torture.outcome import Baseline, Outcome, judge, likely_bug, symptom_of
from tlsdoctor.torture.results import AttackResult, RoundRecord, TortureReport
from tlsdoctor.torture.sanity import SanityResult, sanity_request
from tlsdoctor.torture.target import Target, TargetError, resolve_target

MAX_ROUNDS = 100
MAX_CONCURRENCY = 1024
BASELINE_REQUESTS = 3
GRACE_INTERVAL = 0.5


class TargetDown(TargetError):
    """The target did not answer the baseline: there is nothing to torture."""


@dataclass(frozen=True)
class Options:
    rounds: int = 4
    concurrency: int = 16  # connections a held attack holds
    timeout: float = 3.0  # per sanity request, and per socket operation of an attack
    hold: float = 0.5  # how long a held attack holds before its sanity request starts
    grace: float = 5.0  # how long a failing server is given to recover
    max_rate: float = 200.0  # new attack connections per second, at most
    keep_going: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.rounds <= MAX_ROUNDS:
            raise ValueError(f"rounds must be 1..{MAX_ROUNDS}")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be 1..{MAX_CONCURRENCY}")
        if not (0 < self.timeout <= 60 and 0 <= self.hold <= MAX_HOLD and 0 <= self.grace <= 120 and self.max_rate > 0):
            raise ValueError("timeout, hold, grace and rate must be positive and bounded")


Progress = Callable[[str, int, int], None]  # (attack id, rounds done, rounds planned)


def select(only: Iterable[str] | None) -> list[Attack]:
    """The attacks to run, in catalogue order; KeyError for an unknown id."""
    if not only:
        return list(ATTACKS)
    wanted = {attack_by_id(i).id for i in only}
    return [a for a in ATTACKS if a.id in wanted]


def run(
    url: str,
    *,
    ca_bundle: str | Path | None = None,
    only: Iterable[str] | None = None,
    allow_remote: bool = False,
    progress: Progress | None = None,
    **options: object,
) -> TortureReport:
    """Torture the server at ``url``; see :class:`Options` for ``rounds``, ``concurrency``...

    Raises :class:`TargetError` for a URL that cannot be tortured (bad, remote without
    ``allow_remote``) and :class:`TargetDown` when it does not answer the baseline.
    """
    opts = Options(**options)  # type: ignore[arg-type]
    attacks = select(only)
    target = resolve_target(url, ca_file=ca_bundle, allow_remote=allow_remote)
    return Runner(target, opts, progress).run(attacks)


class Runner:
    def __init__(self, target: Target, options: Options, progress: Progress | None = None) -> None:
        self.target = target
        self.options = options
        self.rate = RateLimit(options.max_rate)
        self.progress = progress or (lambda _id, _done, _total: None)

    def sanity(self) -> SanityResult:
        return sanity_request(self.target, self.options.timeout)

    def run(self, attacks: Sequence[Attack]) -> TortureReport:
        begin = time.monotonic()
        first = [self.sanity() for _ in range(BASELINE_REQUESTS)]
        for result in first:
            if not result.answered or (result.status or 0) >= 500:
                what = f"curl {result.curl_code}: {result.error}" if result.curl_code else f"HTTP {result.status}"
                raise TargetDown(f"{self.target.url} does not answer the baseline request ({what})")
        baseline = Baseline.of(first)
        versions = tuple(v for v in ("1.3", "1.2") if self._offers(v))
        http2 = self._offers(None, alpn=(b"h2", b"http/1.1"), want_alpn="h2")
        results: list[AttackResult] = []
        dead: str | None = None
        for entry in attacks:
            if dead is not None:
                results.append(_skipped(entry, f"not run: the server died in {dead}"))
                continue
            result = self._attack(entry, baseline, versions, http2)
            results.append(result)
            if result.outcome is Outcome.DEAD and not self.options.keep_going:
                dead = entry.id
        return TortureReport(self.target, baseline, versions, http2, tuple(results), time.monotonic() - begin)

    def _offers(self, version: str | None, *, alpn: tuple[bytes, ...] = (b"http/1.1",), want_alpn: str | None = None) -> bool:
        self.rate.wait()
        try:
            client = TlsClient(self.target, version=version, timeout=self.options.timeout, alpn=alpn)
        except OSError:
            return False
        try:
            client.handshake()
            return want_alpn is None or client.alpn == want_alpn
        except (OSError, SSL.Error):
            return False
        finally:
            client.close()

    def _plan(self, entry: Attack, versions: tuple[str, ...]) -> list[tuple[str, str | None]]:
        if entry.only_version:
            tls = [entry.only_version]
        elif entry.per_version and versions:
            tls = list(versions)
        else:
            tls = [None]  # type: ignore[list-item]
        return [(close, version) for version in tls for close in entry.closes]

    def _attack(self, entry: Attack, baseline: Baseline, versions: tuple[str, ...], http2: bool) -> AttackResult:
        if entry.needs_h2 and not http2:
            return _skipped(entry, "the server does not offer HTTP/2")
        if entry.only_version and entry.only_version not in versions:
            return _skipped(entry, f"the server does not offer TLS {entry.only_version}")
        begin = time.monotonic()
        plan = self._plan(entry, versions)
        rounds: list[RoundRecord] = []
        failing_rounds = 0
        self.progress(entry.id, 0, self.options.rounds)
        for index, (close, version) in zip(range(1, self.options.rounds + 1), itertools.cycle(plan)):
            spec = Round(self.target, index, version, close, self.options.timeout, self.rate, self.options.concurrency)  # type: ignore[arg-type]
            records = self._held_round(entry, spec) if entry.held else [self._round(entry, spec)]
            rounds += records
            self.progress(entry.id, index, self.options.rounds)
            # Two rounds in a row that fail say what more rounds would: go to the grace period.
            failing_rounds = failing_rounds + 1 if any(symptom_of(r.sanity, baseline) for r in records) else 0
            if failing_rounds >= 2:
                break
        grace = self._grace(baseline, rounds[-1].sanity)
        verdict = judge(baseline, [r.sanity for r in rounds] + list(grace))
        bug = None
        if verdict.outcome.failed:
            one_blocks = self._one_blocks(entry, baseline, plan[0]) if entry.held else None
            bug = likely_bug(entry, verdict.symptom, reset_sent=any(r.close == "rst" for r in rounds), one_blocks=one_blocks)
        return AttackResult(
            entry, verdict.outcome, verdict.symptom,
            bug.bug_class if bug else None, bug.cause if bug else None, bug.fix if bug else None,
            tuple(rounds), grace, verdict.recovered_after, time.monotonic() - begin,
        )

    def _round(self, entry: Attack, spec: Round) -> RoundRecord:
        assert entry.round is not None
        try:
            note = entry.round(spec)
        except (OSError, SSL.Error) as exc:  # the server hung up on the abuser: its right
            note = f"attack cut short: {type(exc).__name__}"
        return RoundRecord(spec.index, spec.close, spec.version, note, self.sanity())

    def _held_round(self, entry: Attack, spec: Round) -> list[RoundRecord]:
        assert entry.hold is not None
        held = entry.hold(spec)
        try:
            time.sleep(self.options.hold)  # let the server take the held connections in
            during = RoundRecord(spec.index, spec.close, spec.version, held.note, self.sanity(), during_hold=True)
        finally:
            held.release()
        after = RoundRecord(spec.index, spec.close, spec.version, "released", self.sanity())
        return [during, after]

    def _one_blocks(self, entry: Attack, baseline: Baseline, variant: tuple[str, str | None]) -> bool | None:
        """Hold a single connection: does the sanity request still fail? (None: K was 1 already,
        or the server has not recovered, so the answer would mean nothing.)"""
        if self.options.concurrency == 1 or symptom_of(self.sanity(), baseline) is not None:
            return None
        spec = Round(self.target, 0, variant[1], variant[0], self.options.timeout, self.rate, 1)  # type: ignore[arg-type]
        during, _after = self._held_round(entry, spec)
        return symptom_of(during.sanity, baseline) is not None

    def _grace(self, baseline: Baseline, last: SanityResult) -> tuple[SanityResult, ...]:
        if symptom_of(last, baseline) is None:
            return ()
        grace: list[SanityResult] = []
        deadline = time.monotonic() + self.options.grace
        for _ in range(int(self.options.grace / GRACE_INTERVAL) + 1):
            if time.monotonic() >= deadline:
                break
            time.sleep(GRACE_INTERVAL)
            grace.append(self.sanity())
            if symptom_of(grace[-1], baseline) is None:
                break
        return tuple(grace)


def _skipped(entry: Attack, reason: str) -> AttackResult:
    return AttackResult(entry, Outcome.SKIPPED, None, None, None, None, reason=reason)

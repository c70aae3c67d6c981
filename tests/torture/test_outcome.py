"""Judging an attack from its sanity requests: pure functions over recorded results."""

from __future__ import annotations

from tlsdoctor.torture import ATTACKS, BugClass, Outcome, Symptom
from tlsdoctor.torture.outcome import Baseline, judge, likely_bug, symptom_of
from tlsdoctor.torture.sanity import SanityResult

BASE = Baseline(status=200, body_sha256="abc", latency=0.01, http_version="1.1")


def ok(at: float = 0.0, latency: float = 0.01, body: str = "abc", status: int = 200) -> SanityResult:
    return SanityResult(0, "", status, body, latency, "1.1", at)


def failed(code: int, error: str, at: float = 0.0) -> SanityResult:
    return SanityResult(code, error, None, None, 0.01, None, at)


def test_symptoms_are_named_as_a_user_sees_them() -> None:
    assert symptom_of(ok(), BASE) is None
    assert symptom_of(failed(52, "Empty reply from server"), BASE) is Symptom.EMPTY_REPLY
    assert symptom_of(failed(7, "Failed to connect to 127.0.0.1 port 1: Connection refused"), BASE) is Symptom.REFUSED
    assert symptom_of(failed(28, "Connection timed out after 3001 milliseconds"), BASE) is Symptom.TIMEOUT
    assert symptom_of(failed(56, "Recv failure: Connection reset by peer"), BASE) is Symptom.RESET
    assert symptom_of(failed(35, "TLS connect error: error:0A000126:SSL routines::unexpected eof while reading"),
                      BASE) is Symptom.RESET
    assert symptom_of(ok(status=503), BASE) is Symptom.WRONG_RESPONSE
    assert symptom_of(ok(body="other"), BASE) is Symptom.WRONG_RESPONSE
    unstable = Baseline(200, None, 0.01, "1.1")  # a body that changes per request is not compared
    assert symptom_of(ok(body="other"), unstable) is None


def test_outcomes() -> None:
    assert judge(BASE, [ok(), ok()]).outcome is Outcome.SURVIVED
    assert judge(BASE, [ok(latency=0.2), ok(latency=0.3)]).outcome is Outcome.SLOWED
    assert judge(BASE, [ok(latency=0.03)]).outcome is Outcome.SURVIVED  # 3x, under the floor
    degraded = judge(BASE, [ok(0), failed(28, "timed out", 1.0), ok(2.5)])
    assert (degraded.outcome, degraded.symptom, degraded.recovered_after) == (Outcome.DEGRADED, Symptom.TIMEOUT, 1.5)
    dead = judge(BASE, [ok(0), failed(52, "Empty reply from server", 1), failed(52, "Empty reply from server", 2)])
    assert (dead.outcome, dead.symptom, dead.recovered_after) == (Outcome.DEAD, Symptom.EMPTY_REPLY, None)


def test_likely_bug_reads_the_symptom() -> None:
    drop = next(a for a in ATTACKS if a.id == "drop-without-close-notify")
    gone = likely_bug(drop, Symptom.REFUSED, reset_sent=True)
    assert gone.bug_class is BugClass.WRITE_TO_RESET and "SIGPIPE" in gone.fix
    assert likely_bug(drop, Symptom.EMPTY_REPLY, reset_sent=True).bug_class is BugClass.UNCLEAN_CLOSE_STATE
    stalled = next(a for a in ATTACKS if a.id == "stalled-handshakes")
    blocking = likely_bug(stalled, Symptom.TIMEOUT, reset_sent=False)
    assert blocking.bug_class is BugClass.BLOCKING_HANDSHAKE and "accept" in blocking.cause

"""tlsdoctor.torture: prove a TLS server survives the clients it will meet in the field.

    import tlsdoctor.torture as torture
    report = torture.run("https://127.0.0.1:8443/", ca_bundle="ca.pem")
    assert report.survived_all, [(r.id, r.outcome, r.symptom) for r in report.failed]

Each attack of :data:`ATTACKS` (a catalogue, like the lab's) runs in rounds, every round
followed by a fresh verified libcurl request (tlsfuzzer's sanity discipline); the report
says, per attack, whether the server survived, slowed, degraded or died, with the symptom
a user would see, when it recovered, and the likely bug and its fix. Only loopback is
tortured unless ``allow_remote=True``: only torture a server you own.
"""

from tlsdoctor.torture.catalogue import ATTACKS, BUGS, Attack, BugClass
from tlsdoctor.torture.outcome import Outcome, Symptom
from tlsdoctor.torture.results import AttackResult, RoundRecord, TortureReport
from tlsdoctor.torture.runner import Options, TargetDown, run
from tlsdoctor.torture.target import TargetError

__all__ = [
    "ATTACKS", "BUGS", "Attack", "AttackResult", "BugClass", "Options", "Outcome", "RoundRecord", "Symptom",
    "TargetDown", "TargetError", "TortureReport", "run",
]

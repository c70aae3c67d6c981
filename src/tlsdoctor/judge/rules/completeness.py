"""The last question: did the diagnosis see enough to say anything at all?"""

from __future__ import annotations

from typing import Iterator

from tlsdoctor.judge.coverage import could_not_check, proofs_of_ok
from tlsdoctor.judge.finding import Finding
from tlsdoctor.judge.rules.registry import E, finding, rule
from tlsdoctor.observe.observations import Observations


@rule("diagnosis.incomplete")
def completeness(obs: Observations) -> Iterator[Finding]:
    """Does anything observed prove the request works? If not, and nothing explains a failure, say what is missing.

    Ranked below every other error, so it is the verdict only when no rule found a failure:
    then the honest answer is "we could not see", never ``ok`` (issue 12). The judge drops
    it when another error explains the diagnosis.
    """
    if proofs_of_ok(obs):
        return
    unchecked = could_not_check(obs)
    what = "; ".join(f"{u.what}: {u.why}" for u in unchecked[:4]) or "no probe got far enough"
    yield finding("diagnosis.incomplete", E, 0.6 if obs.cut else 0.4,
                  f"Nothing this diagnosis observed shows the request working, and nothing explains a failure: "
                  f"{what}.", "Diagnose again with a longer --timeout; see what it could not check." if obs.cut
                  else "Check by hand what it could not see (above), or diagnose from where it is not in the way.",
                  could_not_check=[u.to_dict() for u in unchecked])

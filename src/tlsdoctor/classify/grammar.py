"""The table's grammar: a :class:`Row` (conditions, all of which must hold, → a finding code
and how often that reading is right) and :func:`row`, which builds one and refuses a
condition the shared vocabulary (:data:`tlsdoctor.signals.CONDITIONS`) does not have."""

from __future__ import annotations

import re
from typing import Iterable

from tlsdoctor.records import record
from tlsdoctor.signals import CONDITIONS, Signal


@record
class Row:
    """One line of the table: conditions (all must hold) → a finding code."""

    code: str
    likelihood: float
    curl: frozenset[int] = frozenset()
    verify: frozenset[int] = frozenset()
    alert: frozenset[int] = frozenset()
    errno: frozenset[str] = frozenset()
    connect_status: range | None = None
    text: LazyPattern | None = None
    why: str = ""
    condition: frozenset[str] = frozenset()

    @property
    def specificity(self) -> int:
        """How many independent conditions the row checks: more is more specific."""
        return sum(
            bool(x) for x in (self.curl, self.verify, self.alert, self.errno, self.connect_status, self.text,
                              self.condition)
        )

    def matches(self, signal: Signal) -> bool:
        if self.curl and signal.curl_code not in self.curl:
            return False
        if self.verify and signal.verify_result not in self.verify:
            return False
        if self.alert and signal.alert not in self.alert:
            return False
        if self.errno and signal.errno not in self.errno:
            return False
        if self.connect_status is not None and signal.connect_status not in self.connect_status:
            return False
        if self.condition and signal.condition not in self.condition:
            return False
        if self.text is not None and not self.text.search(signal.text):
            return False
        return self.specificity > 0


class LazyPattern:
    """A case-insensitive regular expression compiled on first use, with ``search`` and ``pattern``.

    The table holds ~100 patterns; compiling them all when the module loads cost every
    command that imports it (``diagnose`` included) 10-30 ms before doing anything, though
    most processes match a handful of rows, if any (issue 9: imports were most of a
    whole-process diagnosis).
    """

    __slots__ = ("pattern", "_compiled")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled: re.Pattern[str] | None = None

    def search(self, text: str, *args: int) -> re.Match[str] | None:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, re.IGNORECASE)
        return self._compiled.search(text, *args)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LazyPattern) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r})"


def row(code: str, likelihood: float, why: str, *, curl: Iterable[int] = (), verify: Iterable[int] = (),
         alert: Iterable[int] = (), errno: Iterable[str] = (), connect_status: range | None = None,
         text: str | None = None, condition: Iterable[str] = ()) -> Row:
    unknown = set(condition) - set(CONDITIONS)
    if unknown:
        raise ValueError(f"unknown condition(s) {sorted(unknown)}: add them to CONDITIONS first")
    return Row(
        code=code, likelihood=likelihood, why=why, curl=frozenset(curl), verify=frozenset(verify),
        alert=frozenset(alert), errno=frozenset(errno), connect_status=connect_status,
        text=LazyPattern(text) if text else None, condition=frozenset(condition),
    )

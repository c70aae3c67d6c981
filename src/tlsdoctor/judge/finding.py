"""A finding: one judgement about an HTTPS connection, with its evidence and its fix."""

from __future__ import annotations

from dataclasses import field
from typing import Any, Mapping

from tlsdoctor.findings import Severity, finding_code
from tlsdoctor.records import record


@record
class Finding:
    """What a rule concluded. ``rank`` orders root causes: see :mod:`tlsdoctor.judge.verdict`.

    ``confidence`` is honest: how sure the evidence makes us (a rule that infers from one
    weak signal says 0.5, not 0.9). ``evidence`` holds the facts that support it, as
    JSON-ready values, so a reader can check the reasoning.
    """

    code: str
    severity: Severity
    confidence: float
    summary: str
    remedy: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    rank: int = 0

    def __post_init__(self) -> None:
        finding_code(self.code)  # unknown codes are bugs: the codes are a contract
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence out of range: {self.confidence}")

    @property
    def curl_code(self) -> int:
        return finding_code(self.code).curl_code

    @property
    def nel_type(self) -> str:
        return finding_code(self.code).nel_type

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "confidence": round(self.confidence, 2),
            "summary": self.summary,
            "remedy": self.remedy,
            "evidence": dict(self.evidence),
        }

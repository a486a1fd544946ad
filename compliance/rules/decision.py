"""Decisions, rule hits and the result of evaluating a rule set.

Three decisions, ordered by severity: ``allow < review < block``. Combining decisions is
always "the most severe wins", so adding a rule can only make an outcome stricter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Decision(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @classmethod
    def most_severe(cls, decisions: Iterable[Decision]) -> Decision:
        return max(decisions, key=lambda d: d.severity, default=cls.ALLOW)

    def at_most(self, ceiling: Decision) -> Decision:
        """This decision, but no stricter than ``ceiling``."""
        return self if self.severity <= ceiling.severity else ceiling


_SEVERITY = {Decision.ALLOW: 0, Decision.REVIEW: 1, Decision.BLOCK: 2}


@dataclass(frozen=True)
class RuleHit:
    """One rule that fired: its decision, the points it adds and why (for compliance eyes only)."""

    rule_id: str
    rule_type: str
    decision: Decision
    score: int
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_type": self.rule_type,
            "decision": self.decision.value,
            "score": self.score,
            "reason": self.reason,
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleHit:
        return cls(
            rule_id=data["rule_id"],
            rule_type=data["rule_type"],
            decision=Decision(data["decision"]),
            score=int(data["score"]),
            reason=data["reason"],
            details=dict(data.get("details") or {}),
        )


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one rule set on one payment."""

    decision: Decision
    score: int
    hits: tuple[RuleHit, ...]
    score_decision: Decision
    """What the summed score alone gave (``allow`` when no score threshold was reached)."""
    rule_set_name: str
    rule_set_checksum: str
    rules_evaluated: int

    @property
    def reasons(self) -> list[str]:
        reasons = [hit.reason for hit in self.hits]
        if self.score_decision is not Decision.ALLOW:
            reasons.append(
                f"total score {self.score} reached the {self.score_decision.value} threshold"
            )
        return reasons

    @property
    def sanctions_matches(self) -> list[dict[str, Any]]:
        """Every screening match that a sanctions rule counted, for the review case."""
        return [m for hit in self.hits for m in hit.details.get("matches", ())]

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "score": self.score,
            "score_decision": self.score_decision.value,
            "hits": [hit.to_dict() for hit in self.hits],
            "rule_set": {"name": self.rule_set_name, "checksum": self.rule_set_checksum},
            "rules_evaluated": self.rules_evaluated,
        }

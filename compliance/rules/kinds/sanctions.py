"""``sanctions``: a party's name matches a sanctions list entry.

The screening itself is done by the sanctions package before evaluation; this rule
turns its matches into a decision: the best match score ``>= block_at`` gives the rule's
decision (normally ``block``), ``>= review_at`` gives ``review``. A party that has a name
but no screening result is held for review (``require_screening``): an unscreened name
must never pass as clean.

Defaults: ``block_at`` 0.95 and ``review_at`` 0.85, the screening thresholds of issue 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from ..context import PARTY_ROLES, PaymentContext
from ..decision import Decision
from ..history import WindowQuery
from ..params import Params
from .base import Finding, Inputs


@dataclass(frozen=True)
class SanctionsRule:
    type_name: ClassVar[str] = "sanctions"
    parties: tuple[str, ...]
    block_at: float
    review_at: float
    require_screening: bool

    @classmethod
    def from_params(cls, params: Params) -> Self:
        parties = params.choices("parties", PARTY_ROLES, PARTY_ROLES)
        block_at = params.fraction("block_at", 0.95)
        review_at = params.fraction("review_at", 0.85)
        if review_at > block_at:
            params.problem("review_at", "must not be above block_at")
        return cls(parties, block_at, review_at, params.boolean("require_screening", True))

    def plan(self, ctx: PaymentContext) -> list[WindowQuery]:
        return []

    def check(self, ctx: PaymentContext, inputs: Inputs) -> Finding | None:
        matches: list[dict[str, object]] = []
        unscreened: list[str] = []
        best = 0.0
        for role in self.parties:
            result = inputs.screenings.get(role)
            party = ctx.party(role)
            if result is None:
                if self.require_screening and party is not None and party.name:
                    unscreened.append(role)
                continue
            for match in result.matches:
                if match.score >= self.review_at:
                    best = max(best, match.score)
                    matches.append(
                        {
                            "party": role,
                            "list": match.list,
                            "entry_id": match.entry_id,
                            "name": match.name,
                            "matched_name": match.matched_name,
                            "score": round(float(match.score), 4),
                        }
                    )
        if not matches and not unscreened:
            return None
        matches.sort(key=lambda m: -float(m["score"]))  # type: ignore[arg-type]
        reasons = [
            f"{m['party']} matches {m['list']} entry {m['entry_id']} {m['name']!r}"
            f" as {m['matched_name']!r} (score {m['score']})"
            for m in matches
        ]
        reasons += [f"{role} name was not screened" for role in unscreened]
        decision = Decision.BLOCK if best >= self.block_at else Decision.REVIEW
        return Finding(
            "; ".join(reasons),
            {"matches": matches, "unscreened": unscreened, "best_score": round(best, 4)},
            decision,
        )

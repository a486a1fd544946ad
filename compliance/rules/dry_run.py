"""Dry run: what a candidate rule set would have decided on past payments.

Before a rule set is activated, an officer wants to see what changes: how many payments
would be allowed, held or blocked, which rules would fire how often, and exactly which
payments flip. The comparison is against a *baseline* rule set (normally the active one)
evaluated on the same inputs, or, without one, against the decision recorded at the time.

Pure: the history is passed in (the database store with each payment excluding itself,
or an in-memory replay), so past payments see only what was before them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .context import PaymentContext
from .countries import CountryList
from .decision import Decision, Evaluation
from .engine import evaluate
from .history import History
from .ruleset import RuleSet
from .screening import ScreeningResultLike


@dataclass(frozen=True)
class PastPayment:
    """A payment as it was evaluated: its context, screening results and recorded decision."""

    context: PaymentContext
    screenings: Mapping[str, ScreeningResultLike] = field(default_factory=dict)
    decision: str | None = None
    rule_set_version: int | None = None
    rule_ids: tuple[str, ...] = ()
    """Rules that hit when it was recorded."""


@dataclass(frozen=True)
class Flip:
    ref: str
    before: Decision
    after: Decision
    rules_added: tuple[str, ...]
    """Rules that hit under the candidate but not under the baseline."""
    rules_removed: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "before": self.before.value,
            "after": self.after.value,
            "rules_added": list(self.rules_added),
            "rules_removed": list(self.rules_removed),
        }


@dataclass(frozen=True)
class DryRunReport:
    payments: int
    decisions: Mapping[str, int]
    """Candidate decisions: allow / review / block counts."""
    baseline_decisions: Mapping[str, int]
    rule_hits: Mapping[str, int]
    """Candidate rule id -> payments it hit."""
    baseline_rule_hits: Mapping[str, int]
    flips: tuple[Flip, ...]
    baseline: str
    """``rule_set:<checksum>`` or ``recorded`` (decisions recorded at the time)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "payments": self.payments,
            "decisions": dict(self.decisions),
            "baseline_decisions": dict(self.baseline_decisions),
            "rule_hits": dict(self.rule_hits),
            "baseline_rule_hits": dict(self.baseline_rule_hits),
            "flips": [f.to_dict() for f in self.flips],
            "baseline": self.baseline,
        }


def _counts(counter: Counter[str]) -> dict[str, int]:
    return {d.value: counter.get(d.value, 0) for d in Decision}


def dry_run(
    candidate: RuleSet,
    payments: Iterable[PastPayment],
    *,
    history: History,
    baseline: RuleSet | None = None,
    countries: Mapping[str, CountryList] | None = None,
) -> DryRunReport:
    decisions: Counter[str] = Counter()
    before_decisions: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    before_hits: Counter[str] = Counter()
    flips: list[Flip] = []
    total = 0
    for past in payments:
        total += 1
        after = evaluate(
            candidate,
            past.context,
            screenings=past.screenings,
            history=history,
            countries=countries,
        )
        decisions[after.decision.value] += 1
        hits.update(hit.rule_id for hit in after.hits)
        before_eval: Evaluation | None = None
        if baseline is not None:
            before_eval = evaluate(
                baseline,
                past.context,
                screenings=past.screenings,
                history=history,
                countries=countries,
            )
            before = before_eval.decision
            before_hits.update(hit.rule_id for hit in before_eval.hits)
        elif past.decision is not None:
            before = Decision(past.decision)
        else:
            before = None  # type: ignore[assignment]
        if before is not None:
            before_decisions[before.value] += 1
        if before is not None and before is not after.decision:
            after_ids = {hit.rule_id for hit in after.hits}
            before_ids = (
                {hit.rule_id for hit in before_eval.hits} if before_eval else set(past.rule_ids)
            )
            flips.append(
                Flip(
                    past.context.ref,
                    before,
                    after.decision,
                    tuple(sorted(after_ids - before_ids)),
                    tuple(sorted(before_ids - after_ids)),
                )
            )
    return DryRunReport(
        payments=total,
        decisions=_counts(decisions),
        baseline_decisions=_counts(before_decisions),
        rule_hits=dict(sorted(hits.items())),
        baseline_rule_hits=dict(sorted(before_hits.items())),
        flips=tuple(flips),
        baseline=f"rule_set:{baseline.checksum}" if baseline is not None else "recorded",
    )

"""Evaluating a rule set on one payment.

Order of work: (1) every enabled rule plans the history windows it needs; (2) the history
answers them in one batch; (3) every enabled rule, in the rule set's order, checks the
payment and may hit with a decision, a score and a reason; (4) the overall decision is the
most severe of the hits and of what the summed score reaches (``scoring.review_at`` /
``block_at``). All rules run even after a ``block``, so the record shows every reason.

Steps 1, 3 and 4 are pure. Step 2 is the only I/O and goes through the :class:`History`
protocol, or is skipped when the caller passes precomputed ``stats``.
"""

from __future__ import annotations

from collections.abc import Mapping

from .context import ContextError, PaymentContext
from .countries import CountryList, load_country_lists
from .decision import Decision, Evaluation, RuleHit
from .history import History, WindowQuery, WindowStats
from .kinds import Inputs
from .ruleset import RuleSet
from .screening import ScreeningResultLike


class EvaluationError(RuntimeError):
    """The rule set cannot be evaluated with what was given (e.g. no history for velocity)."""


def plan(rule_set: RuleSet, ctx: PaymentContext) -> list[WindowQuery]:
    """Every history window the enabled rules need for this payment, without duplicates."""
    queries: dict[WindowQuery, None] = {}
    for rule in rule_set.enabled_rules:
        for query in rule.logic.plan(ctx):
            queries[query] = None
    return list(queries)


def score_decision(rule_set: RuleSet, score: int) -> Decision:
    if rule_set.block_score is not None and score >= rule_set.block_score:
        return Decision.BLOCK
    if rule_set.review_score is not None and score >= rule_set.review_score:
        return Decision.REVIEW
    return Decision.ALLOW


def evaluate(
    rule_set: RuleSet,
    ctx: PaymentContext,
    *,
    screenings: Mapping[str, ScreeningResultLike] | None = None,
    history: History | None = None,
    stats: Mapping[WindowQuery, WindowStats] | None = None,
    countries: Mapping[str, CountryList] | None = None,
) -> Evaluation:
    """Evaluate ``rule_set`` on ``ctx``.

    ``screenings`` maps a party role (payer, beneficiary, merchant) to its screening result;
    ``history`` answers velocity windows (or pass ``stats`` already fetched); ``countries``
    defaults to the shipped dated country lists.
    """
    if ctx.base_currency != rule_set.base_currency:
        raise ContextError(
            f"the rule set counts in {rule_set.base_currency};"
            f" the payment's base amount is in {ctx.base_currency}"
        )
    queries = plan(rule_set, ctx)
    if stats is None:
        if queries and history is None:
            raise EvaluationError(
                "this rule set has history rules (velocity, structuring, refunds): pass a history"
            )
        stats = history.fetch(queries) if queries and history is not None else {}
    inputs = Inputs(
        screenings=screenings or {},
        stats=stats,
        countries=countries if countries is not None else load_country_lists(),
    )
    hits: list[RuleHit] = []
    for rule in rule_set.enabled_rules:
        finding = rule.logic.check(ctx, inputs)
        if finding is None:
            continue
        decision = (finding.decision or rule.decision).at_most(rule.decision)
        hits.append(
            RuleHit(rule.id, rule.type, decision, rule.score, finding.reason, finding.details)
        )
    total = sum(hit.score for hit in hits)
    by_score = score_decision(rule_set, total)
    return Evaluation(
        decision=Decision.most_severe([*(hit.decision for hit in hits), by_score]),
        score=total,
        hits=tuple(hits),
        score_decision=by_score,
        rule_set_name=rule_set.name,
        rule_set_checksum=rule_set.checksum,
        rules_evaluated=len(rule_set.enabled_rules),
    )

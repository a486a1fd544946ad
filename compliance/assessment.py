"""The pre-authorisation compliance check of one payment or payout.

This is the service function the money flow calls, inside its own transaction, after
screening the parties' names: it evaluates the active rule set (the shipped default on a
fresh installation), remembers the payment for future velocity windows, opens a review
case when the decision is ``review``, and writes the decision to the audit trail. The
caller then moves the payment to ``requires_review`` (review), fails it with a generic
decline (block: nobody outside compliance learns why) or continues (allow).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from . import audit
from .reviews.service import Review, open_review_for_payment
from .rules.context import PaymentContext
from .rules.countries import CountryList
from .rules.decision import Decision, Evaluation
from .rules.engine import evaluate
from .rules.ip_country import IpCountryResolver, default_resolver
from .rules.observations import record_payment
from .rules.screening import ScreeningResultLike
from .rules.sql_history import SqlHistory
from .rules.store import ensure_active_rule_set


@dataclass(frozen=True)
class Assessment:
    decision: Decision
    evaluation: Evaluation
    context: PaymentContext
    """The context as evaluated (with ``ip_country`` filled in when it was resolved)."""
    rule_set_version: int
    review: Review | None
    """The case opened (or already open) when the decision is ``review``."""


def assess(
    session: Session,
    ctx: PaymentContext,
    *,
    screenings: Mapping[str, ScreeningResultLike],
    actor: str = "system",
    ip_resolver: IpCountryResolver | None = None,
    countries: Mapping[str, CountryList] | None = None,
) -> Assessment:
    """Evaluate, record, open a review if needed, and audit; all in the caller's transaction.

    ``screenings`` maps ``payer`` / ``beneficiary`` / ``merchant`` to their screening
    results. ``ip_resolver`` defaults to the offline GeoLite2 resolver, used only when
    the context has an IP but no ``ip_country``.
    """
    version = ensure_active_rule_set(session)
    ctx = ctx.with_ip_country(ip_resolver or default_resolver())
    evaluation = evaluate(
        version.rule_set,
        ctx,
        screenings=screenings,
        history=SqlHistory(session),
        countries=countries,
    )
    record_payment(
        session, ctx, evaluation=evaluation, screenings=screenings, rule_set_version=version.version
    )
    review = (
        open_review_for_payment(session, ctx, evaluation)
        if evaluation.decision is Decision.REVIEW
        else None
    )
    audit.append_on_commit(
        session,
        actor,
        "screening.decided",
        ctx.ref,
        {
            "object_type": ctx.object_type,
            "decision": evaluation.decision.value,
            "score": evaluation.score,
            "rule_set_version": version.version,
            "rule_set_checksum": evaluation.rule_set_checksum,
            "rules": [hit.rule_id for hit in evaluation.hits],
            "matches": [
                {k: m[k] for k in ("party", "list", "entry_id", "score")}
                for m in evaluation.sanctions_matches
            ],
            "parties_screened": sorted(screenings),
            "review": review.id if review else None,
        },
    )
    return Assessment(evaluation.decision, evaluation, ctx, version.version, review)

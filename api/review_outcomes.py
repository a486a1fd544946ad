"""What a review decision does to the object it held.

The review service decides and records; it never touches payments or payouts. Its
outcome carries the next step (``release``, ``cancel`` or ``none``) and this module, in
the same transaction, carries it out through the owners' service functions:

* a payment intent in ``requires_review``: approve continues it to authorisation
  (``payments.intents.release_review``), reject cancels it (``reject_review``);
* a payout held for review: approve sends it, reject cancels it
  (``settlement.payouts.release_payout_review``);
* anything no longer held (the merchant canceled the intent meanwhile, a case opened by a
  list re-screen on a payment that already succeeded, a merchant account): the decision
  stays on record and nothing else moves.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from compliance.reviews import NextStep, ReviewOutcome
from core.accounts import get_account
from core.settings import get_settings
from payments import intents
from payments.intent_state import IntentStatus
from payments.intents import Context
from settlement.payouts import get_payout, release_payout_review
from settlement.payouts.state import Status as PayoutStatus


@dataclass(frozen=True)
class Effect:
    """What happened to the held object."""

    object_type: str
    object_id: str
    status: str | None
    """The object's status afterwards (``None`` when it does not exist)."""
    changed: bool


def carry_out(session: Session, outcome: ReviewOutcome) -> Effect:
    review = outcome.review
    kind, object_id = review.object_type, review.object_id
    step = outcome.next_step
    if kind == "payment_intent":
        intent = intents.find(session, None, object_id, lock=True)
        if intent is None:
            return Effect(kind, object_id, None, False)
        if step is NextStep.NONE or intent.status != IntentStatus.REQUIRES_REVIEW:
            return Effect(kind, object_id, intent.status, False)
        account = get_account(session, intent.account_id)
        assert account is not None
        ctx = Context(session, get_settings(), account)
        if step is NextStep.RELEASE:
            intents.release_review(ctx, intent)
        else:
            intents.reject_review(ctx, intent)
        return Effect(kind, object_id, intent.status, True)
    if kind == "payout":
        payout = get_payout(session, object_id, lock=True)
        if payout is None:
            return Effect(kind, object_id, None, False)
        held = payout.review_hold and payout.status == PayoutStatus.PENDING.value
        if step is NextStep.NONE or not held:
            return Effect(kind, object_id, payout.status, False)
        payout = release_payout_review(session, object_id, approve=step is NextStep.RELEASE)
        return Effect(kind, object_id, payout.status, True)
    return Effect(kind, object_id, None, False)

"""An officer's action on a review case, and what it means for the held money.

The case itself changes only through :mod:`compliance.reviews` (state machine, history
and audit entry in one transaction). A deciding action returns a ``next_step`` for the
owner of the held object, carried out in the same transaction: ``release`` continues a
held payment to authorisation or sends a held payout, ``cancel`` cancels it. Either both
the decision and its money side commit, or neither does.

The money side is :func:`api.review_outcomes.carry_out`, the same step the API's
``/v1/reviews`` routes take after a decision.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.orm import Session

from api.review_outcomes import Effect, carry_out
from compliance import reviews

ACTIONS: Final = (
    "approve",
    "reject",
    "escalate",
    "false_positive",
    "confirm_match",
    "note",
    "assign",
)


class UnknownAction(ValueError):
    pass


def act(
    session: Session,
    review_id: str,
    action: str,
    *,
    actor: str,
    note: str | None = None,
    assignee: str | None = None,
    match: str | None = None,
) -> Effect:
    """Apply ``action`` to the case and carry out its next step; raises the domain's errors
    (:class:`compliance.reviews.ReviewError`, payment/payout errors) unchanged."""
    if action == "approve":
        outcome = reviews.approve(session, review_id, actor=actor, note=note)
    elif action == "reject":
        outcome = reviews.reject(session, review_id, actor=actor, note=note or "")
    elif action == "escalate":
        outcome = reviews.escalate(
            session, review_id, actor=actor, note=note or "", assignee=assignee
        )
    elif action == "false_positive":
        outcome = reviews.mark_false_positive(
            session, review_id, actor=actor, match=match or "", note=note or ""
        )
    elif action == "confirm_match":
        outcome = reviews.confirm_match(
            session, review_id, actor=actor, match=match or "", note=note or ""
        )
    elif action == "note":
        outcome = reviews.add_note(session, review_id, actor=actor, note=note or "")
    elif action == "assign":
        outcome = reviews.assign(session, review_id, actor=actor, assignee=assignee)
    else:
        raise UnknownAction(action)
    return carry_out(session, outcome)

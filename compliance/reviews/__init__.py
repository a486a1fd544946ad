"""Review cases: held payments and payouts that a compliance officer decides.

:mod:`.case` is the pure state machine; :mod:`.service` the database-backed actions.
"""

from __future__ import annotations

from .case import MatchResolution, NextStep, ReviewError, ReviewStatus, SanctionsMatch
from .service import (
    Review,
    ReviewEvent,
    ReviewNotFound,
    ReviewOutcome,
    add_matches,
    add_note,
    approve,
    assign,
    close,
    confirm_match,
    escalate,
    get_review,
    history,
    list_reviews,
    mark_false_positive,
    open_review,
    open_review_for_payment,
    reject,
    review_for_object,
)

__all__ = [
    "MatchResolution",
    "NextStep",
    "Review",
    "ReviewError",
    "ReviewEvent",
    "ReviewNotFound",
    "ReviewOutcome",
    "ReviewStatus",
    "SanctionsMatch",
    "add_matches",
    "add_note",
    "approve",
    "assign",
    "close",
    "confirm_match",
    "escalate",
    "get_review",
    "history",
    "list_reviews",
    "mark_false_positive",
    "open_review",
    "open_review_for_payment",
    "reject",
    "review_for_object",
]

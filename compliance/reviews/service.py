"""Review service: open cases for held payments and payouts, and act on them.

Every function works inside the caller's transaction and returns plain values. Actions
lock the review row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite writers are already
serial), apply the pure state machine in :mod:`.case`, append to the case history and
write an audit entry, all in that one transaction.

Deciding actions return a :class:`ReviewOutcome` whose ``next_step`` tells the owner of the
held object what to do: ``release`` (continue to authorisation / send the payout) or
``cancel``. This package never touches payments or payouts itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.database import utcnow
from core.ids import new_id

from .. import audit
from ..rules.context import OBJECT_TYPES, PaymentContext
from ..rules.decision import Evaluation
from . import case as cases
from .case import (
    MatchResolution,
    NextStep,
    ReviewCase,
    ReviewStatus,
    SanctionsMatch,
    Transition,
)
from .tables import ReviewEventRow, ReviewRow

OPENED_REASONS = ("rule", "manual")
REVIEW_OBJECT_TYPES = (*OBJECT_TYPES, "account")
"""What a case can hold: a payment or payout, or a merchant account (a list update found
the merchant itself listed; nothing is held, the case records the officer's decision)."""


class ReviewNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Review:
    id: str
    object_type: str
    object_id: str
    account_id: str | None
    status: ReviewStatus
    opened_reason: str
    reason: str
    closed_reason: str | None
    decision: str | None
    score: int | None
    rule_hits: list[dict[str, Any]]
    screening_matches: tuple[SanctionsMatch, ...]
    counterparty: dict[str, Any]
    assignee: str | None
    opened_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None

    @property
    def open(self) -> bool:
        return self.status.is_open

    @property
    def unresolved_matches(self) -> tuple[SanctionsMatch, ...]:
        return ReviewCase(self.status, self.screening_matches, self.assignee).unresolved_matches

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "account_id": self.account_id,
            "status": self.status.value,
            "open": self.open,
            "opened_reason": self.opened_reason,
            "reason": self.reason,
            "closed_reason": self.closed_reason,
            "decision": self.decision,
            "score": self.score,
            "rule_hits": self.rule_hits,
            "screening_matches": [m.to_dict() for m in self.screening_matches],
            "counterparty": self.counterparty,
            "assignee": self.assignee,
            "opened_at": self.opened_at,
            "updated_at": self.updated_at,
            "closed_at": self.closed_at,
        }


@dataclass(frozen=True)
class ReviewEvent:
    review_id: str
    action: str
    actor: str
    note: str | None
    data: dict[str, Any]
    created: dt.datetime


@dataclass(frozen=True)
class ReviewOutcome:
    review: Review
    next_step: NextStep
    """``release`` / ``cancel`` the held object, or ``none``."""
    event: ReviewEvent


def _review_of(row: ReviewRow) -> Review:
    return Review(
        id=row.id,
        object_type=row.object_type,
        object_id=row.object_id,
        account_id=row.account_id,
        status=ReviewStatus(row.status),
        opened_reason=row.opened_reason,
        reason=row.reason,
        closed_reason=row.closed_reason,
        decision=row.decision,
        score=row.score,
        rule_hits=list(row.rule_hits or []),
        screening_matches=tuple(SanctionsMatch.from_dict(m) for m in row.screening_matches or []),
        counterparty=dict(row.counterparty or {}),
        assignee=row.assignee,
        opened_at=row.opened_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
    )


def _event_of(row: ReviewEventRow) -> ReviewEvent:
    return ReviewEvent(
        row.review_id, row.action, row.actor, row.note, dict(row.data or {}), row.created
    )


def _matches(raw: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, SanctionsMatch] = {}
    for item in raw:
        match = SanctionsMatch.from_dict(item)
        if match.key not in seen or seen[match.key].score < match.score:
            seen[match.key] = match
    return [m.to_dict() for m in seen.values()]


def _record(
    session: Session, row: ReviewRow, event: cases.Event, now: dt.datetime
) -> ReviewEventRow:
    event_row = ReviewEventRow(
        review_id=row.id,
        action=event.action,
        actor=event.actor,
        note=event.note,
        data=audit.canonical_payload(event.data),
        created=now,
    )
    session.add(event_row)
    session.flush()
    audit.append(
        session,
        event.actor,
        f"review.{event.action}",
        row.id,
        {
            "object_type": row.object_type,
            "object_id": row.object_id,
            "status": row.status,
            "note": event.note,
            **dict(event.data),
        },
    )
    return event_row


def open_review(
    session: Session,
    *,
    object_type: str,
    object_id: str,
    account_id: str | None,
    opened_reason: str = "rule",
    evaluation: Evaluation | None = None,
    rule_hits: Sequence[Mapping[str, Any]] | None = None,
    screening_matches: Sequence[Mapping[str, Any]] | None = None,
    counterparty: Mapping[str, Any] | None = None,
    actor: str = "system",
    note: str | None = None,
) -> Review:
    """Open a case for a held object; if one is already undecided for it, return that one.

    With ``evaluation``, the rule hits and the sanctions matches come from it (explicit
    ``rule_hits`` / ``screening_matches`` are added to them).
    """
    if object_type not in REVIEW_OBJECT_TYPES:
        raise ValueError(f"object_type must be one of {REVIEW_OBJECT_TYPES}")
    if opened_reason not in OPENED_REASONS:
        raise ValueError(f"opened_reason must be one of {OPENED_REASONS}")
    existing = session.execute(
        select(ReviewRow).where(
            ReviewRow.object_type == object_type,
            ReviewRow.object_id == object_id,
            ReviewRow.status.in_(("open", "escalated")),
        )
    ).scalar_one_or_none()
    if existing is not None:
        return _review_of(existing)
    hits = [h.to_dict() for h in evaluation.hits] if evaluation else []
    hits += [dict(h) for h in rule_hits or ()]
    matches = _matches(
        [*(evaluation.sanctions_matches if evaluation else ()), *(screening_matches or ())]
    )
    now = utcnow()
    row = ReviewRow(
        id=new_id("prv"),
        object_type=object_type,
        object_id=object_id,
        account_id=account_id,
        status=ReviewStatus.OPEN.value,
        opened_reason=opened_reason,
        reason=opened_reason,
        decision=evaluation.decision.value if evaluation else None,
        score=evaluation.score if evaluation else None,
        rule_hits=audit.canonical_payload(hits),
        screening_matches=matches,
        counterparty=audit.canonical_payload(dict(counterparty or {})),
        opened_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    _record(
        session,
        row,
        cases.Event(
            "opened",
            actor,
            note.strip() if note and note.strip() else None,
            {
                "reason": opened_reason,
                "rules": [h.get("rule_id") for h in hits],
                "matches": [m["key"] for m in matches],
            },
        ),
        now,
    )
    return _review_of(row)


def open_review_for_payment(
    session: Session, ctx: PaymentContext, evaluation: Evaluation, *, actor: str = "system"
) -> Review:
    """Open the case for a payment or payout the rules sent to review (or blocked)."""
    return open_review(
        session,
        object_type=ctx.object_type,
        object_id=ctx.ref,
        account_id=ctx.account_id,
        evaluation=evaluation,
        counterparty=ctx.to_dict(),
        actor=actor,
    )


def _locked(session: Session, review_id: str) -> ReviewRow:
    row = session.execute(
        select(ReviewRow)
        .where(ReviewRow.id == review_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if row is None:
        raise ReviewNotFound(f"no review {review_id}")
    return row


_CLOSED_REASON = {ReviewStatus.APPROVED: "approved", ReviewStatus.REJECTED: "rejected"}


def _act(
    session: Session, review_id: str, step: Callable[[ReviewCase], Transition]
) -> ReviewOutcome:
    row = _locked(session, review_id)
    before = _review_of(row)
    transition = step(ReviewCase(before.status, before.screening_matches, before.assignee))
    new = transition.case
    now = utcnow()
    row.status = new.status.value
    row.assignee = new.assignee
    row.screening_matches = [m.to_dict() for m in new.matches]
    row.updated_at = now
    if new.status is not before.status and not new.status.is_open:
        row.closed_at = now
        row.closed_reason = _CLOSED_REASON.get(new.status) or str(
            transition.event.data.get("reason")
        )
        row.reason = row.closed_reason
    event_row = _record(session, row, transition.event, now)
    return ReviewOutcome(_review_of(row), transition.next_step, _event_of(event_row))


def approve(
    session: Session, review_id: str, *, actor: str, note: str | None = None
) -> ReviewOutcome:
    """Approve: the caller releases the held object.

    Refused while a sanctions match is unresolved (see :mod:`.case`).
    """
    return _act(session, review_id, lambda c: cases.approve(c, actor, note))


def reject(session: Session, review_id: str, *, actor: str, note: str) -> ReviewOutcome:
    """Reject: the caller cancels the held object (never telling the payer why)."""
    return _act(session, review_id, lambda c: cases.reject(c, actor, note))


def escalate(
    session: Session, review_id: str, *, actor: str, note: str, assignee: str | None = None
) -> ReviewOutcome:
    return _act(session, review_id, lambda c: cases.escalate(c, actor, note, assignee))


def add_note(session: Session, review_id: str, *, actor: str, note: str) -> ReviewOutcome:
    return _act(session, review_id, lambda c: cases.add_note(c, actor, note))


def assign(session: Session, review_id: str, *, actor: str, assignee: str | None) -> ReviewOutcome:
    return _act(session, review_id, lambda c: cases.assign(c, actor, assignee))


def close(session: Session, review_id: str, *, actor: str, reason: str) -> ReviewOutcome:
    """The held object ended elsewhere (canceled, expired): close without a decision."""
    return _act(session, review_id, lambda c: cases.close(c, actor, reason))


def add_matches(
    session: Session,
    review_id: str,
    *,
    actor: str,
    matches: Sequence[Mapping[str, Any]],
    note: str | None = None,
) -> ReviewOutcome:
    """Add sanctions matches (``party``, ``list``, ``entry_id``, ``name``, ``matched_name``,
    ``score``) to an undecided case; matches it already has are left as they are."""
    found = tuple(SanctionsMatch.from_dict(m) for m in matches)
    return _act(session, review_id, lambda c: cases.add_matches(c, actor, found, note))


def mark_false_positive(
    session: Session, review_id: str, *, actor: str, match: str, note: str
) -> ReviewOutcome:
    """Record sanctions match ``match`` (its key ``party:list:entry_id``) as a false positive."""
    now = utcnow()
    return _act(
        session,
        review_id,
        lambda c: cases.resolve_match(c, actor, match, MatchResolution.FALSE_POSITIVE, note, now),
    )


def confirm_match(
    session: Session, review_id: str, *, actor: str, match: str, note: str
) -> ReviewOutcome:
    """Record a sanctions match as a true match: the case can then only be rejected."""
    now = utcnow()
    return _act(
        session,
        review_id,
        lambda c: cases.resolve_match(c, actor, match, MatchResolution.TRUE_MATCH, note, now),
    )


def get_review(session: Session, review_id: str) -> Review:
    row = session.execute(select(ReviewRow).where(ReviewRow.id == review_id)).scalar_one_or_none()
    if row is None:
        raise ReviewNotFound(f"no review {review_id}")
    return _review_of(row)


def review_for_object(session: Session, object_type: str, object_id: str) -> Review | None:
    """The most recent review of a payment intent or payout, if any."""
    row = session.execute(
        select(ReviewRow)
        .where(ReviewRow.object_type == object_type, ReviewRow.object_id == object_id)
        .order_by(ReviewRow.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    return _review_of(row) if row else None


def history(session: Session, review_id: str) -> list[ReviewEvent]:
    """The case history, oldest first."""
    get_review(session, review_id)
    rows = session.execute(
        select(ReviewEventRow)
        .where(ReviewEventRow.review_id == review_id)
        .order_by(ReviewEventRow.id)
    ).scalars()
    return [_event_of(r) for r in rows]


def list_reviews(
    session: Session,
    *,
    status: str | None = None,
    open_only: bool = False,
    account_id: str | None = None,
    object_id: str | None = None,
    assignee: str | None = None,
    limit: int = 10,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> tuple[list[Review], bool]:
    """Newest first with Stripe's cursors; returns ``(reviews, has_more)``."""
    stmt = select(ReviewRow)
    if status is not None:
        stmt = stmt.where(ReviewRow.status == ReviewStatus(status).value)
    if open_only:
        stmt = stmt.where(ReviewRow.status.in_(("open", "escalated")))
    if account_id is not None:
        stmt = stmt.where(ReviewRow.account_id == account_id)
    if object_id is not None:
        stmt = stmt.where(ReviewRow.object_id == object_id)
    if assignee is not None:
        stmt = stmt.where(ReviewRow.assignee == assignee)
    if starting_after is not None:
        stmt = stmt.where(ReviewRow.seq < _seq(session, starting_after))
    if ending_before is not None:
        stmt = stmt.where(ReviewRow.seq > _seq(session, ending_before))
        rows = list(session.execute(stmt.order_by(ReviewRow.seq).limit(limit + 1)).scalars())
        has_more = len(rows) > limit
        return [_review_of(r) for r in reversed(rows[:limit])], has_more
    rows = list(session.execute(stmt.order_by(ReviewRow.seq.desc()).limit(limit + 1)).scalars())
    return [_review_of(r) for r in rows[:limit]], len(rows) > limit


def _seq(session: Session, review_id: str) -> int:
    seq = session.execute(
        select(ReviewRow.seq).where(ReviewRow.id == review_id)
    ).scalar_one_or_none()
    if seq is None:
        raise ReviewNotFound(f"no review {review_id}")
    return seq

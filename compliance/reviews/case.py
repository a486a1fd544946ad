"""The review case as a pure state machine.

::

    open ──approve──> approved     (caller releases the held payment/payout)
      │  ──reject───> rejected     (caller cancels it)
      │  ──close────> closed       (the object went away on its own; nothing to do)
      └──escalate──> escalated ──approve / reject / close──> ...

``approved``, ``rejected`` and ``closed`` are final. Notes can be added at any time (a
case is often annotated after it is decided, e.g. "SAR filed"). Assigning, escalating and
resolving sanctions matches need an undecided case.

The one rule that matters most: **a case with a sanctions match cannot be approved until
every match has been resolved as a false positive, with a note saying why.** A match
confirmed as a true match can never be approved away; such a case can only be rejected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class ReviewStatus(StrEnum):
    OPEN = "open"
    ESCALATED = "escalated"
    APPROVED = "approved"
    REJECTED = "rejected"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self in (ReviewStatus.OPEN, ReviewStatus.ESCALATED)


class NextStep(StrEnum):
    """What the owner of the held object must do after a review action."""

    RELEASE = "release"
    """Continue the payment to authorisation / release the payout."""
    CANCEL = "cancel"
    NONE = "none"


class MatchResolution(StrEnum):
    FALSE_POSITIVE = "false_positive"
    TRUE_MATCH = "true_match"


class ReviewError(ValueError):
    """An action the case does not allow; ``code`` is stable for the API to map."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class SanctionsMatch:
    party: str
    list: str
    entry_id: str
    name: str
    matched_name: str
    score: float
    resolution: MatchResolution | None = None
    resolved_by: str | None = None
    resolution_note: str | None = None
    resolved_at: dt.datetime | None = None

    @property
    def key(self) -> str:
        """``party:list:entry_id``: how an officer names the match to resolve."""
        return f"{self.party}:{self.list}:{self.entry_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "party": self.party,
            "list": self.list,
            "entry_id": self.entry_id,
            "name": self.name,
            "matched_name": self.matched_name,
            "score": self.score,
            "resolution": self.resolution.value if self.resolution else None,
            "resolved_by": self.resolved_by,
            "resolution_note": self.resolution_note,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SanctionsMatch:
        resolved_at = data.get("resolved_at")
        resolution = data.get("resolution")
        return cls(
            party=str(data.get("party", "")),
            list=str(data["list"]),
            entry_id=str(data["entry_id"]),
            name=str(data.get("name", "")),
            matched_name=str(data.get("matched_name", "")),
            score=float(data.get("score", 0.0)),
            resolution=MatchResolution(resolution) if resolution else None,
            resolved_by=data.get("resolved_by"),
            resolution_note=data.get("resolution_note"),
            resolved_at=dt.datetime.fromisoformat(resolved_at) if resolved_at else None,
        )


@dataclass(frozen=True)
class ReviewCase:
    status: ReviewStatus = ReviewStatus.OPEN
    matches: tuple[SanctionsMatch, ...] = ()
    assignee: str | None = None

    @property
    def unresolved_matches(self) -> tuple[SanctionsMatch, ...]:
        """Matches that block approval: not (yet) recorded as false positives."""
        return tuple(m for m in self.matches if m.resolution is not MatchResolution.FALSE_POSITIVE)


@dataclass(frozen=True)
class Event:
    action: str
    actor: str
    note: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Transition:
    case: ReviewCase
    event: Event
    next_step: NextStep = NextStep.NONE


def _actor(actor: str) -> str:
    if not actor or not actor.strip():
        raise ReviewError("actor_required", "every review action needs the acting officer")
    return actor.strip()


def _note(note: str | None, what: str) -> str:
    if note is None or not note.strip():
        raise ReviewError("note_required", f"{what} needs a note saying why")
    return note.strip()


def _optional_note(note: str | None) -> str | None:
    return note.strip() if note and note.strip() else None


def _undecided(case: ReviewCase, action: str) -> None:
    if not case.status.is_open:
        raise ReviewError(
            "review_closed", f"cannot {action} a review that is already {case.status.value}"
        )


def approve(case: ReviewCase, actor: str, note: str | None = None) -> Transition:
    actor = _actor(actor)
    _undecided(case, "approve")
    unresolved = case.unresolved_matches
    if unresolved:
        keys = ", ".join(m.key for m in unresolved)
        raise ReviewError(
            "sanctions_unresolved",
            f"cannot approve while sanctions matches are unresolved ({keys}); "
            "record each as a false positive with a note, or reject",
        )
    return Transition(
        replace(case, status=ReviewStatus.APPROVED),
        Event("approved", actor, _optional_note(note)),
        NextStep.RELEASE,
    )


def reject(case: ReviewCase, actor: str, note: str | None) -> Transition:
    actor = _actor(actor)
    _undecided(case, "reject")
    return Transition(
        replace(case, status=ReviewStatus.REJECTED),
        Event("rejected", actor, _note(note, "rejecting")),
        NextStep.CANCEL,
    )


def escalate(
    case: ReviewCase, actor: str, note: str | None, assignee: str | None = None
) -> Transition:
    actor = _actor(actor)
    _undecided(case, "escalate")
    if case.status is ReviewStatus.ESCALATED:
        raise ReviewError("already_escalated", "the review is already escalated")
    assignee = assignee.strip() if assignee and assignee.strip() else case.assignee
    return Transition(
        replace(case, status=ReviewStatus.ESCALATED, assignee=assignee),
        Event("escalated", actor, _note(note, "escalating"), {"assignee": assignee}),
    )


def close(case: ReviewCase, actor: str, reason: str) -> Transition:
    """The held object ended without a decision (canceled by the merchant, expired)."""
    actor = _actor(actor)
    _undecided(case, "close")
    if not reason or not reason.strip():
        raise ReviewError("reason_required", "closing a review needs a reason")
    return Transition(
        replace(case, status=ReviewStatus.CLOSED),
        Event("closed", actor, None, {"reason": reason.strip()}),
    )


def add_note(case: ReviewCase, actor: str, note: str | None) -> Transition:
    return Transition(case, Event("note", _actor(actor), _note(note, "a note")))


def assign(case: ReviewCase, actor: str, assignee: str | None) -> Transition:
    actor = _actor(actor)
    _undecided(case, "assign")
    assignee = assignee.strip() if assignee and assignee.strip() else None
    return Transition(
        replace(case, assignee=assignee), Event("assigned", actor, None, {"assignee": assignee})
    )


def add_matches(
    case: ReviewCase, actor: str, matches: Sequence[SanctionsMatch], note: str | None
) -> Transition:
    """New sanctions matches on an undecided case (a list update named the party while it was
    held); each one blocks approval like the matches the case was opened with."""
    actor = _actor(actor)
    _undecided(case, "add matches to")
    known = {m.key for m in case.matches}
    added = tuple(m for m in matches if m.key not in known)
    return Transition(
        replace(case, matches=case.matches + added),
        Event("matches_added", actor, _optional_note(note), {"matches": [m.key for m in added]}),
    )


def resolve_match(
    case: ReviewCase,
    actor: str,
    match_key: str,
    resolution: MatchResolution,
    note: str | None,
    at: dt.datetime,
) -> Transition:
    """Record a sanctions match as a false positive or a true match; a note is mandatory."""
    actor = _actor(actor)
    _undecided(case, "resolve a match on")
    text = _note(note, "resolving a sanctions match")
    found = [m for m in case.matches if m.key == match_key]
    if not found:
        known = ", ".join(m.key for m in case.matches) or "none"
        raise ReviewError(
            "match_not_found", f"no sanctions match {match_key!r} on this review (matches: {known})"
        )
    if found[0].resolution is MatchResolution.TRUE_MATCH:
        raise ReviewError(
            "match_confirmed", f"{match_key} was confirmed as a true match; it cannot be changed"
        )
    matches = tuple(
        replace(m, resolution=resolution, resolved_by=actor, resolution_note=text, resolved_at=at)
        if m.key == match_key
        else m
        for m in case.matches
    )
    action = (
        "match_false_positive"
        if resolution is MatchResolution.FALSE_POSITIVE
        else "match_confirmed"
    )
    return Transition(
        replace(case, matches=matches), Event(action, actor, text, {"match": match_key})
    )

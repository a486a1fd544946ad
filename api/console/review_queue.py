"""The compliance review queue and the case file an officer decides from.

The queue is oldest first (cases are worked in the order they arrived), filtered by
status, rule, score, age, country and assignee. Status, score, age and assignee are
SQL conditions; rule and country live in the case's JSON (rule hits, counterparty) and
are checked here in Python over the rows SQL already narrowed, read in keyset chunks,
so a rare filter never loads the whole table at once.

A case file puts side by side what the officer needs: the review with its rule hits,
the held payment or payout, the merchant, and each sanctions match next to the list
entry it matched (from the snapshot it was listed in; "no longer listed" when the list
has since dropped it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.reviews import Review, ReviewEvent, SanctionsMatch, get_review, history
from compliance.reviews.tables import ReviewRow
from compliance.rules.store import active_rule_set
from compliance.sanctions import ListEntry
from compliance.sanctions.snapshots import entry_of
from compliance.sanctions.tables import SanctionsEntry, SanctionsSnapshot
from core.accounts import Account, get_account
from core.database import utcnow
from payments import intents
from payments.intents import PaymentIntent
from settlement.payouts import Payout, get_payout

STATUSES: Final = ("open", "escalated", "approved", "rejected", "closed", "all")
"""``open`` means undecided (open or escalated), as officers use the word."""
PAGE_SIZE: Final = 25
_CHUNK: Final = 500


@dataclass(frozen=True)
class QueueFilter:
    status: str = "open"
    rule: str | None = None
    min_score: int | None = None
    older_than_hours: int | None = None
    country: str | None = None
    assignee: str | None = None
    """An officer's name, or ``-`` for cases nobody has taken."""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> QueueFilter:
        """Lenient: a value that cannot be used is dropped, never an error page."""

        def number(name: str) -> int | None:
            raw = (query.get(name) or "").strip()
            return int(raw) if raw.isdigit() and len(raw) < 10 else None

        status = query.get("status") or "open"
        country = (query.get("country") or "").strip().upper()
        return cls(
            status=status if status in STATUSES else "open",
            rule=(query.get("rule") or "").strip()[:100] or None,
            min_score=number("min_score"),
            older_than_hours=number("older_than_hours"),
            country=country if len(country) == 2 and country.isalpha() else None,
            assignee=(query.get("assignee") or "").strip()[:200] or None,
        )

    def as_query(self) -> dict[str, str]:
        values = {
            "status": self.status,
            "rule": self.rule,
            "min_score": self.min_score,
            "older_than_hours": self.older_than_hours,
            "country": self.country,
            "assignee": self.assignee,
        }
        return {k: str(v) for k, v in values.items() if v is not None}


def case_countries(
    rule_hits: Iterable[Mapping[str, Any]], counterparty: Mapping[str, Any]
) -> set[str]:
    """Every country a case involves: the parties', the IP's and the card's."""
    found: set[str] = set()
    for party in ("payer", "beneficiary", "merchant"):
        data = counterparty.get(party)
        if isinstance(data, Mapping) and data.get("country"):
            found.add(str(data["country"]).upper())
    for key in ("ip_country", "card_country"):
        if counterparty.get(key):
            found.add(str(counterparty[key]).upper())
    return found


def passes(
    f: QueueFilter, rule_hits: Iterable[Mapping[str, Any]], counterparty: Mapping[str, Any]
) -> bool:
    """The JSON-held conditions of a filter (the SQL ones are already applied)."""
    hits = list(rule_hits or ())
    if f.rule and not any(hit.get("rule_id") == f.rule for hit in hits):
        return False
    return not (f.country and f.country not in case_countries(hits, counterparty or {}))


@dataclass(frozen=True)
class QueuePage:
    reviews: list[Review]
    next_after: int | None
    """Cursor (the last case's position) when more cases pass the filter."""


def queue(
    session: Session,
    f: QueueFilter,
    *,
    after: int | None = None,
    limit: int = PAGE_SIZE,
    now: dt.datetime | None = None,
) -> QueuePage:
    stmt = select(ReviewRow.seq, ReviewRow.id, ReviewRow.rule_hits, ReviewRow.counterparty)
    if f.status == "open":
        stmt = stmt.where(ReviewRow.status.in_(("open", "escalated")))
    elif f.status != "all":
        stmt = stmt.where(ReviewRow.status == f.status)
    if f.min_score is not None:
        stmt = stmt.where(ReviewRow.score >= f.min_score)
    if f.older_than_hours is not None:
        cutoff = (now or utcnow()) - dt.timedelta(hours=f.older_than_hours)
        stmt = stmt.where(ReviewRow.opened_at <= cutoff)
    if f.assignee == "-":
        stmt = stmt.where(ReviewRow.assignee.is_(None))
    elif f.assignee:
        stmt = stmt.where(ReviewRow.assignee == f.assignee)
    found: list[tuple[int, str]] = []
    cursor = after
    while len(found) <= limit:
        chunk = stmt if cursor is None else stmt.where(ReviewRow.seq > cursor)
        rows = session.execute(chunk.order_by(ReviewRow.seq).limit(_CHUNK)).all()
        for row in rows:
            if passes(f, row.rule_hits or [], row.counterparty or {}):
                found.append((row.seq, row.id))
                if len(found) > limit:
                    break
        if len(rows) < _CHUNK:
            break
        cursor = rows[-1].seq
    page = found[:limit]
    return QueuePage(
        [get_review(session, review_id) for _, review_id in page],
        page[-1][0] if len(found) > limit else None,
    )


def queue_choices(session: Session) -> dict[str, list[str]]:
    """What the filter menus offer: the active rule set's rules and the current assignees."""
    active = active_rule_set(session)
    rules = [rule.id for rule in active.rule_set.rules] if active else []
    assignees = session.scalars(
        select(ReviewRow.assignee)
        .where(ReviewRow.assignee.is_not(None), ReviewRow.status.in_(("open", "escalated")))
        .distinct()
        .order_by(ReviewRow.assignee)
    ).all()
    return {"rules": rules, "assignees": [a for a in assignees if a]}


# --- the case file ------------------------------------------------------------------


@dataclass(frozen=True)
class ListedEntry:
    entry: ListEntry
    snapshot_id: str
    snapshot_status: str
    """``active``, or ``superseded`` when the current list no longer has the entry."""
    publication_date: dt.date | None


@dataclass(frozen=True)
class MatchView:
    match: SanctionsMatch
    listed: ListedEntry | None


@dataclass
class CaseFile:
    review: Review
    events: list[ReviewEvent]
    matches: list[MatchView]
    intent: PaymentIntent | None = None
    payout: Payout | None = None
    account: Account | None = None


def listed_entry(session: Session, source: str, entry_id: str) -> ListedEntry | None:
    """The list entry as last published: the active snapshot's, else the newest that had it."""
    row = session.execute(
        select(SanctionsEntry, SanctionsSnapshot)
        .join(SanctionsSnapshot, SanctionsSnapshot.id == SanctionsEntry.snapshot_id)
        .where(SanctionsSnapshot.source == source, SanctionsEntry.entry_id == entry_id)
        .order_by(SanctionsSnapshot.active_source.is_(None), SanctionsSnapshot.loaded_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    entry, snapshot = row
    return ListedEntry(
        entry_of(entry, source), snapshot.id, snapshot.status, snapshot.publication_date
    )


def case_file(session: Session, review_id: str) -> CaseFile:
    """Raises :class:`compliance.reviews.ReviewNotFound` for an unknown case."""
    review = get_review(session, review_id)
    matches = [
        MatchView(match, listed_entry(session, match.list, match.entry_id))
        for match in review.screening_matches
    ]
    case = CaseFile(review, history(session, review_id), matches)
    if review.object_type == "payment_intent":
        case.intent = intents.find(session, None, review.object_id)
    elif review.object_type == "payout":
        case.payout = get_payout(session, review.object_id)
    if review.account_id:
        case.account = get_account(session, review.account_id)
    return case

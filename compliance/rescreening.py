"""After a list update: screen the people already dealt with against what the update added.

A payer screened clean yesterday may be listed today. When a load adds entries, a job
(enqueued with the load, :mod:`compliance.list_loads`) screens the recent counterparties
against the added entries only and opens a review case for every hit:

* payers and payout beneficiaries of the payments and payouts evaluated in the last
  ``days`` days (read from the rules' history store, which keeps each one's parties);
  the case is opened on the most recent payment or payout of that party;
* every merchant account; the case is opened on the account itself.

When the object is still held on an undecided case (a payment in review for another
reason), the new matches are added to that case instead, so it cannot be approved
before they are resolved.

The money has usually moved already, so approving such a case releases nothing and
rejecting it cancels nothing that is not still held (the officer's follow-up, such as a
freeze or a report, is outside this service); the case puts the hit on record, in front
of an officer, with its audit trail.

Usually an update adds a handful of entries, and the counterparties are screened against
an index of just those (:func:`~compliance.sanctions.screen_against_additions`, with token
rarity from the full active index). A first load adds a whole list; building a second
index of it would cost as much as the full one, so above :data:`WHOLE_INDEX_FROM`
additions the active index is used and only matches on added entries are kept.

The job is idempotent: a party that already has a case for this snapshot is skipped.
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.active_index import active_index
from compliance.reviews import Review, add_matches, open_review, review_for_object
from compliance.rules.observations import ObservationRow
from compliance.sanctions import (
    Counterparty,
    EntryKind,
    ListEntry,
    Match,
    ScreeningIndex,
    screen_against_additions,
)
from compliance.sanctions.scoring import Decision
from compliance.sanctions.snapshots import entry_of
from compliance.sanctions.tables import SanctionsEntry, SanctionsSnapshot
from core import jobs
from core.accounts import Account
from core.database import Database, utcnow

log = logging.getLogger("corridor.compliance")

JOB = "compliance.rescreen_after_list_load"
DEFAULT_DAYS = 30
"""How far back payers and beneficiaries are re-screened (Corridor policy; tune per risk)."""
WHOLE_INDEX_FROM = 1000
_MATCH_LIMIT = 50


@dataclass(frozen=True)
class KnownParty:
    """A counterparty seen recently, and the object a case about it is opened on."""

    role: str
    """``payer``, ``beneficiary`` or ``merchant``."""
    counterparty: Counterparty
    object_type: str
    object_id: str
    account_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class Hit:
    party: KnownParty
    decision: Decision
    matches: tuple[Match, ...]


def enqueue(
    session: Session, *, snapshot_id: str, previous_snapshot_id: str | None, days: int
) -> None:
    """Schedule the re-screen of a loaded snapshot (once per snapshot), in the load's
    transaction."""
    jobs.enqueue(
        session,
        JOB,
        f"rescreen:{snapshot_id}",
        {"snapshot_id": snapshot_id, "previous_snapshot_id": previous_snapshot_id, "days": days},
    )


def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _kind(role: str, party: dict[str, Any]) -> EntryKind | None:
    if role == "payer":
        return EntryKind(party.get("kind") or "person")
    if role == "merchant":
        return EntryKind.ENTITY
    return None  # an account holder may be a person or a business


def recent_counterparties(session: Session, since: dt.datetime) -> list[KnownParty]:
    """Distinct named payers and beneficiaries evaluated since ``since`` (each with its most
    recent payment or payout), then every merchant account."""
    rows = session.execute(
        select(ObservationRow.ref, ObservationRow.context)
        .where(
            ObservationRow.kind == "payment",
            ObservationRow.occurred_at >= since,
            ObservationRow.context.is_not(None),
        )
        .order_by(ObservationRow.occurred_at.desc(), ObservationRow.id.desc())
        .execution_options(yield_per=1000)
    )
    found: list[KnownParty] = []
    seen: set[tuple[str, str, str | None, str | None]] = set()
    for ref, context in rows:
        for role in ("payer", "beneficiary"):
            party = context.get(role) or {}
            name = party.get("name")
            if not name:
                continue
            key = (role, _normal(name), party.get("country"), party.get("date_of_birth"))
            if key in seen:
                continue
            seen.add(key)
            found.append(
                KnownParty(
                    role=role,
                    counterparty=Counterparty(
                        reference=ref,
                        name=name,
                        kind=_kind(role, party),
                        country=party.get("country"),
                        date_of_birth=party.get("date_of_birth"),
                    ),
                    object_type=context.get("object_type", "payment_intent"),
                    object_id=ref,
                    account_id=context.get("account_id"),
                    details=dict(party),
                )
            )
    for account in session.scalars(select(Account).order_by(Account.created, Account.id)):
        found.append(
            KnownParty(
                role="merchant",
                counterparty=Counterparty(
                    reference=account.id,
                    name=account.business_name,
                    kind=EntryKind.ENTITY,
                    country=account.country,
                ),
                object_type="account",
                object_id=account.id,
                account_id=account.id,
                details={
                    "name": account.business_name,
                    "country": account.country,
                    "kind": "entity",
                    "id": account.id,
                },
            )
        )
    return found


def added_entries(
    session: Session, snapshot: SanctionsSnapshot, previous_snapshot_id: str | None
) -> list[ListEntry]:
    """Entries of ``snapshot`` whose ids were not in the previous snapshot."""
    before: set[str] = set()
    if previous_snapshot_id:
        before = set(
            session.scalars(
                select(SanctionsEntry.entry_id).where(
                    SanctionsEntry.snapshot_id == previous_snapshot_id
                )
            )
        )
    rows = session.scalars(
        select(SanctionsEntry)
        .where(SanctionsEntry.snapshot_id == snapshot.id)
        .order_by(SanctionsEntry.id)
    )
    return [entry_of(row, snapshot.source) for row in rows if row.entry_id not in before]


def _screen_whole(
    parties: Sequence[KnownParty], added: Sequence[ListEntry], index: ScreeningIndex
) -> list[Hit]:
    keys = {(entry.source, entry.entry_id) for entry in added}
    hits: list[Hit] = []
    for party in parties:
        who = party.counterparty
        result = index.screen(
            who.name,
            kind=who.kind,
            country=who.country,
            date_of_birth=who.date_of_birth,
            limit=_MATCH_LIMIT,
        )
        matches = tuple(m for m in result.matches if (m.list, m.entry_id) in keys)
        decision = index.thresholds.decide(matches[0].score) if matches else Decision.ALLOW
        if decision is not Decision.ALLOW:
            hits.append(Hit(party, decision, matches))
    return hits


def screen_parties(
    parties: Sequence[KnownParty],
    added: Sequence[ListEntry],
    index: ScreeningIndex,
    *,
    whole_index: bool,
) -> list[Hit]:
    """Parties whose screening against ``added`` is ``review`` or ``block``.

    ``index`` is the full active index: the reference for token rarity, and with
    ``whole_index`` the index screened (``added`` must then be part of it).
    """
    if not added or not parties:
        return []
    if whole_index:
        return _screen_whole(parties, added, index)
    by_ref: dict[int, KnownParty] = {}
    counterparties = []
    for party in parties:
        by_ref[id(party.counterparty)] = party
        counterparties.append(party.counterparty)
    found = screen_against_additions(counterparties, added, reference=index)
    return [
        Hit(by_ref[id(hit.counterparty)], hit.result.decision, hit.result.matches) for hit in found
    ]


def _rescreened(review: Review, snapshot_id: str, role: str) -> bool:
    """Whether ``review`` is the case this job opened for this party and snapshot."""
    rescreen = review.counterparty.get("rescreen") or {}
    return rescreen.get("snapshot_id") == snapshot_id and rescreen.get("role") == role


def _match_dicts(role: str, matches: Iterable[Match], review_at: float) -> list[dict[str, Any]]:
    return [
        {
            "party": role,
            "list": m.list,
            "entry_id": m.entry_id,
            "name": m.name,
            "matched_name": m.matched_name,
            "score": round(float(m.score), 4),
        }
        for m in matches
        if m.score >= review_at
    ]


def _reason(party: KnownParty, best: dict[str, Any], snapshot_id: str) -> str:
    return (
        f"{party.role} {party.counterparty.name!r} matches {best['list']} entry "
        f"{best['entry_id']} {best['name']!r} as {best['matched_name']!r} "
        f"(score {best['score']}), added by snapshot {snapshot_id}"
    )


def open_reviews(
    session: Session, hits: Sequence[Hit], snapshot: SanctionsSnapshot, review_at: float
) -> list[str]:
    """One case per hit; the ids of the cases opened or given new matches.

    A party whose object is already held on an undecided case gets the new matches added
    to that case (so it cannot be approved without them being resolved); a party that
    already has its case for this snapshot (the job ran before) is skipped.
    """
    touched: list[str] = []
    for hit in hits:
        party = hit.party
        matches = _match_dicts(party.role, hit.matches, review_at)
        reason = _reason(party, matches[0], snapshot.id)
        current = review_for_object(session, party.object_type, party.object_id)
        if current is not None and current.open:
            known = {m.key for m in current.screening_matches}
            keys = {f"{m['party']}:{m['list']}:{m['entry_id']}" for m in matches}
            if not keys <= known:
                add_matches(session, current.id, actor="system", matches=matches, note=reason)
                touched.append(current.id)
            continue
        if current is not None and _rescreened(current, snapshot.id, party.role):
            continue
        review = open_review(
            session,
            object_type=party.object_type,
            object_id=party.object_id,
            account_id=party.account_id,
            opened_reason="rule",
            rule_hits=[
                {
                    "rule_id": "sanctions.rescreen",
                    "rule_type": "sanctions",
                    "decision": hit.decision.value,
                    "score": 0,
                    "reason": reason,
                    "details": {"snapshot_id": snapshot.id, "best_score": matches[0]["score"]},
                }
            ],
            screening_matches=matches,
            counterparty={
                party.role: party.details,
                "account_id": party.account_id,
                "rescreen": {
                    "snapshot_id": snapshot.id,
                    "source": snapshot.source,
                    "role": party.role,
                },
            },
        )
        touched.append(review.id)
    return touched


@jobs.job_handler(JOB)
def rescreen_after_list_load(
    db: Database,
    snapshot_id: str,
    previous_snapshot_id: str | None = None,
    days: int = DEFAULT_DAYS,
) -> None:
    """The job: screen recent counterparties against the snapshot's additions."""
    with db.transaction(write=False) as session:
        snapshot = session.get(SanctionsSnapshot, snapshot_id)
        if snapshot is None:
            log.warning("rescreen: snapshot %s no longer exists", snapshot_id)
            return
        added = added_entries(session, snapshot, previous_snapshot_id)
        parties = recent_counterparties(session, utcnow() - dt.timedelta(days=days))
        active = active_index(session)
        whole = len(added) >= WHOLE_INDEX_FROM and snapshot_id in active.snapshot_ids
        hits = screen_parties(parties, added, active.index, whole_index=whole)
        review_at = active.index.thresholds.review
        source = snapshot.source

    def record(session: Session) -> None:
        current = session.get(SanctionsSnapshot, snapshot_id)
        assert current is not None
        opened = open_reviews(session, hits, current, review_at)
        audit.append(
            session,
            "system",
            "sanctions.rescreened",
            snapshot_id,
            {
                "source": source,
                "added_entries": len(added),
                "counterparties": len(parties),
                "days": days,
                "hits": [
                    {
                        "role": hit.party.role,
                        "object_type": hit.party.object_type,
                        "object_id": hit.party.object_id,
                        "decision": hit.decision.value,
                        "entries": [m.entry_id for m in hit.matches[:5]],
                    }
                    for hit in hits
                ],
                "reviews": opened,
            },
        )

    db.run(record)
    log.info(
        "rescreen of %s: %d parties against %d added entries, %d hits",
        snapshot_id,
        len(parties),
        len(added),
        len(hits),
    )

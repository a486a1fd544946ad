"""Releasing rolling reserves when they fall due: ``merchant_reserve -> merchant_available``.

Each run that held a reserve left a ``reserve_release`` BalanceTransaction, ``pending``
until its ``available_on``. Releasing one is a conditional update of that row
(``pending`` -> ``available``) plus one ledger transfer with the deterministic id
``reserve_release:<txn id>``: the row can change state once and the transfer exist once,
so two sweepers (or a sweeper retried after a crash) never release a reserve twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.database import Database, utcnow
from settlement.balance_transactions import AVAILABLE, PENDING, BalanceTransaction
from settlement.ledger import Journal, Ledger, TransferSpec
from settlement.runs.service import MERCHANT_AVAILABLE, MERCHANT_RESERVE, RESERVE_RELEASE

DEFAULT_PAGE: Final = 200


def release_due_reserves(
    session: Session,
    now: dt.datetime | None = None,
    *,
    account_id: str | None = None,
    limit: int = DEFAULT_PAGE,
) -> int:
    """Release up to ``limit`` reserves due at ``now`` in the caller's transaction.

    Returns how many were released by this call (rows another sweeper holds are skipped
    on PostgreSQL, and are released by it).
    """
    now = now or utcnow()
    bt = BalanceTransaction
    query = (
        select(bt.id)
        .where(bt.type == RESERVE_RELEASE, bt.status == PENDING, bt.available_on <= now)
        .order_by(bt.available_on, bt.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if account_id is not None:
        query = query.where(bt.account_id == account_id)
    ids = list(session.scalars(query))
    if not ids:
        return 0
    released = session.execute(
        update(bt)
        .where(bt.id.in_(ids), bt.status == PENDING)
        .values(status=AVAILABLE)
        .returning(bt.id, bt.account_id, bt.currency, bt.amount, bt.source)
        .execution_options(synchronize_session=False)
    ).all()
    ledger = Ledger(session)
    batch = []
    for row in released:
        transfer = TransferSpec(
            id=f"reserve_release:{row.id}",
            debit=ledger.account(row.account_id, MERCHANT_RESERVE, row.currency).id,
            credit=ledger.account(row.account_id, MERCHANT_AVAILABLE, row.currency).id,
            amount=row.amount,
            currency=row.currency,
            code=RESERVE_RELEASE,
            reference=row.source,
        )
        header = Journal(
            code=RESERVE_RELEASE,
            reference=row.id,
            metadata={"account_id": row.account_id, "settlement_run": row.source},
        )
        batch.append((header, [transfer]))
    results = ledger.post_journals(batch)
    for row, outcome in zip(released, results, strict=True):
        outcome[0].check()
        session.execute(
            update(bt)
            .where(bt.id == row.id)
            .values(journal_id=outcome[0].journal_id)
            .execution_options(synchronize_session=False)
        )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, BalanceTransaction) and obj.id in ids:
            session.expire(obj)
    return len(released)


def release_all_due_reserves(db: Database, now: dt.datetime | None = None) -> int:
    """Release every due reserve, one page per transaction (what the periodic job runs)."""
    total = 0
    while True:
        released = db.run(lambda session: release_due_reserves(session, now))
        total += released
        if released == 0:
            return total

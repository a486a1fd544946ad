"""The ``settlement_runs`` table: one row per (account, currency, cut-off).

The unique key is what makes a run idempotent: asking again for the same cut-off finds
the existing row and moves nothing. Totals are the sums over the BalanceTransactions
the run claimed (``gross`` = sum of ``amount``, ``fee``, ``net``); ``reserved`` is the
part of ``net`` held in the rolling reserve and ``available`` the rest, so
``available + reserved == net`` always.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, UTCDateTime
from settlement.balance_transactions import BalanceTransaction

SUCCEEDED = "succeeded"
FAILED = "failed"
"""A run that moved nothing (e.g. a negative net the available balance could not cover);
asking for the same cut-off again retries it."""


class SettlementRun(Base):
    __tablename__ = "settlement_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    cut_off: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    transaction_count: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """BalanceTransactions claimed, by type (``{"charge": 980, "refund": 20}``)."""
    gross: Mapped[int] = mapped_column(BigInteger, default=0)
    fee: Mapped[int] = mapped_column(BigInteger, default=0)
    net: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    available: Mapped[int] = mapped_column(BigInteger, default=0)
    reserve_ppm: Mapped[int] = mapped_column(Integer, default=0)
    reserve_release_on: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    journal_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    batches: Mapped[int] = mapped_column(Integer, default=0)
    """How many keyset batches the run read (a run streams; it never loads all rows)."""
    failure_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    failure_message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("account_id", "currency", "cut_off", name="uq_settlement_runs_cut_off"),
        Index("ix_settlement_runs_account_created", "account_id", "created"),
    )


UNSETTLED = "status = 'pending' AND settlement_run_id IS NULL"


def unsettled(columns: Any) -> ColumnElement[bool]:
    """The index predicate over ``columns`` (the entity, a table's or an alias's ``.c``).

    The status is written as a literal, not a bound parameter, so that the planner can
    match the partial index also in generic (prepared) plans.
    """
    return and_(columns.status == literal_column("'pending'"), columns.settlement_run_id.is_(None))


unsettled_index = Index(
    "ix_balance_transactions_unsettled",
    BalanceTransaction.account_id,
    BalanceTransaction.currency,
    BalanceTransaction.available_on,
    BalanceTransaction.id,
    postgresql_where=text(UNSETTLED),
    sqlite_where=text(UNSETTLED),
)
"""What settlement reads on ``balance_transactions``: only the rows not yet settled, in
keyset order per (account, currency). A run walks it in ``(available_on, id)`` order and
stops after each batch (an ordered index scan, ``O(batch)`` per batch, however large the
backlog); the beat's "which accounts have due rows" and the automatic payouts' "is
anything left to settle" read it too. Settled rows leave it, so it stays the size of the
backlog. It is declared here, next to its only reader, on the BalanceTransactions table."""

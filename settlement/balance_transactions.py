"""BalanceTransactions: the merchant's view of every movement of its balance.

Each business event that changes what a merchant is owed (a capture, a refund, a
payout, a reserve hold or release, an adjustment) writes one row here in the same
transaction as its ledger journal, with Stripe's fields: ``amount`` in the settlement
currency, ``fee`` and ``fee_details``, ``net``, ``exchange_rate`` when converted,
``status`` (``pending`` until a settlement run makes it ``available``) and
``available_on`` (when it is due to become available). The ledger is the source of
truth for money; this table explains it to the merchant, row by row.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, UTCDateTime, utcnow
from core.ids import new_id
from settlement.posting.balance_transaction import BalanceTransactionData

PENDING = "pending"
AVAILABLE = "available"


class BalanceTransaction(Base):
    __tablename__ = "balance_transactions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(32))
    reporting_category: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    net: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    fee_details: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    exchange_rate: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """An exact decimal string (never a float)."""
    source: Mapped[str] = mapped_column(String(40), index=True)
    journal_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    available_on: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    settlement_run_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the row does not have a column for (presentment amount, capture figures...)."""
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_balance_transactions_due", "account_id", "currency", "status", "available_on"),
        Index("ix_balance_transactions_account_created", "account_id", "created"),
    )


def record(
    session: Session,
    account_id: str,
    data: BalanceTransactionData,
    *,
    status: str,
    available_on: dt.datetime,
    journal_id: str | None,
    description: str | None = None,
    details: dict[str, Any] | None = None,
    settlement_run_id: str | None = None,
) -> BalanceTransaction:
    row = BalanceTransaction(
        id=new_id("txn"),
        account_id=account_id,
        type=data.type,
        reporting_category=data.reporting_category,
        amount=data.amount,
        fee=data.fee,
        net=data.net,
        currency=data.currency,
        fee_details=[line.as_fee_detail() for line in data.fee_details],
        exchange_rate=None if data.exchange_rate is None else format(data.exchange_rate, "f"),
        source=data.source,
        journal_id=journal_id,
        status=status,
        available_on=available_on,
        settlement_run_id=settlement_run_id,
        description=description,
        details=details or {},
        created=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def for_source(session: Session, source_id: str) -> list[BalanceTransaction]:
    from sqlalchemy import select

    query = select(BalanceTransaction).where(BalanceTransaction.source == source_id)
    return list(session.scalars(query.order_by(BalanceTransaction.created)))


def exact_number(text: str | None) -> msgspec.Raw | None:
    """A decimal as a JSON number with exactly its digits (no float on the way)."""
    if text is None:
        return None
    value = Decimal(text)
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {text!r}")
    return msgspec.Raw(format(value, "f").encode())


def render(row: BalanceTransaction) -> dict[str, Any]:
    """Stripe's BalanceTransaction object; the exchange rate is an exact JSON number."""
    return {
        "id": row.id,
        "object": "balance_transaction",
        "amount": row.amount,
        "available_on": int(row.available_on.timestamp()),
        "created": int(row.created.timestamp()),
        "currency": row.currency.lower(),
        "description": row.description,
        "exchange_rate": exact_number(row.exchange_rate),
        "fee": row.fee,
        "fee_details": row.fee_details,
        "net": row.net,
        "reporting_category": row.reporting_category,
        "source": row.source,
        "status": row.status,
        "type": row.type,
    }

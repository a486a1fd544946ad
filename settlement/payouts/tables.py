"""The ``payouts`` table: Stripe's Payout, plus what regenerating its bank file needs.

``destination`` is a snapshot of the merchant's external account when the payout was
made (masked fields and the vault token of the number), so a later change of bank
account never changes where an existing payout went. ``bank_message_id``,
``bank_file_created_at`` and ``bank_file`` (scheme, execution date, remittance text, the
debtor account) are stored when the file is first generated, so
``GET /v1/payouts/{id}/file`` gives the same bytes every time. ``schedule_key`` makes an
automatic payout happen at most once per account, currency and schedule date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, UTCDateTime


class Payout(Base):
    __tablename__ = "payouts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger, default=0)
    """The payout fee charged to the merchant on top of ``amount`` (to ``platform_fees``)."""
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16), default="standard")
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    statement_descriptor: Mapped[str | None] = mapped_column(String(22), nullable=True)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    destination: Mapped[dict[str, Any]] = mapped_column(JSON)
    arrival_date: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    balance_transaction_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    failure_balance_transaction_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    failure_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    failure_message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    review_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    review_reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    bank_message_id: Mapped[str | None] = mapped_column(String(35), nullable=True, unique=True)
    bank_file_created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    bank_file: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    schedule_key: Mapped[str | None] = mapped_column(String(120), nullable=True, unique=True)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_payouts_account_created", "account_id", "created"),
        Index("ix_payouts_status", "status"),
    )

"""The ledger's four tables.

- ``ledger_accounts``: one row per (owner, purpose, currency), carrying its four running
  totals. The totals are what concurrent writers lock and update; CHECK constraints
  repeat the limit rules in the database as a last line of defence.
- ``ledger_transfers``: insert-only history. ``seq`` orders it (monotonic, assigned by
  the database); ``id`` is the client's idempotency key. A partial unique index on
  ``pending_id`` makes a reservation resolvable at most once, and one on
  ``reverses_id`` makes a transfer reversible at most once, whatever the interleaving.
- ``ledger_journals``: the header grouping the transfers of one all-or-nothing posting.
- ``ledger_failed_transfers``: ids whose posting failed on ledger state, so that the
  same id keeps failing (see :mod:`.codes`).

Amounts are ``BigInteger`` minor units; there is no floating-point column anywhere.

Two deliberate choices for throughput on PostgreSQL:

- A transfer's account columns carry no foreign key. Every transfer is written by a
  posting that holds a row lock on both its accounts (stronger than the key-share lock
  a foreign key check takes), accounts are never deleted, and ``verify`` reports any
  transfer naming a missing account. The check cost about a fifth of a batched
  transfer's database time.
- ``ledger_accounts`` leaves half of each page free (``fillfactor``), so the constant
  updates of its totals (no indexed column changes) stay heap-only (HOT) and never
  touch its indexes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, UTCDateTime

from .storage import procedure

ID = String(160)
ACCOUNT_ID = String(32)
SEQ = BigInteger().with_variant(Integer, "sqlite")


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"

    id: Mapped[str] = mapped_column(ACCOUNT_ID, primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    normal: Mapped[str] = mapped_column(String(6))
    debits_must_not_exceed_credits: Mapped[bool]
    credits_must_not_exceed_debits: Mapped[bool]
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("owner", "purpose", "currency", name="uq_ledger_accounts_key"),
        CheckConstraint("normal IN ('debit', 'credit')", name="normal_side"),
        CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 "
            "AND credits_pending >= 0 AND credits_posted >= 0",
            name="totals_non_negative",
        ),
        CheckConstraint(
            "NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)",
            name="one_limit",
        ),
        CheckConstraint(
            "NOT debits_must_not_exceed_credits "
            "OR debits_pending + debits_posted <= credits_posted",
            name="debits_within_credits",
        ),
        CheckConstraint(
            "NOT credits_must_not_exceed_debits "
            "OR credits_pending + credits_posted <= debits_posted",
            name="credits_within_debits",
        ),
        {"postgresql_with": {"fillfactor": 50}},
    )


class LedgerJournal(Base):
    __tablename__ = "ledger_journals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(255))
    rate: Mapped[str | None] = mapped_column(String(64))
    """Exact decimal string of the exchange rate, for cross-currency journals."""
    quote_id: Mapped[str | None] = mapped_column(String(64))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class LedgerTransfer(Base):
    __tablename__ = "ledger_transfers"

    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(ID, unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    debit_account_id: Mapped[str] = mapped_column(ACCOUNT_ID)
    credit_account_id: Mapped[str] = mapped_column(ACCOUNT_ID)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    released: Mapped[int] = mapped_column(BigInteger, default=0)
    """For a resolution (post/void/expire): the reservation's amount it releases."""
    pending_id: Mapped[str | None] = mapped_column(ID, ForeignKey("ledger_transfers.id"))
    reverses_id: Mapped[str | None] = mapped_column(ID, ForeignKey("ledger_transfers.id"))
    timeout_seconds: Mapped[int | None] = mapped_column(Integer)
    timeout_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    code: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(255))
    journal_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("ledger_journals.id"))
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    checksum: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("amount >= 0 AND released >= 0", name="amounts_non_negative"),
        CheckConstraint("debit_account_id <> credit_account_id", name="accounts_differ"),
        CheckConstraint(
            "kind IN ('posted', 'pending', 'post_pending', 'void_pending', 'expire_pending')",
            name="kind",
        ),
        Index("ix_ledger_transfers_debit_seq", "debit_account_id", "seq"),
        Index("ix_ledger_transfers_credit_seq", "credit_account_id", "seq"),
        Index("ix_ledger_transfers_reference", "reference"),
        Index(
            "ix_ledger_transfers_journal_id",
            "journal_id",
            postgresql_where=text("journal_id IS NOT NULL"),
            sqlite_where=text("journal_id IS NOT NULL"),
        ),
        Index(
            "uq_ledger_transfers_pending_id",
            "pending_id",
            unique=True,
            postgresql_where=text("pending_id IS NOT NULL"),
            sqlite_where=text("pending_id IS NOT NULL"),
        ),
        Index(
            "uq_ledger_transfers_reverses_id",
            "reverses_id",
            unique=True,
            postgresql_where=text("reverses_id IS NOT NULL"),
            sqlite_where=text("reverses_id IS NOT NULL"),
        ),
        Index(
            "ix_ledger_transfers_timeout_at",
            "timeout_at",
            postgresql_where=text("timeout_at IS NOT NULL"),
            sqlite_where=text("timeout_at IS NOT NULL"),
        ),
        {"sqlite_autoincrement": True},
    )


class LedgerFailedTransfer(Base):
    __tablename__ = "ledger_failed_transfers"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime)


accounts = LedgerAccount.__table__
transfers = LedgerTransfer.__table__
journals = LedgerJournal.__table__
failed_transfers = LedgerFailedTransfer.__table__

# Schemas built from the models (tests, benchmarks) get the lone-posting function with
# the table it writes; migrated databases get them from revisions 0002 and 0003.
for _create, _drop in (
    (procedure.CREATE, procedure.DROP),
    (procedure.CREATE_OR_ABORT, procedure.DROP_OR_ABORT),
):
    event.listen(transfers, "after_create", DDL(_create).execute_if(dialect="postgresql"))
    event.listen(transfers, "before_drop", DDL(_drop).execute_if(dialect="postgresql"))

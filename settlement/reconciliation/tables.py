"""Reconciliation's tables: statements and their lines, matches, breaks, CSV mappings.

A statement row is keyed by its file's SHA-256 (unique), so a file imported twice is
found, not stored again. Lines keep every reference the importer found plus the raw
text. A match is one group (lines <-> expected items, the rule that made it); each
matched expected item has its own row keyed by the item's key, so no item can ever be
matched twice, whatever runs in parallel. A break is one per subject (a line or an
expected item), updated by each run while open, closed by a run (``auto_matched``) or
by a person (``match_manually``, ``write_off``, ``ignore``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, UTCDateTime


class StatementRow(Base):
    __tablename__ = "recon_statements"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(100), index=True)
    format: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))
    file_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    account: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    statement_ref: Mapped[str | None] = mapped_column(String(140), nullable=True)
    opening_balance: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    opening_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    closing_balance: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    closing_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    first_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    last_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    line_count: Mapped[int] = mapped_column(Integer)
    credit_total: Mapped[int] = mapped_column(BigInteger)
    debit_total: Mapped[int] = mapped_column(BigInteger)
    opening_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    """What this statement's import posted to the ledger as the account's opening balance."""
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    imported_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class LineRow(Base):
    __tablename__ = "recon_lines"
    __table_args__ = (
        Index("ix_recon_lines_source_status_date", "source", "status", "booking_date"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    statement_id: Mapped[str] = mapped_column(ForeignKey("recon_statements.id"), index=True)
    source: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    line_no: Mapped[int] = mapped_column(Integer)
    booking_date: Mapped[dt.date] = mapped_column(Date)
    value_date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    direction: Mapped[str] = mapped_column(String(6))
    fee: Mapped[int] = mapped_column(BigInteger, default=0)
    category: Mapped[str | None] = mapped_column(String(60), nullable=True)
    end_to_end_id: Mapped[str | None] = mapped_column(String(140), nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(140), nullable=True)
    bank_reference: Mapped[str | None] = mapped_column(String(140), nullable=True)
    batch_id: Mapped[str | None] = mapped_column(String(140), nullable=True, index=True)
    remittance_info: Mapped[str | None] = mapped_column(Text, nullable=True)
    counterparty_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    counterparty_account: Mapped[str | None] = mapped_column(String(100), nullable=True)
    raw: Mapped[str] = mapped_column(Text)
    tokens: Mapped[list[str]] = mapped_column(JSON)
    """The reference tokens matching looks up (:func:`.references.line_tokens`), computed
    once at import so that runs do not parse remittance text again."""
    status: Mapped[str] = mapped_column(String(10))
    """``open`` (not yet final), ``matched`` or ``resolved`` (by a person)."""
    outcome: Mapped[str | None] = mapped_column(String(12), nullable=True)
    match_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    posted_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    """Signed amount reconciliation posted to the statement's ledger account for this line."""


class MatchRow(Base):
    __tablename__ = "recon_matches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(100), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    rule: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(12))
    line_ids: Mapped[list[str]] = mapped_column(JSON)
    expected: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    line_total: Mapped[int] = mapped_column(BigInteger)
    expected_total: Mapped[int] = mapped_column(BigInteger)
    difference: Mapped[int] = mapped_column(BigInteger)
    transfer_ids: Mapped[list[str]] = mapped_column(JSON)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))


class MatchedItemRow(Base):
    """One row per matched expected item: its key is the primary key, so it matches once."""

    __tablename__ = "recon_matched_items"

    expected_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    match_id: Mapped[str] = mapped_column(ForeignKey("recon_matches.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str] = mapped_column(String(140))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))


class BreakRow(Base):
    __tablename__ = "recon_breaks"
    __table_args__ = (Index("ix_recon_breaks_status_source", "status", "source"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12))
    """``unmatched`` / ``mismatched`` (a line), ``expected`` (an item not arrived)."""
    line_id: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    expected_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    """Signed: the line's amount, or the expected item's."""
    currency: Mapped[str] = mapped_column(String(3))
    difference: Mapped[int] = mapped_column(BigInteger, default=0)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    expected: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """The expected item(s) concerned (the item itself for ``expected``)."""
    candidates: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), index=True)
    resolution: Mapped[str | None] = mapped_column(String(20), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    write_off_account: Mapped[str | None] = mapped_column(String(60), nullable=True)
    transfer_ids: Mapped[list[str]] = mapped_column(JSON)
    resolved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CsvMappingRow(Base):
    __tablename__ = "recon_csv_mappings"

    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(200), nullable=True)

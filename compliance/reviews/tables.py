"""Review cases and their history (``compliance_reviews``, ``compliance_review_events``).

The review row holds the current state (status, assignee, matches with their
resolutions); the events table is the case history, appended to by every action and
never updated. The audit log holds the same actions again, chained and signed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, UTCDateTime, utcnow

_OPEN = "status IN ('open', 'escalated')"


class ReviewRow(Base):
    __tablename__ = "compliance_reviews"
    __table_args__ = (
        CheckConstraint(
            "status IN ('open', 'escalated', 'approved', 'rejected', 'closed')", name="status"
        ),
        CheckConstraint(
            "object_type IN ('payment_intent', 'payout', 'account')", name="object_type"
        ),
        # At most one undecided review per held object.
        Index(
            "uq_compliance_reviews_one_open",
            "object_type",
            "object_id",
            unique=True,
            sqlite_where=text(_OPEN),
            postgresql_where=text(_OPEN),
        ),
        Index("ix_compliance_reviews_status_seq", "status", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    """Creation order, for stable list pagination."""
    id: Mapped[str] = mapped_column(String(40), unique=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    opened_reason: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(32))
    closed_reason: Mapped[str | None] = mapped_column(String(64))
    decision: Mapped[str | None] = mapped_column(String(16))
    """The rules' decision that opened the case."""
    score: Mapped[int | None] = mapped_column(Integer)
    rule_hits: Mapped[Any] = mapped_column(JSON)
    screening_matches: Mapped[Any] = mapped_column(JSON)
    counterparty: Mapped[Any] = mapped_column(JSON)
    assignee: Mapped[str | None] = mapped_column(String(200), index=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ReviewEventRow(Base):
    __tablename__ = "compliance_review_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    review_id: Mapped[str] = mapped_column(ForeignKey("compliance_reviews.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[Any] = mapped_column(JSON)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

"""Snapshot tables: every loaded list version, and its entries.

``active_source`` holds the source name while a snapshot is active and NULL once it
is superseded; its unique constraint makes "one active snapshot per source" a
database invariant on SQLite and PostgreSQL alike (NULLs never collide).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, UTCDateTime, utcnow


class SanctionsSnapshot(Base):
    __tablename__ = "sanctions_snapshots"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), index=True)
    publication_date: Mapped[dt.date | None] = mapped_column(Date)
    checksum: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(Integer)
    files: Mapped[list[str]] = mapped_column(JSON)
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16))  # active | superseded
    active_source: Mapped[str | None] = mapped_column(String(32), unique=True)
    previous_id: Mapped[str | None] = mapped_column(String(40))
    added_count: Mapped[int] = mapped_column(Integer, default=0)
    removed_count: Mapped[int] = mapped_column(Integer, default=0)
    changed_count: Mapped[int] = mapped_column(Integer, default=0)


class SanctionsEntry(Base):
    __tablename__ = "sanctions_entries"
    __table_args__ = (UniqueConstraint("snapshot_id", "entry_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[str] = mapped_column(
        ForeignKey("sanctions_snapshots.id", ondelete="CASCADE"), index=True
    )
    entry_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    names: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # aliases: name, quality, kind
    countries: Mapped[list[str]] = mapped_column(JSON)
    birth_dates: Mapped[list[str]] = mapped_column(JSON)
    programs: Mapped[list[str]] = mapped_column(JSON)
    remarks: Mapped[str] = mapped_column(Text, default="")

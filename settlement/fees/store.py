"""Fee schedules in the database: one per account, plus the platform default.

``fee_schedule_for(session, account_id)`` is what capture, refund and payout code call:
the account's own schedule when it has one, else the platform default (owner
``"platform"``). Schedules are whole (an account's schedule does not inherit single
fields from the default), so what an account pays is readable from one row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, UTCDateTime, utcnow
from core.ids import new_id
from settlement.fees.schedule import PLATFORM_OWNER, FeeSchedule, RefundFeePolicy


class FeeScheduleMissing(LookupError):
    """Neither the account nor the platform has a fee schedule."""


class FeeScheduleRecord(Base):
    __tablename__ = "fee_schedules"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), unique=True)
    percent_ppm: Mapped[int] = mapped_column(Integer)
    fixed_fees: Mapped[dict[str, Any]] = mapped_column(JSON)
    cross_border_ppm: Mapped[int] = mapped_column(Integer)
    fx_markup_ppm: Mapped[int] = mapped_column(Integer)
    minimum_fees: Mapped[dict[str, Any]] = mapped_column(JSON)
    refund_fees: Mapped[dict[str, Any]] = mapped_column(JSON)
    payout_fees: Mapped[dict[str, Any]] = mapped_column(JSON)
    refund_fee_policy: Mapped[str] = mapped_column(String(16))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime())


def _schedule(row: FeeScheduleRecord) -> FeeSchedule:
    return FeeSchedule(
        owner=row.owner,
        percent_ppm=row.percent_ppm,
        fixed=row.fixed_fees,
        cross_border_ppm=row.cross_border_ppm,
        fx_markup_ppm=row.fx_markup_ppm,
        minimum=row.minimum_fees,
        refund_fixed=row.refund_fees,
        payout_fixed=row.payout_fees,
        refund_fee_policy=RefundFeePolicy(row.refund_fee_policy),
        id=row.id,
    )


def save_fee_schedule(session: Session, schedule: FeeSchedule) -> FeeSchedule:
    """Create or replace the schedule of ``schedule.owner``; returns it with its id."""
    row = session.scalars(
        select(FeeScheduleRecord).where(FeeScheduleRecord.owner == schedule.owner)
    ).one_or_none()
    now = utcnow()
    if row is None:
        row = FeeScheduleRecord(id=new_id("fs"), owner=schedule.owner, created=now)
        session.add(row)
    row.percent_ppm = schedule.percent_ppm
    row.fixed_fees = dict(schedule.fixed)
    row.cross_border_ppm = schedule.cross_border_ppm
    row.fx_markup_ppm = schedule.fx_markup_ppm
    row.minimum_fees = dict(schedule.minimum)
    row.refund_fees = dict(schedule.refund_fixed)
    row.payout_fees = dict(schedule.payout_fixed)
    row.refund_fee_policy = schedule.refund_fee_policy.value
    row.updated = now
    session.flush()
    return _schedule(row)


def fee_schedule_for(session: Session, account_id: str) -> FeeSchedule:
    """The account's schedule, or the platform default."""
    rows = session.scalars(
        select(FeeScheduleRecord).where(FeeScheduleRecord.owner.in_([account_id, PLATFORM_OWNER]))
    ).all()
    by_owner = {row.owner: row for row in rows}
    row = by_owner.get(account_id) or by_owner.get(PLATFORM_OWNER)
    if row is None:
        raise FeeScheduleMissing(f"no fee schedule for {account_id} and no platform default")
    return _schedule(row)

"""The numbers behind finance's overview: balances by currency, daily volume, recon trends.

All sums are done by the database over integer minor units, grouped by currency (sums
across currencies are meaningless and never made). Days are UTC calendar days; a day
with no activity is shown as zero, so a chart's gaps are real gaps.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import ColumnElement, Date, case, cast, func, select
from sqlalchemy.orm import Session

from core.database import utcnow
from settlement.balance_transactions import BalanceTransaction
from settlement.ledger import policy_for
from settlement.ledger.tables import LedgerAccount
from settlement.reconciliation.engine import Outcome
from settlement.reconciliation.tables import BreakRow, LineRow

BALANCE_PURPOSES: Final = (
    "merchant_pending",
    "merchant_available",
    "merchant_reserve",
    "payouts_in_transit",
    "platform_fees",
    "psp_clearing",
    "bank",
    "fx_position",
)
AGE_BUCKETS: Final = ((0, 1), (2, 7), (8, 30), (31, None))
"""Break ageing buckets in whole days, inclusive (``None``: and older)."""


def _utc_day(column: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def days_back(today: dt.date, days: int) -> list[dt.date]:
    return [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]


@dataclass(frozen=True)
class CurrencyBalances:
    currency: str
    by_purpose: dict[str, int]
    """Posted balance on the account's normal side, summed over every owner."""
    incoming: dict[str, int]
    """Pending transfers that will add to the balance when posted (a payout in flight)."""
    reserved: dict[str, int]
    """Pending transfers that will take from it (reserved, no longer spendable)."""
    accounts: int


def balances_by_currency(session: Session) -> list[CurrencyBalances]:
    a = LedgerAccount
    rows = session.execute(
        select(
            a.currency,
            a.purpose,
            a.normal,
            func.sum(a.debits_posted),
            func.sum(a.credits_posted),
            func.sum(a.debits_pending),
            func.sum(a.credits_pending),
            func.count(),
        )
        .where(a.purpose.in_(BALANCE_PURPOSES))
        .group_by(a.currency, a.purpose, a.normal)
    ).all()
    posted: dict[str, dict[str, int]] = defaultdict(dict)
    incoming: dict[str, dict[str, int]] = defaultdict(dict)
    reserved: dict[str, dict[str, int]] = defaultdict(dict)
    counts: dict[str, int] = defaultdict(int)
    for currency, purpose, normal, dp, cp, dpe, cpe, count in rows:
        if normal == "credit":
            grows, shrinks, grows_pending, shrinks_pending = cp, dp, cpe, dpe
        else:
            grows, shrinks, grows_pending, shrinks_pending = dp, cp, dpe, cpe
        posted[currency][purpose] = posted[currency].get(purpose, 0) + int(grows) - int(shrinks)
        incoming[currency][purpose] = incoming[currency].get(purpose, 0) + int(grows_pending)
        reserved[currency][purpose] = reserved[currency].get(purpose, 0) + int(shrinks_pending)
        counts[currency] += int(count)
    return [
        CurrencyBalances(c, posted[c], incoming[c], reserved[c], counts[c])
        for c in sorted(posted, key=str)
    ]


def purpose_description(purpose: str) -> str:
    policy = policy_for(purpose)
    return policy.description if policy else ""


@dataclass(frozen=True)
class DayFigure:
    day: dt.date
    volume: int
    """Captured gross (charge rows' ``amount``)."""
    net: int
    """Net change of merchants' balances that day (every row's ``net``)."""
    count: int


def daily_volume(
    session: Session, *, days: int = 14, today: dt.date | None = None
) -> dict[str, list[DayFigure]]:
    """Per settlement currency, one figure per day of the last ``days`` days."""
    today = today or utcnow().date()
    start = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), dt.UTC)
    bt = BalanceTransaction
    day = _utc_day(bt.created, session.get_bind().dialect.name).label("day")
    rows = session.execute(
        select(
            bt.currency,
            day,
            func.sum(case((bt.type == "charge", bt.amount), else_=0)),
            func.sum(bt.net),
            func.sum(case((bt.type == "charge", 1), else_=0)),
        )
        .where(bt.created >= start)
        .group_by(bt.currency, day)
    ).all()
    found: dict[str, dict[dt.date, tuple[int, int, int]]] = defaultdict(dict)
    for currency, when, volume, net, count in rows:
        found[currency][_as_date(when)] = (int(volume or 0), int(net or 0), int(count or 0))
    return {
        currency: [DayFigure(d, *by_day.get(d, (0, 0, 0))) for d in days_back(today, days)]
        for currency, by_day in sorted(found.items())
    }


@dataclass(frozen=True)
class OutcomeDay:
    day: dt.date
    counts: dict[str, int] = field(default_factory=dict)


def reconciliation_outcomes(
    session: Session, *, days: int = 14, today: dt.date | None = None
) -> list[OutcomeDay]:
    """Statement lines per booking day and outcome (``open`` lines not yet decided)."""
    today = today or utcnow().date()
    start = today - dt.timedelta(days=days - 1)
    rows = session.execute(
        select(LineRow.booking_date, LineRow.outcome, func.count())
        .where(LineRow.booking_date >= start, LineRow.booking_date <= today)
        .group_by(LineRow.booking_date, LineRow.outcome)
    ).all()
    by_day: dict[dt.date, dict[str, int]] = defaultdict(dict)
    for booked, outcome, count in rows:
        by_day[_as_date(booked)][outcome or "open"] = int(count)
    return [OutcomeDay(d, dict(by_day.get(d, {}))) for d in days_back(today, days)]


OUTCOMES: Final = (
    Outcome.MATCHED.value,
    Outcome.MISMATCHED.value,
    Outcome.UNMATCHED.value,
    "open",
)


@dataclass(frozen=True)
class AgeBucket:
    low: int
    high: int | None
    count: int
    amounts: dict[str, int]
    """Absolute amounts per currency."""


def break_ageing(session: Session, *, today: dt.date | None = None) -> list[AgeBucket]:
    today = today or utcnow().date()
    rows = session.execute(
        select(
            BreakRow.occurred_on,
            BreakRow.currency,
            func.count(),
            func.sum(func.abs(BreakRow.amount)),
        )
        .where(BreakRow.status == "open")
        .group_by(BreakRow.occurred_on, BreakRow.currency)
    ).all()
    buckets = [AgeBucket(low, high, 0, {}) for low, high in AGE_BUCKETS]
    for occurred, currency, count, amount in rows:
        age = (today - _as_date(occurred)).days
        for i, (low, high) in enumerate(AGE_BUCKETS):
            if age >= low and (high is None or age <= high):
                bucket = buckets[i]
                amounts = dict(bucket.amounts)
                amounts[currency] = amounts.get(currency, 0) + int(amount or 0)
                buckets[i] = AgeBucket(low, high, bucket.count + int(count), amounts)
                break
    return buckets

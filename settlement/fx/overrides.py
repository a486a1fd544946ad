"""Treasury rate overrides: pairs the ECB does not publish, and the treasury's own rates.

A row says "from ``valid_from`` (inclusive) until ``valid_to`` (exclusive, open when
null), 1 ``base`` = ``rate`` ``quote``, according to ``source``". Typical rows are the
Gulf pegs the ECB does not fix (``USD/BHD 0.376``, ``USD/SAR 3.75``, ``EUR/KWD ...``)
or a treasury's dealt rate that must beat the ECB reference for a while.

As a :class:`~settlement.fx.rates.RateFeed`, the table publishes, for a date, the rows
in force on it; when several rows for the same pair (in either direction) are in force,
the one that took effect last wins (then the one created last). The published rate's
``as_of`` is the row's ``valid_from`` and its source ``override:<source>``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from sqlalchemy import Date, Index, String, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, DecimalText, UTCDateTime, utcnow
from core.ids import new_id
from core.money import currency_code
from settlement.fx.rates import Rate

SOURCE_PREFIX: Final = "override:"


class FxRateOverride(Base):
    """One treasury rate for a pair over a validity window."""

    __tablename__ = "fx_rate_overrides"
    __table_args__ = (Index("ix_fx_rate_overrides_pair", "base", "quote", "valid_from"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    base: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(DecimalText())
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    source: Mapped[str] = mapped_column(String(64))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


@dataclass(frozen=True, slots=True)
class RateOverride:
    id: str
    base: str
    quote: str
    rate: Decimal
    valid_from: dt.date
    valid_to: dt.date | None
    source: str
    created: dt.datetime

    @classmethod
    def of(cls, row: FxRateOverride) -> RateOverride:
        return cls(
            row.id,
            row.base,
            row.quote,
            row.rate,
            row.valid_from,
            row.valid_to,
            row.source,
            row.created,
        )

    def as_rate(self) -> Rate:
        return Rate(self.base, self.quote, self.rate, SOURCE_PREFIX + self.source, self.valid_from)


def add_override(
    session: Session,
    base: str,
    quote: str,
    rate: Decimal | str,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    *,
    source: str = "treasury",
) -> RateOverride:
    """Record a rate in force from ``valid_from`` until ``valid_to`` (exclusive)."""
    base, quote = currency_code(base), currency_code(quote)
    if base == quote:
        raise ValueError(f"an override needs two different currencies, got {base}/{quote}")
    if not isinstance(rate, Decimal | str):
        raise ValueError(f"override rate must be a Decimal or a decimal string, got {rate!r}")
    try:
        value = Decimal(rate)
    except InvalidOperation as exc:
        raise ValueError(f"override rate {rate!r} is not a decimal") from exc
    if not value.is_finite() or value <= 0:
        raise ValueError(f"override rate for {base}/{quote} must be a positive decimal")
    if valid_to is not None and valid_to <= valid_from:
        raise ValueError(f"valid_to {valid_to} must be after valid_from {valid_from}")
    if not source or len(source) > 64:
        raise ValueError("an override names its source (at most 64 characters)")
    row = FxRateOverride(
        id=new_id("fxo"),
        base=base,
        quote=quote,
        rate=value,
        valid_from=valid_from,
        valid_to=valid_to,
        source=source,
        created=utcnow(),
    )
    session.add(row)
    session.flush()
    return RateOverride.of(row)


def overrides_in_force(session: Session, on: dt.date) -> list[RateOverride]:
    """Rows in force on ``on``, the winning one first for each pair."""
    rows = session.scalars(
        select(FxRateOverride)
        .where(FxRateOverride.valid_from <= on)
        .where(or_(FxRateOverride.valid_to.is_(None), FxRateOverride.valid_to > on))
        .order_by(
            FxRateOverride.valid_from.desc(),
            FxRateOverride.created.desc(),
            FxRateOverride.id.desc(),
        )
    )
    return [RateOverride.of(row) for row in rows]


class OverrideRates:
    """The override table as a rate feed, read through the caller's session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def published(self, on: dt.date) -> Sequence[Rate]:
        seen: set[frozenset[str]] = set()
        rates = []
        for override in overrides_in_force(self._session, on):
            pair = frozenset((override.base, override.quote))
            if pair in seen:
                continue
            seen.add(pair)
            rates.append(override.as_rate())
        return rates

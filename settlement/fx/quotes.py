"""FX quotes: a mid rate and the account's spread, locked for a limited time, used once.

``create_quote`` prices the pair now (overrides first, then the ECB) and stores the
lock; ``use_quote`` consumes it for one business object (a payment, a transfer),
refusing a quote that has expired, was used for something else, belongs to another
account or is for another pair. Consumption is one conditional ``UPDATE`` (``WHERE
consumed_at IS NULL AND expires_at > now``), so two concurrent uses cannot both win;
using it again for the same reference returns the same lock (retries are safe).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from sqlalchemy import Date, Integer, String, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, DecimalText, UTCDateTime, utcnow
from core.ids import new_id
from core.money import currency_code
from settlement.fx.book import default_rate_book
from settlement.fx.locked_rate import LockedRate, check_ppm
from settlement.fx.rates import RateSource

MAX_QUOTE_TTL: Final = dt.timedelta(days=1)


class QuoteError(Exception):
    """Base of the refusals below; the message says what to do."""


class QuoteNotFound(QuoteError, LookupError):
    pass


class QuoteExpired(QuoteError):
    pass


class QuoteAlreadyUsed(QuoteError):
    pass


class QuoteMismatch(QuoteError):
    pass


class FxQuoteRecord(Base):
    __tablename__ = "fx_quotes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    from_currency: Mapped[str] = mapped_column(String(3))
    to_currency: Mapped[str] = mapped_column(String(3))
    mid_rate: Mapped[Decimal] = mapped_column(DecimalText())
    spread_ppm: Mapped[int] = mapped_column(Integer)
    all_in_rate: Mapped[Decimal] = mapped_column(DecimalText())
    rate_source: Mapped[str] = mapped_column(String(128))
    rate_as_of: Mapped[dt.date] = mapped_column(Date)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    consumed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    consumed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


@dataclass(frozen=True, slots=True)
class Quote:
    id: str
    account_id: str
    from_currency: str
    to_currency: str
    mid_rate: Decimal
    spread_ppm: int
    all_in_rate: Decimal
    rate_source: str
    rate_as_of: dt.date
    created: dt.datetime
    expires_at: dt.datetime
    consumed_at: dt.datetime | None
    consumed_by: str | None

    @classmethod
    def of(cls, row: FxQuoteRecord) -> Quote:
        return cls(
            id=row.id,
            account_id=row.account_id,
            from_currency=row.from_currency,
            to_currency=row.to_currency,
            mid_rate=row.mid_rate,
            spread_ppm=row.spread_ppm,
            all_in_rate=row.all_in_rate,
            rate_source=row.rate_source,
            rate_as_of=row.rate_as_of,
            created=row.created,
            expires_at=row.expires_at,
            consumed_at=row.consumed_at,
            consumed_by=row.consumed_by,
        )

    def locked(self) -> LockedRate:
        return LockedRate(
            self.from_currency,
            self.to_currency,
            self.mid_rate,
            self.spread_ppm,
            self.rate_source,
            self.rate_as_of,
            quote_id=self.id,
        )

    def is_expired(self, now: dt.datetime) -> bool:
        return now >= self.expires_at


def create_quote(
    session: Session,
    account_id: str,
    from_currency: str,
    to_currency: str,
    spread_ppm: int,
    ttl: dt.timedelta,
    *,
    rates: RateSource | None = None,
    now: dt.datetime | None = None,
) -> Quote:
    """Lock today's rate for ``from_currency`` -> ``to_currency`` plus ``spread_ppm``."""
    from_currency, to_currency = currency_code(from_currency), currency_code(to_currency)
    if from_currency == to_currency:
        raise QuoteMismatch(f"a quote converts between two currencies, got {from_currency} twice")
    check_ppm(spread_ppm, "spread_ppm")
    if not dt.timedelta(0) < ttl <= MAX_QUOTE_TTL:
        raise QuoteError(f"a quote lives between 0 and {MAX_QUOTE_TTL}, not {ttl}")
    now = now or utcnow()
    source = rates if rates is not None else default_rate_book(session)
    rate = source.rate(from_currency, to_currency, now.date())
    locked = LockedRate.implicit(rate, spread_ppm)
    row = FxQuoteRecord(
        id=new_id("fxq"),
        account_id=account_id,
        from_currency=from_currency,
        to_currency=to_currency,
        mid_rate=locked.mid,
        spread_ppm=spread_ppm,
        all_in_rate=locked.all_in,
        rate_source=rate.source,
        rate_as_of=rate.as_of,
        created=now,
        expires_at=now + ttl,
    )
    session.add(row)
    session.flush()
    return Quote.of(row)


def get_quote(session: Session, quote_id: str) -> Quote:
    row = session.get(FxQuoteRecord, quote_id)
    if row is None:
        raise QuoteNotFound(f"no FX quote {quote_id!r}")
    return Quote.of(row)


def _refusal(quote: Quote, reference: str, now: dt.datetime) -> QuoteError | None:
    if quote.consumed_by is not None and quote.consumed_by != reference:
        return QuoteAlreadyUsed(f"FX quote {quote.id} was already used by {quote.consumed_by}")
    if quote.consumed_by is None and quote.is_expired(now):
        return QuoteExpired(
            f"FX quote {quote.id} expired at {quote.expires_at.isoformat()}; create a new quote"
        )
    return None


def use_quote(
    session: Session,
    quote_id: str,
    *,
    account_id: str,
    from_currency: str,
    to_currency: str,
    reference: str,
    now: dt.datetime | None = None,
) -> Quote:
    """Consume the quote for ``reference`` and return it (``quote.locked()`` for the rate)."""
    now = now or utcnow()
    quote = get_quote(session, quote_id)
    if quote.account_id != account_id:
        raise QuoteNotFound(f"no FX quote {quote_id!r} for account {account_id}")
    pair = (currency_code(from_currency), currency_code(to_currency))
    if (quote.from_currency, quote.to_currency) != pair:
        raise QuoteMismatch(
            f"FX quote {quote_id} is for {quote.from_currency}->{quote.to_currency}, "
            f"not {pair[0]}->{pair[1]}"
        )
    if (refusal := _refusal(quote, reference, now)) is not None:
        raise refusal
    if quote.consumed_by == reference:
        return quote
    result = session.execute(
        update(FxQuoteRecord)
        .where(FxQuoteRecord.id == quote_id)
        .where(FxQuoteRecord.consumed_at.is_(None))
        .where(FxQuoteRecord.expires_at > now)
        .values(consumed_at=now, consumed_by=reference)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # lost a race: say to whom
        session.expire_all()
        latest = get_quote(session, quote_id)
        raise _refusal(latest, reference, now) or QuoteAlreadyUsed(
            f"FX quote {quote_id} could not be used"
        )
    session.expire_all()
    return get_quote(session, quote_id)

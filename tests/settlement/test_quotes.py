"""FX quotes: a locked mid rate plus spread, single use, refused once expired."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from decimal import ROUND_DOWN, Context, Decimal

import pytest

from core.database import Database
from settlement.fx import (
    QuoteAlreadyUsed,
    QuoteError,
    QuoteExpired,
    QuoteMismatch,
    QuoteNotFound,
    RateNotFound,
    add_override,
    convert,
    create_quote,
    get_quote,
    use_quote,
)

NOW = dt.datetime(2024, 6, 14, 10, 0, tzinfo=dt.UTC)
TTL = dt.timedelta(minutes=15)


def make_quote(db: Database, **overrides: object):
    args = dict(
        account_id="acct_1",
        from_currency="JPY",
        to_currency="EUR",
        spread_ppm=5_000,
        ttl=TTL,
        now=NOW,
    )
    args.update(overrides)
    with db.transaction() as session:
        return create_quote(session, **args)  # type: ignore[arg-type]


def use(db: Database, quote_id: str, *, at: dt.datetime, reference: str = "pi_1", **kw: str):
    args = dict(account_id="acct_1", from_currency="JPY", to_currency="EUR")
    args.update(kw)
    with db.transaction() as session:
        return use_quote(session, quote_id, reference=reference, now=at, **args)


def test_quote_locks_mid_spread_and_all_in(db: Database) -> None:
    quote = make_quote(db)
    assert quote.id.startswith("fxq_")
    assert quote.mid_rate == Decimal("0.00595947556615018")  # 1/167.8 (ECB 2024-06-14)
    assert (quote.rate_source, quote.rate_as_of) == ("ecb", dt.date(2024, 6, 14))
    assert quote.spread_ppm == 5_000
    assert quote.all_in_rate == Context(prec=15, rounding=ROUND_DOWN).multiply(
        quote.mid_rate, Decimal("0.995")
    )
    assert quote.all_in_rate < quote.mid_rate
    assert quote.expires_at == NOW + TTL
    assert quote.consumed_at is None
    # Stored exactly: reading it back gives the same digits.
    with db.transaction() as session:
        assert get_quote(session, quote.id) == quote
    locked = quote.locked()
    assert (locked.mid, locked.quote_id) == (quote.mid_rate, quote.id)
    assert convert(12000, "JPY", "EUR", locked).quote_id == quote.id


def test_expired_quote_is_refused_with_a_clear_error(db: Database) -> None:
    quote = make_quote(db)
    with pytest.raises(QuoteExpired, match=f"{quote.id} expired at 2024-06-14T10:15:00"):
        use(db, quote.id, at=NOW + TTL)
    used = use(db, quote.id, at=NOW + TTL - dt.timedelta(seconds=1))
    assert used.consumed_by == "pi_1"
    assert used.consumed_at == NOW + TTL - dt.timedelta(seconds=1)


def test_quote_is_used_once_and_retries_are_idempotent(db: Database) -> None:
    quote = make_quote(db)
    first = use(db, quote.id, at=NOW + dt.timedelta(minutes=1))
    # A retry of the same payment gets the same lock back, even after expiry.
    again = use(db, quote.id, at=NOW + dt.timedelta(hours=2))
    assert again == first
    with pytest.raises(QuoteAlreadyUsed, match="already used by pi_1"):
        use(db, quote.id, at=NOW + dt.timedelta(minutes=2), reference="pi_2")


def test_quote_belongs_to_its_account_and_pair(db: Database) -> None:
    quote = make_quote(db)
    at = NOW + dt.timedelta(minutes=1)
    with pytest.raises(QuoteNotFound):
        use(db, quote.id, at=at, account_id="acct_2")
    with pytest.raises(QuoteMismatch, match="JPY->EUR, not JPY->USD"):
        use(db, quote.id, at=at, to_currency="USD")
    with pytest.raises(QuoteNotFound):
        use(db, "fxq_missing", at=at)


def test_quote_arguments_are_checked(db: Database) -> None:
    with pytest.raises(QuoteMismatch):
        make_quote(db, to_currency="JPY")
    with pytest.raises(QuoteError):
        make_quote(db, ttl=dt.timedelta(0))
    with pytest.raises(QuoteError):
        make_quote(db, ttl=dt.timedelta(days=2))
    with pytest.raises(ValueError):
        make_quote(db, spread_ppm=-1)
    with pytest.raises(RateNotFound, match="JPY/BHD"):
        make_quote(db, to_currency="BHD")


def test_quote_for_an_override_currency(db: Database) -> None:
    with db.transaction() as session:
        add_override(session, "EUR", "BHD", "0.4100", dt.date(2024, 1, 1))
    quote = make_quote(db, from_currency="EUR", to_currency="BHD", spread_ppm=0)
    assert quote.mid_rate == Decimal("0.4100") == quote.all_in_rate
    assert quote.rate_source == "override:treasury"


@pytest.mark.postgres
def test_concurrent_uses_of_one_quote_have_one_winner(db: Database) -> None:
    quote = make_quote(db)

    def attempt(reference: str) -> str:
        try:
            return use(db, quote.id, at=NOW + dt.timedelta(minutes=1), reference=reference).id
        except QuoteAlreadyUsed:
            return "refused"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, [f"pi_{n}" for n in range(16)]))
    assert outcomes.count(quote.id) == 1
    assert outcomes.count("refused") == 15

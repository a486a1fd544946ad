"""Resolving pairs: identity, inverses, crosses via EUR, overrides and their validity."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Context, Decimal

import pytest

from core.database import Database
from settlement.fx import EcbRates, RateBook, RateNotFound, add_override, default_rate_book
from settlement.fx.rates import RATE_DIGITS

FRIDAY = dt.date(2024, 6, 14)
RECORDED = Context(prec=RATE_DIGITS, rounding=ROUND_HALF_EVEN)
WORK = Context(prec=40, rounding=ROUND_HALF_EVEN)


@pytest.fixture(scope="module")
def ecb() -> EcbRates:
    return EcbRates.bundled()


def test_identity_published_and_inverse(ecb: EcbRates) -> None:
    book = RateBook([ecb])
    same = book.rate("jpy", "JPY", FRIDAY)
    assert (same.value, same.source) == (Decimal(1), "identity")

    published = book.rate("EUR", "JPY", FRIDAY)
    assert published.value == Decimal("167.8")
    assert (published.source, published.as_of, published.path) == ("ecb", FRIDAY, ("EUR", "JPY"))

    inverse = book.rate("JPY", "EUR", FRIDAY)
    # 1 / 167.8 to 15 significant digits, half-even: 0.005959475566150178784...
    assert inverse.value == Decimal("0.00595947556615018")
    assert inverse.value == RECORDED.divide(Decimal(1), Decimal("167.8"))
    assert inverse.as_of == FRIDAY


def test_cross_rate_via_eur_in_decimal(ecb: EcbRates) -> None:
    book = RateBook([ecb])
    rate = book.rate("JPY", "USD", dt.date(2024, 6, 16))  # a Sunday: Friday's fixing
    expected = RECORDED.plus(WORK.divide(Decimal("1.0686"), Decimal("167.8")))
    assert rate.value == expected == Decimal("0.00636829558998808")
    assert rate.path == ("JPY", "EUR", "USD")
    assert (rate.source, rate.as_of) == ("ecb", FRIDAY)

    back = book.rate("USD", "JPY", FRIDAY)
    assert back.value == RECORDED.plus(WORK.divide(Decimal("167.8"), Decimal("1.0686")))
    # Crossing back and forth lands within the recorded precision of 1.
    assert abs(rate.value * back.value - 1) < Decimal("1e-14")


def test_every_rate_in_a_listing_names_source_and_date(ecb: EcbRates) -> None:
    listing = RateBook([ecb]).rates("USD", FRIDAY)
    assert {"EUR", "JPY", "GBP", "CHF"} <= listing.keys()
    assert "USD" not in listing
    for quote, rate in listing.items():
        assert (rate.base, rate.quote) == ("USD", quote)
        assert rate.source == "ecb" and rate.as_of == FRIDAY


def test_missing_pair_is_a_clear_error_naming_it(ecb: EcbRates) -> None:
    with pytest.raises(RateNotFound) as caught:
        RateBook([ecb]).rate("EUR", "BHD", FRIDAY)
    assert "EUR/BHD" in str(caught.value) and "2024-06-14" in str(caught.value)
    assert (caught.value.base, caught.value.quote) == ("EUR", "BHD")


def test_override_wins_over_ecb_only_within_validity(db: Database, ecb: EcbRates) -> None:
    with db.transaction() as session:
        add_override(session, "EUR", "USD", "1.1000", dt.date(2024, 6, 10), dt.date(2024, 6, 17))
    with db.transaction() as session:
        book = default_rate_book(session)
        inside = book.rate("EUR", "USD", FRIDAY)
        assert inside.value == Decimal("1.1000")
        assert inside.source == "override:treasury"
        assert inside.as_of == dt.date(2024, 6, 10)
        # Crosses use the override for its leg.
        cross = book.rate("JPY", "USD", FRIDAY)
        assert cross.value == RECORDED.plus(WORK.divide(Decimal("1.1000"), Decimal("167.8")))
        assert cross.source == "ecb+override:treasury"
        # valid_to is exclusive: on the 17th the ECB is back; before valid_from too.
        assert book.rate("EUR", "USD", dt.date(2024, 6, 17)).value == Decimal("1.0712")
        assert book.rate("EUR", "USD", dt.date(2024, 6, 7)).source == "ecb"


def test_latest_override_in_force_wins_either_direction(db: Database) -> None:
    with db.transaction() as session:
        add_override(session, "EUR", "KWD", "0.3300", dt.date(2024, 1, 1), source="desk-a")
        add_override(session, "KWD", "EUR", "3.0000", dt.date(2024, 6, 1), source="desk-b")
        add_override(session, "EUR", "KWD", "0.3400", dt.date(2024, 7, 1), source="desk-c")
    with db.transaction() as session:
        book = default_rate_book(session)
        may = book.rate("EUR", "KWD", dt.date(2024, 5, 31))
        assert (may.value, may.source) == (Decimal("0.3300"), "override:desk-a")
        june = book.rate("EUR", "KWD", FRIDAY)
        assert june.source == "override:desk-b"
        assert june.value == RECORDED.divide(Decimal(1), Decimal("3.0000"))
        assert book.rate("KWD", "EUR", FRIDAY).value == Decimal("3.0000")
        assert book.rate("EUR", "KWD", dt.date(2024, 7, 1)).value == Decimal("0.3400")


def test_peg_against_usd_prices_bhd_against_anything(db: Database) -> None:
    with db.transaction() as session:
        add_override(session, "USD", "BHD", "0.376", dt.date(2024, 1, 1), source="cbb-peg")
    with db.transaction() as session:
        book = default_rate_book(session)
        bhd_jpy = book.rate("BHD", "JPY", FRIDAY)
        assert bhd_jpy.path == ("BHD", "USD", "EUR", "JPY")
        # BHD -> USD (1/0.376) -> EUR (1/1.0686) -> JPY (x167.8)
        expected = WORK.multiply(
            WORK.divide(WORK.divide(Decimal(1), Decimal("0.376")), Decimal("1.0686")),
            Decimal("167.8"),
        )
        assert bhd_jpy.value == RECORDED.plus(expected)
        assert bhd_jpy.source == "override:cbb-peg+ecb"
        assert bhd_jpy.as_of == dt.date(2024, 1, 1)  # the oldest input it rests on
        with pytest.raises(RateNotFound, match="BHD/EUR on 2023-12-31"):
            book.rate("BHD", "EUR", dt.date(2023, 12, 31))


def test_override_input_is_validated(db: Database) -> None:
    with db.transaction() as session:
        for args in [
            ("EUR", "EUR", "1"),
            ("EUR", "USD", "-1"),
            ("EUR", "USD", "0"),
            ("EUR", "USD", "abc"),
            ("EUR", "USD", 1.1),
        ]:
            with pytest.raises(ValueError):
                add_override(session, *args, valid_from=FRIDAY)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="valid_to"):
            add_override(session, "EUR", "USD", "1.1", FRIDAY, FRIDAY)

"""The ECB feed: parsing the bundled file in Decimal, and which fixing is in force on a date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from settlement.fx import EcbRates, RateBook, RateNotFound
from settlement.fx.ecb import EcbFileError, parse_ecb_csv

FRIDAY = dt.date(2024, 6, 14)


@pytest.fixture(scope="module")
def ecb() -> EcbRates:
    return EcbRates.bundled()


def by_quote(ecb: EcbRates, on: dt.date) -> dict[str, object]:
    return {rate.quote: rate for rate in ecb.published(on)}


def test_bundled_file_is_read_with_exact_decimals(ecb: EcbRates) -> None:
    rates = by_quote(ecb, FRIDAY)
    # The published strings of 2024-06-14, digit for digit (no float ever involved).
    assert rates["USD"].value == Decimal("1.0686")
    assert rates["JPY"].value == Decimal("167.8")
    assert rates["GBP"].value == Decimal("0.84205")
    assert str(rates["GBP"].value) == "0.84205"
    assert all(type(rate.value) is Decimal for rate in rates.values())
    assert {rate.base for rate in rates.values()} == {"EUR"}
    assert {rate.source for rate in rates.values()} == {"ecb"}
    assert ecb.first_date == dt.date(1999, 1, 4)


def test_weekend_and_holiday_use_the_latest_fixing_on_or_before(ecb: EcbRates) -> None:
    saturday, sunday = dt.date(2024, 6, 15), dt.date(2024, 6, 16)
    for day in (saturday, sunday):
        rates = by_quote(ecb, day)
        assert rates["JPY"].as_of == FRIDAY
        assert rates["JPY"].value == Decimal("167.8")
    # No fixing on 25 and 26 December: Christmas Eve's is in force.
    christmas = by_quote(ecb, dt.date(2024, 12, 26))
    assert christmas["USD"].as_of == dt.date(2024, 12, 24)
    assert christmas["USD"].value == Decimal("1.0395")
    # The next business day has its own fixing.
    assert by_quote(ecb, dt.date(2024, 6, 17))["JPY"].value == Decimal("169.11")


def test_currency_not_fixed_that_day_is_not_published(ecb: EcbRates) -> None:
    # Croatia joined the euro: HRK was last fixed on 2022-12-30 and is N/A afterwards;
    # we never reach back to an older fixing for it.
    assert by_quote(ecb, dt.date(2022, 12, 30))["HRK"].value == Decimal("7.5365")
    assert "HRK" not in by_quote(ecb, dt.date(2023, 1, 2))
    book = RateBook([ecb])
    with pytest.raises(RateNotFound, match="EUR/HRK on 2023-01-02"):
        book.rate("EUR", "HRK", dt.date(2023, 1, 2))


def test_no_rates_before_the_first_fixing(ecb: EcbRates) -> None:
    assert ecb.published(dt.date(1998, 12, 31)) == []
    with pytest.raises(RateNotFound, match="EUR/USD on 1998-12-31"):
        RateBook([ecb]).rate("EUR", "USD", dt.date(1998, 12, 31))


def test_max_age_refuses_a_stale_file() -> None:
    text = "Date,USD,JPY,\n2024-06-14,1.0686,167.8,\n2024-06-13,1.0784,169.58,\n"
    fresh = EcbRates.from_csv_text(text, max_age_days=4)
    assert fresh.fixing_date(dt.date(2024, 6, 18)) == FRIDAY
    assert fresh.fixing_date(dt.date(2024, 6, 19)) is None
    assert fresh.published(dt.date(2024, 6, 19)) == []
    assert EcbRates.from_csv_text(text).fixing_date(dt.date(2030, 1, 1)) == FRIDAY


def test_single_day_file_format_and_na_cells() -> None:
    text = "Date, USD, JPY, ISK, \n14 June 2024, 1.0686, 167.80, N/A, \n"
    fixings = parse_ecb_csv(text)
    assert fixings == {FRIDAY: {"USD": "1.0686", "JPY": "167.80"}}
    rates = {rate.quote: rate for rate in EcbRates(fixings).published(FRIDAY)}
    assert rates["JPY"].value == Decimal("167.80")


@pytest.mark.parametrize(
    "text",
    ["", "Currency,USD\n2024-06-14,1.0\n", "Date,USD,\nyesterday,1.0,\n", "Date,USD,\n"],
)
def test_malformed_files_are_refused(text: str) -> None:
    with pytest.raises(EcbFileError):
        EcbRates.from_csv_text(text)

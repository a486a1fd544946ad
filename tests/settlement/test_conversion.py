"""Conversions: exact value, one named rounding, and the remainder that is left."""

from __future__ import annotations

import datetime as dt
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
)

import pytest

from settlement.fx import ConversionError, LockedRate, Rate, convert


def test_jpy_to_eur_rounds_down_half_even_and_keeps_remainder() -> None:
    rate = Decimal("0.00595947556615018")
    conversion = convert(12000, "JPY", "EUR", rate)
    # 12000 x 0.00595947556615018 = 71.51370679380216 EUR = 7151.370679380216 cents
    assert conversion.exact == Decimal("7151.370679380216")
    assert conversion.amount_out == 7151
    assert conversion.remainder == Decimal("0.370679380216")
    assert conversion.remainder_major == Decimal("0.00370679380216")
    assert conversion.rounding == ROUND_HALF_EVEN
    assert conversion.amount_out + conversion.remainder == conversion.exact


def test_rounding_up_leaves_a_negative_remainder() -> None:
    # 10000 JPY at 1/167.8: 5959.47556615018 cents -> 5959 cents (down, remainder +0.476)
    rate = Decimal("0.00595947556615018")
    down = convert(10000, "JPY", "EUR", rate)
    assert (down.amount_out, down.remainder) == (5959, Decimal("0.47556615018"))
    # 9 JPY: 5.3635... cents; 11 JPY: 6.5554... cents -> rounds up, remainder negative
    up = convert(11, "JPY", "EUR", rate)
    assert up.amount_out == 7
    assert up.remainder == Decimal("6.55542312276519800") - 7
    assert up.remainder < 0


def test_named_modes_differ_only_where_they_should() -> None:
    rate = Decimal("1.005")  # 1 EUR -> 1.005 USD: 1.00 EUR = 100.5 cents, a tie
    results = {
        mode: convert(100, "EUR", "USD", rate, mode).amount_out
        for mode in (ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_DOWN, ROUND_UP, ROUND_CEILING)
    }
    assert results == {
        ROUND_HALF_EVEN: 100,
        ROUND_HALF_UP: 101,
        ROUND_DOWN: 100,
        ROUND_UP: 101,
        ROUND_CEILING: 101,
    }
    assert convert(100, "EUR", "USD", rate, ROUND_HALF_UP).remainder == Decimal("-0.5")
    assert convert(300, "EUR", "USD", rate).amount_out == 302  # 301.5 -> even 302


def test_eur_to_jpy_and_three_decimal_currencies() -> None:
    to_jpy = convert(7151, "EUR", "JPY", Decimal("167.8"))
    assert to_jpy.exact == Decimal("11999.378")  # 71.51 EUR x 167.8
    assert (to_jpy.amount_out, to_jpy.remainder) == (11999, Decimal("0.378"))

    # 100.00 EUR at 0.4105 BHD (3 decimals): 41.050 BHD = 41050 fils exactly
    exact = convert(10000, "EUR", "BHD", Decimal("0.4105"))
    assert (exact.amount_out, exact.remainder) == (41050, 0)
    # 1.234 KWD -> EUR at 3.2558: 4.0176572 EUR = 401.76572 cents -> 402, remainder -0.23428
    kwd = convert(1234, "KWD", "EUR", Decimal("3.2558"))
    assert (kwd.amount_out, kwd.remainder) == (402, Decimal("-0.23428"))
    # 12000 JPY -> KWD at 0.0019578: 23.4936 KWD = 23493.6 fils, rounded down
    jpy_kwd = convert(12000, "JPY", "KWD", Decimal("0.00195780000000000"), ROUND_DOWN)
    assert jpy_kwd.exact == Decimal("23493.6")
    assert (jpy_kwd.amount_out, jpy_kwd.remainder) == (23493, Decimal("0.6"))


def test_rate_objects_must_match_the_pair() -> None:
    rate = Rate("JPY", "EUR", Decimal("0.006"), "ecb", dt.date(2024, 6, 14))
    assert convert(1000, "JPY", "EUR", rate).amount_out == 600
    with pytest.raises(ConversionError, match="JPY/EUR rate cannot convert EUR to JPY"):
        convert(1000, "EUR", "JPY", rate)
    locked = LockedRate("JPY", "EUR", Decimal("0.006"), 0, "ecb", dt.date(2024, 6, 14), "fxq_1")
    assert convert(1000, "JPY", "EUR", locked).quote_id == "fxq_1"
    with pytest.raises(ConversionError):
        convert(1000, "JPY", "USD", locked)


@pytest.mark.parametrize(
    ("amount", "rate", "mode"),
    [
        (100, Decimal("0"), ROUND_HALF_EVEN),
        (100, Decimal("-1"), ROUND_HALF_EVEN),
        (100, Decimal("NaN"), ROUND_HALF_EVEN),
        (100, 1.1, ROUND_HALF_EVEN),
        (100, Decimal("1.1"), "ROUND_05UP"),
        (100, Decimal("1.1"), "nearest"),
    ],
)
def test_unusable_rates_and_modes_are_refused(amount: int, rate: object, mode: str) -> None:
    with pytest.raises(ConversionError):
        convert(amount, "EUR", "USD", rate, mode)  # type: ignore[arg-type]


def test_amounts_are_integers_and_currencies_real() -> None:
    with pytest.raises(ValueError):
        convert(10.5, "EUR", "USD", Decimal("1.1"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        convert(100, "EUR", "XXX", Decimal("1.1"))
    with pytest.raises(ConversionError):
        convert(100, "EUR", "EUR", Decimal("1.1"))
    assert convert(100, "EUR", "EUR", Decimal(1)).amount_out == 100

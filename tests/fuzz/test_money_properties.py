"""Properties of money at the edges (``core/money.py``), for every ISO 4217 currency.

Integer minor units and decimal major units must convert both ways exactly, and anything
that does not fit (too many decimals, too large, not a number) must be refused with
``AmountError``/``CurrencyError``, never rounded and never let another exception out.
"""

from __future__ import annotations

import os
from decimal import Decimal
from fractions import Fraction

import moneyed
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.money import (
    MAX_MINOR_AMOUNT,
    AmountError,
    CurrencyError,
    check_minor,
    currency_code,
    exponent,
    from_minor,
    parse_major,
    to_minor,
)

EXAMPLES = 2000 if os.environ.get("CORRIDOR_TEST_FULL") == "1" else 200
PROPERTY = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _transactable() -> list[str]:
    codes = []
    for currency in moneyed.list_all_currencies():
        try:
            codes.append(currency_code(currency.code))
        except CurrencyError:
            continue
    return sorted(codes)


CODES = _transactable()
currencies = st.sampled_from(CODES)
minor_amounts = st.integers(min_value=-MAX_MINOR_AMOUNT, max_value=MAX_MINOR_AMOUNT)


def test_the_currency_table_is_real() -> None:
    assert {"EUR", "USD", "JPY", "BHD", "KWD", "CHF"} <= set(CODES)
    assert (exponent("JPY"), exponent("USD"), exponent("BHD")) == (0, 2, 3)


@PROPERTY
@given(amount=minor_amounts, code=currencies)
def test_minor_to_major_and_back_is_exact(amount: int, code: str) -> None:
    assert to_minor(from_minor(amount, code)) == (amount, code)


@PROPERTY
@given(amount=minor_amounts, code=currencies)
def test_major_text_parses_back_to_the_same_minor_amount(amount: int, code: str) -> None:
    text = format(Decimal(amount).scaleb(-exponent(code)), "f")
    assert parse_major(text, code) == amount
    assert parse_major(f"{text}{'0' * 3}" if "." in text else text, code) == amount


@PROPERTY
@given(
    amount=st.integers(min_value=0, max_value=10**12),
    extra=st.integers(min_value=1, max_value=9),
    zeros=st.integers(min_value=0, max_value=40),
    code=currencies,
)
@example(amount=100, extra=1, zeros=26, code="EUR")  # 29 significant digits
def test_a_decimal_beyond_the_minor_unit_is_refused_not_rounded(
    amount: int, extra: int, zeros: int, code: str
) -> None:
    major = format(Decimal(amount).scaleb(-exponent(code)), "f")
    if "." not in major:
        major += "."
    text = f"{major}{'0' * zeros}{extra}"
    with pytest.raises(AmountError):
        parse_major(text, code)


@pytest.mark.parametrize(
    "text",
    ["1e999999", "1E+999999999999999999", "9" * 40, "1e-1000000000", "-1e-999999", "1e19"],
)
def test_extreme_exponents_are_refused_with_amount_error(text: str) -> None:
    with pytest.raises(AmountError):
        parse_major(text, "EUR")


@PROPERTY
@given(text=st.text(max_size=40), code=st.text(max_size=4))
@example(text="NaN", code="EUR")
@example(text="Infinity", code="USD")
@example(text="1e999999", code="EUR")
def test_parsing_any_text_raises_only_money_errors(text: str, code: str) -> None:
    try:
        minor = parse_major(text, code)
    except (AmountError, CurrencyError):
        return
    assert check_minor(minor) == minor
    assert Decimal(text) == from_minor(minor, code).amount


@PROPERTY
@given(text=st.from_regex(r"\A[+-]?[0-9]{1,22}(\.[0-9]{0,6})?\Z"), code=currencies)
def test_plain_decimal_text_is_exact_or_refused(text: str, code: str) -> None:
    exact = Fraction(Decimal(text)) * 10 ** exponent(code)
    fits = exact.denominator == 1 and abs(exact) <= MAX_MINOR_AMOUNT
    if not fits:
        with pytest.raises(AmountError):
            parse_major(text, code)
        return
    assert parse_major(text, code) == int(exact)


@PROPERTY
@given(code=st.text(max_size=5))
def test_currency_codes_are_iso_or_refused(code: str) -> None:
    try:
        upper = currency_code(code)
    except CurrencyError:
        return
    assert upper in CODES and upper == code.upper() and len(upper) == 3


@pytest.mark.parametrize("value", [True, False, 1.0, Decimal(1), "1", None, 2**63, -(2**63)])
def test_check_minor_refuses_what_is_not_a_64_bit_int(value: object) -> None:
    with pytest.raises(AmountError):
        check_minor(value)  # type: ignore[arg-type]

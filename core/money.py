"""Money at the edges: integer minor units plus an ISO 4217 code.

The database and the API only ever see ``(int, "EUR")``. Inside a domain a
:class:`moneyed.Money` (Decimal) is fine. This module is the one place that converts
between the two, and it refuses anything that does not fit the currency's exponent
instead of rounding silently: a rounding must be explicit and booked by its caller.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

import moneyed
from moneyed import Money

MAX_MINOR_AMOUNT: Final = 2**63 - 1
"""The largest amount a ledger column (signed 64-bit) can hold."""

# ISO 4217 codes whose minor unit is "N.A.": precious metals, bond units, SDR,
# testing and "no currency". They are not money we can move.
_NOT_TRANSACTABLE: Final = frozenset(
    {"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"}
)


class CurrencyError(ValueError):
    """An unknown or non-transactable currency code."""


class AmountError(ValueError):
    """An amount that is not a whole number of the currency's minor unit, or too large."""


def currency_code(code: str) -> str:
    """Validate an ISO 4217 code (any case) and return it upper-case."""
    if not isinstance(code, str) or len(code) != 3 or not code.isalpha() or not code.isascii():
        raise CurrencyError(f"{code!r} is not an ISO 4217 currency code")
    upper = code.upper()
    if upper in _NOT_TRANSACTABLE:
        raise CurrencyError(f"{upper} is not a transactable currency")
    try:
        moneyed.get_currency(upper)
    except moneyed.CurrencyDoesNotExist as exc:
        raise CurrencyError(f"{upper} is not an ISO 4217 currency code") from exc
    return upper


def exponent(code: str) -> int:
    """Number of decimal places of the currency's minor unit (JPY 0, USD 2, BHD 3)."""
    sub_unit = moneyed.get_currency(currency_code(code)).sub_unit
    digits = len(str(sub_unit)) - 1
    if 10**digits != sub_unit:  # pragma: no cover - ISO data is decimal
        raise CurrencyError(f"{code} has a non-decimal minor unit")
    return digits


def check_minor(amount: int) -> int:
    """Refuse non-integers (bool and float included) and amounts beyond 64 bits."""
    if type(amount) is not int:
        raise AmountError(f"amount must be an integer number of minor units, got {amount!r}")
    if not -MAX_MINOR_AMOUNT <= amount <= MAX_MINOR_AMOUNT:
        raise AmountError(f"amount {amount} does not fit in 64 bits")
    return amount


def _exact_minor(amount: Decimal, code: str) -> int:
    """``amount`` (major units) as minor units, by integer arithmetic alone.

    ``Decimal.scaleb`` rounds to the context's 28 digits, so ``1.00000000000000000000000000001``
    would have become 100 and ``1e-1000000000`` zero; digits are therefore shifted exactly,
    and sizes are bounded before any power of ten is built.
    """
    if not amount.is_finite():
        raise AmountError(f"{amount} is not a finite amount")
    sign, digits, exp = amount.as_tuple()
    assert isinstance(exp, int)
    coefficient = int("".join(map(str, digits)) or "0")
    if coefficient == 0:
        return 0
    shift = exp + exponent(code)
    while coefficient % 10 == 0:
        coefficient //= 10
        shift += 1
    if shift < 0:
        raise AmountError(f"{amount} {code} has more decimals than {code}'s minor unit allows")
    if len(str(coefficient)) + shift > len(str(MAX_MINOR_AMOUNT)):
        raise AmountError(f"amount {amount} {code} does not fit in 64 bits")
    return check_minor(-coefficient * 10**shift if sign else coefficient * 10**shift)


def to_minor(money: Money) -> tuple[int, str]:
    """``Money(Decimal('12.34'), 'EUR')`` -> ``(1234, 'EUR')``; refuses ``12.345 EUR``."""
    code = currency_code(money.currency.code)
    return _exact_minor(Decimal(money.amount), code), code


def from_minor(amount: int, code: str) -> Money:
    """``(1234, 'EUR')`` -> ``Money(Decimal('12.34'), 'EUR')``, exactly."""
    code = currency_code(code)
    check_minor(amount)
    return Money(Decimal(amount).scaleb(-exponent(code)), code)


def parse_major(text: str, code: str) -> int:
    """A decimal string in major units ("12.34") to minor units, refusing excess decimals."""
    try:
        value = Decimal(text)
    except Exception as exc:  # decimal.InvalidOperation
        raise AmountError(f"{text!r} is not a decimal amount") from exc
    if not value.is_finite():
        raise AmountError(f"{text!r} is not a finite amount")
    return to_minor(Money(value, currency_code(code)))[0]

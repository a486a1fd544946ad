"""Card numbers: validation, brand, fingerprint — pure functions, no storage.

A checkout sends a raw card (number, expiry, CVC) once; everything Corridor keeps
afterwards is derived here (brand, last4, a fingerprint) plus an encrypted copy of
the number in the vault. The checks follow what Stripe reports for the same input,
so a client already written against Stripe sees the same error codes:
``incorrect_number`` (fails the Luhn check), ``invalid_number`` (wrong length or
characters for the brand), ``invalid_expiry_month``, ``invalid_expiry_year`` and
``invalid_cvc``.

Brand detection uses the card networks' published IIN ranges and Stripe's brand
strings (``visa``, ``mastercard``, ``amex``, ``discover``, ``diners``, ``jcb``,
``unionpay``, ``unknown``). Issuing country and funding come from the BIN table
(:mod:`payments.bins`), which is data, not code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Final, Literal

from stdnum import luhn

Brand = Literal["visa", "mastercard", "amex", "discover", "diners", "jcb", "unionpay", "unknown"]

# (first digits low, first digits high inclusive, brand). Ranges are compared on the
# same number of leading digits; the longest matching range wins, so a narrow range
# (e.g. 3528-3589 JCB) is never shadowed by a wider one.
_IIN_RANGES: Final[tuple[tuple[str, str, Brand], ...]] = (
    ("4", "4", "visa"),
    ("51", "55", "mastercard"),
    ("2221", "2720", "mastercard"),
    ("34", "34", "amex"),
    ("37", "37", "amex"),
    ("6011", "6011", "discover"),
    ("644", "649", "discover"),
    ("65", "65", "discover"),
    ("300", "305", "diners"),
    ("309", "309", "diners"),
    ("36", "36", "diners"),
    ("38", "39", "diners"),
    ("3528", "3589", "jcb"),
    ("62", "62", "unionpay"),
    ("81", "81", "unionpay"),
)

# Valid PAN lengths per brand (ISO/IEC 7812 caps any PAN at 19 digits).
_LENGTHS: Final[dict[Brand, frozenset[int]]] = {
    "visa": frozenset({13, 16, 19}),
    "mastercard": frozenset({16}),
    "amex": frozenset({15}),
    "discover": frozenset({16, 17, 18, 19}),
    "diners": frozenset({14, 15, 16, 17, 18, 19}),
    "jcb": frozenset({16, 17, 18, 19}),
    "unionpay": frozenset({16, 17, 18, 19}),
    "unknown": frozenset(range(12, 20)),
}

_CVC_LENGTHS: Final[dict[Brand, frozenset[int]]] = {
    "amex": frozenset({4}),
}
_DEFAULT_CVC_LENGTHS: Final = frozenset({3})

MAX_YEARS_AHEAD: Final = 50
"""Expiry years further ahead than this are typos, not cards."""


class CardValidationError(ValueError):
    """A card detail that a processor would refuse; ``code`` is Stripe's error code."""

    def __init__(self, code: str, field_name: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field_name
        self.message = message

    @property
    def param(self) -> str:
        """The request parameter in Stripe's spelling, e.g. ``card[number]``."""
        return f"card[{self.field}]"


def normalise_number(number: str) -> str:
    """Strip the spaces and dashes people type; refuse anything else that is not a digit."""
    if not isinstance(number, str):
        raise CardValidationError("invalid_number", "number", "The card number must be a string.")
    digits = number.replace(" ", "").replace("-", "")
    if not digits.isascii() or not digits.isdigit():
        raise CardValidationError(
            "invalid_number", "number", "The card number is not a valid credit card number."
        )
    return digits


def detect_brand(number: str) -> Brand:
    """Brand from the leading digits (works on a partial number, as a form types it)."""
    digits = normalise_number(number)
    best: Brand = "unknown"
    best_len = 0
    for low, high, brand in _IIN_RANGES:
        width = len(low)
        if len(digits) < width or width <= best_len:
            continue
        if low <= digits[:width] <= high:
            best, best_len = brand, width
    return best


def luhn_valid(number: str) -> bool:
    return luhn.is_valid(normalise_number(number))


def check_number(number: str) -> tuple[str, Brand]:
    """Validate a PAN; returns the bare digits and the brand, or raises."""
    digits = normalise_number(number)
    brand = detect_brand(digits)
    if len(digits) not in _LENGTHS[brand]:
        raise CardValidationError(
            "invalid_number", "number", "The card number is not a valid credit card number."
        )
    if not luhn.is_valid(digits):
        raise CardValidationError("incorrect_number", "number", "Your card number is incorrect.")
    return digits, brand


def normalise_exp_year(exp_year: int) -> int:
    """Stripe accepts two- or four-digit years; two digits mean 20YY."""
    if type(exp_year) is not int:
        raise CardValidationError(
            "invalid_expiry_year", "exp_year", "Your card's expiration year is invalid."
        )
    if 0 <= exp_year <= 99:
        return 2000 + exp_year
    return exp_year


def check_expiry(exp_month: int, exp_year: int, today: dt.date) -> tuple[int, int]:
    """Validate the expiry against ``today``; a card is valid through the end of its month."""
    if type(exp_month) is not int or not 1 <= exp_month <= 12:
        raise CardValidationError(
            "invalid_expiry_month", "exp_month", "Your card's expiration month is invalid."
        )
    year = normalise_exp_year(exp_year)
    if year < today.year:
        raise CardValidationError(
            "invalid_expiry_year", "exp_year", "Your card's expiration year is in the past."
        )
    if year > today.year + MAX_YEARS_AHEAD:
        raise CardValidationError(
            "invalid_expiry_year", "exp_year", "Your card's expiration year is invalid."
        )
    if year == today.year and exp_month < today.month:
        raise CardValidationError(
            "invalid_expiry_month", "exp_month", "Your card's expiration date is in the past."
        )
    return exp_month, year


def is_expired(exp_month: int, exp_year: int, today: dt.date) -> bool:
    """True once the month after the expiry month has begun."""
    year = normalise_exp_year(exp_year)
    return (year, exp_month) < (today.year, today.month)


def check_cvc(cvc: str, brand: Brand) -> str:
    """CVC length by brand (4 for Amex, 3 otherwise). The CVC is checked, never stored."""
    if not isinstance(cvc, str) or not cvc.isascii() or not cvc.isdigit():
        raise CardValidationError("invalid_cvc", "cvc", "Your card's security code is invalid.")
    if len(cvc) not in _CVC_LENGTHS.get(brand, _DEFAULT_CVC_LENGTHS):
        raise CardValidationError("invalid_cvc", "cvc", "Your card's security code is invalid.")
    return cvc


def last4(number: str) -> str:
    return normalise_number(number)[-4:]


def fingerprint(number: str, key: bytes) -> str:
    """A stable, non-reversible identifier of a card number for this platform.

    HMAC-SHA256 under the platform's fingerprint key (a keyed hash, so the 10^15-ish
    space of valid PANs cannot be enumerated offline). Same number, same fingerprint,
    whatever the expiry; 16 base62 characters like Stripe's.
    """
    if len(key) < 16:
        raise ValueError("the fingerprint key must be at least 16 bytes")
    digest = hmac.new(key, b"card:" + normalise_number(number).encode(), hashlib.sha256).digest()
    return _base62(digest)[:16]


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(data: bytes) -> str:
    value = int.from_bytes(data, "big")
    out = []
    while value:
        value, rem = divmod(value, 62)
        out.append(_BASE62[rem])
    return "".join(reversed(out)).rjust(43, "0")


@dataclass(frozen=True)
class ValidatedCard:
    """A card that passed every check. ``number`` is the PAN: vault it, never log it."""

    number: str = field(repr=False)
    brand: Brand
    exp_month: int
    exp_year: int

    @property
    def last4(self) -> str:
        return self.number[-4:]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4} {self.exp_month:02d}/{self.exp_year}"


def validate_card(
    number: str, exp_month: int, exp_year: int, cvc: str | None, *, today: dt.date
) -> ValidatedCard:
    """All checks a ``POST /v1/payment_methods`` with ``type=card`` runs, in Stripe's order.

    ``cvc`` is optional (Stripe only checks it when given) and is not kept.
    """
    digits, brand = check_number(number)
    month, year = check_expiry(exp_month, exp_year, today)
    if cvc is not None:
        check_cvc(cvc, brand)
    return ValidatedCard(number=digits, brand=brand, exp_month=month, exp_year=year)

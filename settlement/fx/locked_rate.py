"""The rate a conversion is held to: a mid rate plus the spread the account pays.

A quote (``POST /v1/fx_quotes``) or an implicit quote taken at capture locks a
:class:`LockedRate`. The conversion itself uses the **mid** rate; the spread is charged
as an explicit ``fx_fee`` line (``spread_ppm`` of the converted amount, see
:mod:`settlement.fees.compute`) and booked to ``platform_fees``, so that the
BalanceTransaction's ``exchange_rate`` is the reference rate and the platform's FX
revenue is visible as a fee rather than hidden in the rate.

``all_in`` is the same economics expressed as one rate (what 1 unit of ``base`` buys
after the spread), for display: ``mid * (1 - spread_ppm / 1e6)``, rounded *down* to the
recorded precision so a displayed rate never promises more than the spread allows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_DOWN, Context, Decimal
from typing import Final

from core.money import currency_code
from settlement.fx.rates import RATE_DIGITS, Rate, working_context

PPM: Final = 1_000_000
"""Parts per million: 1 basis point = 100 ppm, 2.9 % = 29_000 ppm."""

ALL_IN_ROUNDING: Final = ROUND_DOWN
_ALL_IN: Final = Context(prec=RATE_DIGITS, rounding=ALL_IN_ROUNDING)


def check_ppm(value: int, name: str) -> int:
    """A fraction in parts per million, from 0 to 100 %."""
    if type(value) is not int or not 0 <= value <= PPM:
        raise ValueError(f"{name} must be an integer number of ppm between 0 and {PPM}")
    return value


@dataclass(frozen=True, slots=True)
class LockedRate:
    """1 ``base`` = ``mid`` ``quote``, with ``spread_ppm`` charged on the converted amount."""

    base: str
    quote: str
    mid: Decimal
    spread_ppm: int
    source: str
    as_of: dt.date
    quote_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "base", currency_code(self.base))
        object.__setattr__(self, "quote", currency_code(self.quote))
        if not isinstance(self.mid, Decimal) or not self.mid.is_finite() or self.mid <= 0:
            raise ValueError("a locked rate needs a positive Decimal mid rate")
        check_ppm(self.spread_ppm, "spread_ppm")

    @classmethod
    def implicit(cls, rate: Rate, spread_ppm: int) -> LockedRate:
        """Lock a looked-up rate at the moment of use (no quote object)."""
        return cls(rate.base, rate.quote, rate.value, spread_ppm, rate.source, rate.as_of)

    @property
    def all_in(self) -> Decimal:
        factor = working_context().divide(Decimal(PPM - self.spread_ppm), Decimal(PPM))
        return _ALL_IN.multiply(self.mid, factor)

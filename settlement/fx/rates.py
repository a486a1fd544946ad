"""Exchange rates: the value type, the two small interfaces, and the stated precision.

A :class:`Rate` says "1 ``base`` = ``value`` ``quote``" (ISO 4217 codes), which is
also the convention of a Stripe BalanceTransaction's ``exchange_rate``: amount in the
base currency times the rate is the amount in the quote currency. Every rate carries
where it came from (``source``) and the date of the fixing it rests on (``as_of``),
so a conversion can always be traced back to a published number.

Two interfaces keep providers and consumers apart:

* a :class:`RateFeed` publishes the pairs it knows on a date (the ECB file, the
  treasury's override table, or any future provider);
* a :class:`RateSource` answers any pair on a date (``RateBook`` derives inverses and
  cross rates from feeds), and is what quotes, captures and the API depend on.

Precision: published rates are kept exactly as published. A derived rate (an inverse,
a cross through EUR or another pivot, a rate with a spread applied) is computed with
``DERIVATION_DIGITS`` significant digits and rounded once, at the end, to
``RATE_DIGITS`` significant digits with ``RATE_ROUNDING``. The rounded value is the
rate that is recorded and used, so a conversion is reproducible from its stored rate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, Inexact, InvalidOperation, Overflow
from typing import Final, Protocol, runtime_checkable

from core.money import currency_code

RATE_DIGITS: Final = 15
"""Significant digits of every derived rate (ECB publishes at most six)."""

RATE_ROUNDING: Final = ROUND_HALF_EVEN
"""Rounding of a derived rate to ``RATE_DIGITS`` significant digits."""

DERIVATION_DIGITS: Final = 40
"""Working precision while multiplying or dividing rates along a path."""

EXACT_DIGITS: Final = 120
"""Precision of money arithmetic that must be exact (amount x rate, remainder sums)."""

_WORKING: Final = Context(prec=DERIVATION_DIGITS, rounding=ROUND_HALF_EVEN)
_RECORDED: Final = Context(prec=RATE_DIGITS, rounding=RATE_ROUNDING)
_EXACT: Final = Context(prec=EXACT_DIGITS, traps=[Inexact, InvalidOperation, Overflow])


def working_context() -> Context:
    """The decimal context for intermediate rate arithmetic (a copy, safe to mutate)."""
    return _WORKING.copy()


def exact_context() -> Context:
    """A context that raises :class:`decimal.Inexact` rather than round: for money."""
    return _EXACT.copy()


def round_rate(value: Decimal) -> Decimal:
    """Round a derived rate to the recorded precision (``RATE_DIGITS``, ``RATE_ROUNDING``)."""
    return _RECORDED.plus(value)


class RateNotFound(LookupError):
    """No rate for a currency pair on a date; the message names the pair and the date."""

    def __init__(self, base: str, quote: str, on: dt.date, detail: str = "") -> None:
        self.base, self.quote, self.on = base, quote, on
        message = f"no exchange rate for {base}/{quote} on {on.isoformat()}"
        super().__init__(f"{message}: {detail}" if detail else message)


@dataclass(frozen=True, slots=True)
class Rate:
    """1 ``base`` = ``value`` ``quote``, from ``source``, resting on the fixing of ``as_of``.

    ``path`` lists the currencies a derived rate went through (``("JPY", "EUR", "USD")``
    for a cross via EUR); a published or inverted rate has the two-element path.
    """

    base: str
    quote: str
    value: Decimal
    source: str
    as_of: dt.date
    path: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "base", currency_code(self.base))
        object.__setattr__(self, "quote", currency_code(self.quote))
        if not isinstance(self.value, Decimal) or not self.value.is_finite() or self.value <= 0:
            raise ValueError(f"rate {self.base}/{self.quote} must be a positive Decimal")
        if not self.source:
            raise ValueError("a rate must name its source")
        if not self.path:
            object.__setattr__(self, "path", (self.base, self.quote))

    def inverse(self) -> Rate:
        """The same fixing seen from the other side, rounded to the recorded precision."""
        return Rate(
            base=self.quote,
            quote=self.base,
            value=round_rate(_WORKING.divide(Decimal(1), self.value)),
            source=self.source,
            as_of=self.as_of,
            path=tuple(reversed(self.path)),
        )


@runtime_checkable
class RateFeed(Protocol):
    """A provider of published rates: what it quotes itself, nothing derived."""

    def published(self, on: dt.date) -> Sequence[Rate]:
        """Every pair this feed publishes that is in force on ``on`` (one rate per pair)."""
        ...


@runtime_checkable
class RateSource(Protocol):
    """Anything that prices a currency pair on a date."""

    def rate(self, base: str, quote: str, on: dt.date) -> Rate:
        """The rate for ``base``/``quote`` on ``on``; raises :class:`RateNotFound`."""
        ...

"""Converting an amount in minor units to another currency, with a named rounding.

``convert(amount, "JPY", "EUR", rate, rounding=ROUND_HALF_EVEN)`` computes the exact
value of the amount at the rate, in the target currency's minor units::

    exact = amount * rate * 10 ** (exponent(target) - exponent(source))

exactly (decimal arithmetic that raises rather than rounds), then rounds it once, with
the named mode, to a whole number of target minor units. The remainder
``exact - amount_out`` is strictly less than one minor unit (in ``[0, 1)`` for
``ROUND_DOWN`` of a positive amount, within ``[-0.5, 0.5]`` for the half modes) and is
returned exactly; nothing is dropped.

How a conversion is booked so that every ledger currency balances to the minor unit
and every fraction is accounted for (source currency S, target T, rounded amount A,
remainder r)::

    S:  debit psp_clearing(S)  credit fx_position(S)   gross      (full gross, exact)
    T:  debit fx_position(T)   credit merchant_pending / platform_fees ... A in total
    T:  the remainder r is carried on fx_rounding(T): see settlement.fx.rounding.
        Whole units that the running residual sheds move between fx_position(T) and
        fx_rounding(T) (credit fx_rounding when rounding kept value for the platform);
        the sub-unit residual is stored next to the ledger in fx_rounding_residuals.

Each transfer is single-currency, so S and T balance on their own; the cross-currency
link is the rate and quote id recorded on the journal. Per currency T, exactly:
``sum(A) + sum(units) + residual_after - residual_before == sum(exact)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    Inexact,
)
from typing import Final

from core.money import check_minor, currency_code, exponent
from settlement.fx.locked_rate import LockedRate
from settlement.fx.rates import Rate, exact_context

ROUNDING_MODES: Final = frozenset(
    {
        ROUND_HALF_EVEN,
        ROUND_HALF_UP,
        ROUND_HALF_DOWN,
        ROUND_DOWN,
        ROUND_UP,
        ROUND_FLOOR,
        ROUND_CEILING,
    }
)
"""The :mod:`decimal` mode names a conversion may use (``ROUND_05UP`` is not money rounding)."""


class ConversionError(ValueError):
    """A conversion that cannot be made as asked (wrong pair, unusable rate or mode)."""


@dataclass(frozen=True, slots=True)
class Conversion:
    """``amount_in`` ``from_currency`` became ``amount_out`` ``to_currency`` at ``rate``.

    ``exact`` and ``remainder`` are in the target's minor units:
    ``amount_out + remainder == exact`` holds exactly.
    """

    amount_in: int
    from_currency: str
    amount_out: int
    to_currency: str
    rate: Decimal
    rounding: str
    exact: Decimal
    remainder: Decimal
    quote_id: str | None = None

    @property
    def remainder_major(self) -> Decimal:
        """The remainder in the target currency's major unit (e.g. ``0.0037 EUR``)."""
        return self.remainder.scaleb(-exponent(self.to_currency))


def check_rounding(mode: str) -> str:
    if mode not in ROUNDING_MODES:
        raise ConversionError(
            f"unknown rounding mode {mode!r}; use one of {sorted(ROUNDING_MODES)}"
        )
    return mode


def _rate_value(
    rate: Decimal | Rate | LockedRate, from_currency: str, to_currency: str
) -> tuple[Decimal, str | None]:
    if isinstance(rate, Rate | LockedRate):
        if (rate.base, rate.quote) != (from_currency, to_currency):
            raise ConversionError(
                f"a {rate.base}/{rate.quote} rate cannot convert {from_currency} to {to_currency}"
            )
        if isinstance(rate, LockedRate):
            return rate.mid, rate.quote_id
        return rate.value, None
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
        raise ConversionError(f"rate must be a positive Decimal, got {rate!r}")
    if from_currency == to_currency and rate != 1:
        raise ConversionError(f"converting {from_currency} to itself needs rate 1, got {rate}")
    return rate, None


def exact_value(amount_minor: int, from_currency: str, to_currency: str, rate: Decimal) -> Decimal:
    """``amount_minor`` at ``rate``, in ``to_currency`` minor units, without any rounding."""
    check_minor(amount_minor)
    shift = exponent(to_currency) - exponent(from_currency)
    context = exact_context()
    try:
        return context.multiply(Decimal(amount_minor), rate).scaleb(shift, context)
    except Inexact as exc:  # pragma: no cover - needs a rate of ~100 significant digits
        raise ConversionError(f"rate {rate} has too many digits to convert exactly") from exc


def convert(
    amount_minor: int,
    from_currency: str,
    to_currency: str,
    rate: Decimal | Rate | LockedRate,
    rounding: str = ROUND_HALF_EVEN,
    *,
    quote_id: str | None = None,
) -> Conversion:
    """Convert and round once with ``rounding``; the exact remainder comes back with it.

    ``rate`` is 1 ``from_currency`` in ``to_currency``: a bare ``Decimal``, a looked-up
    :class:`Rate` or a :class:`LockedRate` (whose mid rate and quote id are used).
    """
    from_currency, to_currency = currency_code(from_currency), currency_code(to_currency)
    check_rounding(rounding)
    value, locked_quote = _rate_value(rate, from_currency, to_currency)
    exact = exact_value(amount_minor, from_currency, to_currency, value)
    context = exact_context()
    amount_out = check_minor(int(exact.to_integral_value(rounding=rounding, context=context)))
    return Conversion(
        amount_in=amount_minor,
        from_currency=from_currency,
        amount_out=amount_out,
        to_currency=to_currency,
        rate=value,
        rounding=rounding,
        exact=exact,
        remainder=context.subtract(exact, Decimal(amount_out)),
        quote_id=quote_id if quote_id is not None else locked_quote,
    )

"""Booking the sub-minor remainder of conversions to ``fx_rounding``, in whole minor units.

A conversion's remainder (``exact - rounded``, see :mod:`settlement.fx.conversion`) is
a fraction of one minor unit; a ledger account can only hold whole ones. So
``fx_rounding`` in each currency is the sum of two exact parts:

* its **ledger balance**: whole minor units moved between ``fx_position(T)`` and
  ``fx_rounding(T)`` when the accumulated remainders cross a whole unit;
* a **residual**, ``-1 < residual < 1`` minor unit, kept per currency next to the ledger
  (``fx_rounding_residuals``) and updated in the same transaction as the postings.

For each conversion into ``T`` with remainder ``r``::

    carried = residual_before + r
    units   = carried truncated toward zero            (an integer, usually 0)
    residual_after = carried - units                   (still strictly within one unit)

``units > 0`` (rounding kept value for the platform) debits ``fx_position(T)`` and
credits ``fx_rounding(T)`` by ``units``; ``units < 0`` the other way round. The
invariant, exact at every moment and checked by the tests:

    ledger credit balance of fx_rounding(T) + residual(T) == sum of all remainders into T

and therefore ``fx_position(T)``'s debits equal the exact (unrounded) value of every
conversion into ``T`` less the residual: the FX position tracks the rates to within one
minor unit in total, not one unit per payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from core.money import currency_code
from settlement.fx.rates import exact_context


@dataclass(frozen=True, slots=True)
class RoundingCarry:
    """One conversion's remainder carried into the running residual of ``currency``."""

    currency: str
    remainder: Decimal
    residual_before: Decimal
    units: int
    residual_after: Decimal


def check_residual(residual: Decimal) -> Decimal:
    if not isinstance(residual, Decimal) or not residual.is_finite() or not -1 < residual < 1:
        raise ValueError(f"a rounding residual lies strictly within one minor unit: {residual!r}")
    return residual


def carry(currency: str, residual_before: Decimal, remainder: Decimal) -> RoundingCarry:
    """Add ``remainder`` (minor units) to the residual; whole units leave it for the ledger.

    A conversion's remainder is within one unit; a refund's (the difference of two
    cumulative remainders) within two. Either way the residual after stays within one.
    """
    check_residual(residual_before)
    if not isinstance(remainder, Decimal) or not remainder.is_finite():
        raise ValueError(f"a remainder is a finite Decimal: {remainder!r}")
    exact = exact_context()
    carried = exact.add(residual_before, remainder)
    units = int(carried.to_integral_value(rounding=ROUND_DOWN, context=exact))
    return RoundingCarry(
        currency=currency_code(currency),
        remainder=remainder,
        residual_before=residual_before,
        units=units,
        residual_after=exact.subtract(carried, Decimal(units)),
    )

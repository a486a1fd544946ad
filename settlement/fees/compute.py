"""Fee arithmetic: integers only, one stated rounding, itemised like Stripe's ``fee_details``.

Every percentage component is computed on the gross amount in the **settlement**
currency (after conversion) and rounded **half up** to that currency's minor unit,
each line on its own::

    line = (amount * ppm + 500_000) // 1_000_000        (amount >= 0)

The fixed fee joins the percentage in the ``corridor_fee`` line (Stripe shows its
processing fee the same way). The cross-border surcharge applies when the card was
issued in another country than the account's; the FX fee when the payment was
converted (its ppm is the spread locked by the quote). If the lines add up to less than
the schedule's minimum for the currency, the ``corridor_fee`` line is raised to reach it.
The total fee is the sum of the lines, so ``fee_details`` always adds up to ``fee``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP
from enum import StrEnum
from typing import Any, Final

from core.money import check_minor, currency_code
from settlement.fees.schedule import FeeSchedule
from settlement.fx.locked_rate import PPM, check_ppm

FEE_ROUNDING: Final = ROUND_HALF_UP
"""The rounding of every percentage fee line, in the settlement currency's minor units."""


class FeeType(StrEnum):
    CORRIDOR_FEE = "corridor_fee"
    CROSS_BORDER_FEE = "cross_border_fee"
    FX_FEE = "fx_fee"


DESCRIPTIONS: Final = {
    FeeType.CORRIDOR_FEE: "Corridor processing fees",
    FeeType.CROSS_BORDER_FEE: "Cross-border card surcharge",
    FeeType.FX_FEE: "Currency conversion fee",
}


@dataclass(frozen=True, slots=True)
class FeeLine:
    """One ``fee_details`` entry; ``amount`` may be negative on a refund (fees given back)."""

    type: FeeType
    amount: int
    currency: str
    description: str

    def as_fee_detail(self) -> dict[str, Any]:
        """Stripe's shape: ``{"amount", "application", "currency", "description", "type"}``."""
        return {
            "amount": self.amount,
            "application": None,
            "currency": self.currency.lower(),
            "description": self.description,
            "type": self.type.value,
        }


@dataclass(frozen=True, slots=True)
class Fees:
    currency: str
    lines: tuple[FeeLine, ...]

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    def amount_of(self, fee_type: FeeType) -> int:
        return sum(line.amount for line in self.lines if line.type == fee_type)

    def fee_details(self) -> list[dict[str, Any]]:
        return [line.as_fee_detail() for line in self.lines]


def ppm_of(amount: int, ppm: int) -> int:
    """``amount * ppm / 1e6`` rounded half up, in integers (``amount`` >= 0)."""
    if check_minor(amount) < 0:
        raise ValueError("fees are computed on a non-negative amount")
    check_ppm(ppm, "ppm")
    return (amount * ppm + PPM // 2) // PPM


def is_cross_border(card_country: str | None, account_country: str) -> bool:
    """A card issued abroad. No card country (a wallet, a bank transfer) is not a card."""
    if card_country is None:
        return False
    return card_country.strip().upper() != account_country.strip().upper()


def capture_fees(
    schedule: FeeSchedule,
    amount: int,
    currency: str,
    *,
    cross_border: bool,
    fx_markup_ppm: int | None,
) -> Fees:
    """Fees on a captured ``amount`` (settlement currency); ``fx_markup_ppm`` None = no FX."""
    currency = currency_code(currency)
    corridor = ppm_of(amount, schedule.percent_ppm) + schedule.fixed_fee(currency)
    cross = ppm_of(amount, schedule.cross_border_ppm) if cross_border else 0
    fx = ppm_of(amount, fx_markup_ppm) if fx_markup_ppm is not None else 0
    shortfall = schedule.minimum_fee(currency) - (corridor + cross + fx)
    if shortfall > 0:
        corridor += shortfall
    amounts = (
        (FeeType.CORRIDOR_FEE, corridor),
        (FeeType.CROSS_BORDER_FEE, cross),
        (FeeType.FX_FEE, fx),
    )
    return Fees(
        currency,
        tuple(
            FeeLine(fee_type, value, currency, DESCRIPTIONS[fee_type])
            for fee_type, value in amounts
            if value
        ),
    )


def refund_fee(schedule: FeeSchedule, currency: str) -> FeeLine | None:
    """The fixed fee a refund costs the merchant, as a ``corridor_fee`` line (None if free)."""
    amount = schedule.refund_fee(currency)
    if not amount:
        return None
    return FeeLine(FeeType.CORRIDOR_FEE, amount, currency_code(currency), "Refund fee")


def payout_fee(schedule: FeeSchedule, currency: str) -> FeeLine | None:
    """The fixed fee a payout costs the merchant (None if free)."""
    amount = schedule.payout_fee(currency)
    if not amount:
        return None
    return FeeLine(FeeType.CORRIDOR_FEE, amount, currency_code(currency), "Payout fee")

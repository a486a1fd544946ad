"""A fee schedule: what an account (or, by default, every account) pays the platform.

Percentages are integers in **parts per million** (1 bp = 100 ppm, so fractional basis
points are whole numbers: 2.9 % = 29_000 ppm, 1.25 bp = 125 ppm). Amounts are integer
minor units per currency (``{"EUR": 30}`` is 0.30 EUR). A currency absent from a
per-currency map charges nothing for that component: the schedule lists what it
charges, and nothing else is implied.

``refund_fee_policy`` decides what happens to the capture's fees when a payment is
refunded: ``returned`` gives them back in proportion to the refunded amount, ``kept``
keeps them (the merchant bears them, as Stripe does by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from core.money import check_minor, currency_code
from settlement.fx.locked_rate import check_ppm

PLATFORM_OWNER: Final = "platform"
"""The owner of the default schedule (and of the platform's ledger accounts)."""


class RefundFeePolicy(StrEnum):
    RETURNED = "returned"
    KEPT = "kept"


def _amounts(values: Mapping[str, int], name: str) -> Mapping[str, int]:
    checked = {}
    for code, amount in values.items():
        if check_minor(amount) < 0:
            raise ValueError(f"{name}[{code}] must not be negative")
        checked[currency_code(code)] = amount
    return MappingProxyType(dict(sorted(checked.items())))


@dataclass(frozen=True)
class FeeSchedule:
    """An account's fees; ``owner`` is the account id or ``"platform"`` for the default."""

    owner: str = PLATFORM_OWNER
    percent_ppm: int = 0
    fixed: Mapping[str, int] = field(default_factory=dict)
    cross_border_ppm: int = 0
    fx_markup_ppm: int = 0
    minimum: Mapping[str, int] = field(default_factory=dict)
    refund_fixed: Mapping[str, int] = field(default_factory=dict)
    payout_fixed: Mapping[str, int] = field(default_factory=dict)
    refund_fee_policy: RefundFeePolicy = RefundFeePolicy.KEPT
    id: str | None = None

    def __post_init__(self) -> None:
        if not self.owner:
            raise ValueError("a fee schedule has an owner (an account id or 'platform')")
        for name in ("percent_ppm", "cross_border_ppm", "fx_markup_ppm"):
            check_ppm(getattr(self, name), name)
        for name in ("fixed", "minimum", "refund_fixed", "payout_fixed"):
            object.__setattr__(self, name, _amounts(getattr(self, name), name))
        object.__setattr__(self, "refund_fee_policy", RefundFeePolicy(self.refund_fee_policy))

    @property
    def is_default(self) -> bool:
        return self.owner == PLATFORM_OWNER

    def fixed_fee(self, currency: str) -> int:
        return self.fixed.get(currency_code(currency), 0)

    def minimum_fee(self, currency: str) -> int:
        return self.minimum.get(currency_code(currency), 0)

    def refund_fee(self, currency: str) -> int:
        return self.refund_fixed.get(currency_code(currency), 0)

    def payout_fee(self, currency: str) -> int:
        return self.payout_fixed.get(currency_code(currency), 0)

"""``amount_threshold``: the payment is at or above a reporting or review amount.

``amount`` is in the rule set's base currency and applies to the base amount;
``currencies = {EUR = "1000"}`` overrides it for payments in that currency (compared on
the payment's own amount). ``comparison = "gte"`` (default, at the threshold hits) or
``"gt"`` (only above it, as in "more than $10,000" for the US currency transaction report).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from ..context import PaymentContext
from ..history import WindowQuery
from ..params import Params
from .base import COMPARISONS, Finding, Inputs, Threshold, money_text, reached


@dataclass(frozen=True)
class AmountThresholdRule:
    type_name: ClassVar[str] = "amount_threshold"
    threshold: Threshold
    comparison: str

    @classmethod
    def from_params(cls, params: Params) -> Self:
        return cls(
            Threshold.read(params, "amount"), params.choice("comparison", COMPARISONS, "gte")
        )

    def plan(self, ctx: PaymentContext) -> list[WindowQuery]:
        return []

    def check(self, ctx: PaymentContext, inputs: Inputs) -> Finding | None:
        amount, limit, currency = self.threshold.compared(ctx)
        if not reached(amount, limit, self.comparison):
            return None
        sign = ">=" if self.comparison == "gte" else ">"
        return Finding(
            f"amount {money_text(amount, currency)} {sign} {money_text(limit, currency)}",
            {"amount": amount, "limit": limit, "currency": currency},
        )

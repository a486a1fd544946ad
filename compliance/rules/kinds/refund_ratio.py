"""``refund_ratio``: an account refunds too large a share of what it takes in.

Refunds to different cards than the payment came from, or refunds of payments that were
never genuine, are a known way to move money. Over ``window`` for one ``key`` (the merchant
account by default), the rule compares refunds with evaluated payments, by ``count`` or
by ``amount``, and hits when the share is above ``max_ratio_percent``, once the account has
at least ``min_payments`` payments in the window (small samples say nothing). Only the
recorded past counts; the payment being evaluated is not yet a capture.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar, Self

from ..context import HISTORY_KEYS, PaymentContext, history_keys
from ..history import WindowQuery
from ..params import Params
from .base import Finding, Inputs
from .velocity import _span


@dataclass(frozen=True)
class RefundRatioRule:
    type_name: ClassVar[str] = "refund_ratio"
    key: str
    window: dt.timedelta
    max_ratio_percent: int
    min_payments: int
    measure: str

    @classmethod
    def from_params(cls, params: Params) -> Self:
        key = params.choice("key", HISTORY_KEYS, "account")
        window = params.duration("window")
        max_ratio = params.integer("max_ratio_percent", minimum=0, maximum=1000)
        if max_ratio is None and not params.has("max_ratio_percent"):
            params.problem("max_ratio_percent", "is required (a whole-number percentage)")
        min_payments = params.integer("min_payments", default=10, minimum=1)
        measure = params.choice("measure", ("count", "amount"), "count")
        return cls(key, window, max_ratio or 0, min_payments or 1, measure)

    def _queries(self, ctx: PaymentContext) -> tuple[WindowQuery, WindowQuery] | None:
        value = history_keys(ctx)[self.key]
        if value is None:
            return None
        start, end = ctx.occurred_at - self.window, ctx.occurred_at
        return (
            WindowQuery(self.key, value, "refund", start, end, ctx.ref),
            WindowQuery(self.key, value, "payment", start, end, ctx.ref),
        )

    def plan(self, ctx: PaymentContext) -> list[WindowQuery]:
        return list(self._queries(ctx) or ())

    def check(self, ctx: PaymentContext, inputs: Inputs) -> Finding | None:
        queries = self._queries(ctx)
        if queries is None:
            return None
        refunds, payments = (inputs.window(q) for q in queries)
        if payments.count < self.min_payments:
            return None
        num, den = (
            (refunds.count, payments.count)
            if self.measure == "count"
            else (refunds.total, payments.total)
        )
        # Integer comparison of num/den > max% without division or rounding.
        if den == 0 or num * 100 <= self.max_ratio_percent * den:
            return None
        percent = num * 100 // den
        return Finding(
            f"{self.key} refunded {percent}% of payments by {self.measure}"
            f" over {_span(self.window)}"
            f" (at most {self.max_ratio_percent}%)",
            {"refunds": num, "payments": den, "measure": self.measure, "percent_floor": percent},
        )

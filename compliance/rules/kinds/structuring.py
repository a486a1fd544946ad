"""``structuring``: several payments just under a reporting threshold that together exceed it.

Splitting a sum into pieces below a reporting threshold to avoid the report is itself an
offence (31 U.S.C. 5324). The rule looks at payments whose base amount lies in the band
``[floor, threshold)`` from one ``key`` within ``window``. It hits on a payment that is in
the band when, counting it, there are at least ``min_count`` such payments and their total
is above ``threshold``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar, Self

from ..context import HISTORY_KEYS, PaymentContext, history_keys
from ..history import WindowQuery
from ..params import Params
from .base import Finding, Inputs, money_text
from .velocity import _span


@dataclass(frozen=True)
class StructuringRule:
    type_name: ClassVar[str] = "structuring"
    key: str
    window: dt.timedelta
    threshold: int
    floor: int
    min_count: int

    @classmethod
    def from_params(cls, params: Params) -> Self:
        key = params.choice("key", HISTORY_KEYS, "payer")
        window = params.duration("window")
        threshold = params.money("threshold")
        floor = params.money("floor")
        if threshold is None:
            params.problem("threshold", f"is required (an amount in {params.base_currency})")
        if floor is None:
            params.problem("floor", "is required (the lower edge of 'just under the threshold')")
        if threshold is not None and floor is not None and floor >= threshold:
            params.problem("floor", "must be below threshold")
        min_count = params.integer("min_count", default=2, minimum=2) or 2
        return cls(key, window, threshold or 0, floor or 0, min_count)

    def _query(self, ctx: PaymentContext) -> WindowQuery | None:
        value = history_keys(ctx)[self.key]
        if value is None or not self.floor <= ctx.base_amount < self.threshold:
            return None
        return WindowQuery(
            self.key,
            value,
            "payment",
            ctx.occurred_at - self.window,
            ctx.occurred_at,
            ctx.ref,
            min_amount=self.floor,
            max_amount=self.threshold,
        )

    def plan(self, ctx: PaymentContext) -> list[WindowQuery]:
        query = self._query(ctx)
        return [query] if query else []

    def check(self, ctx: PaymentContext, inputs: Inputs) -> Finding | None:
        query = self._query(ctx)
        if query is None:
            return None
        past = inputs.window(query)
        count, total = past.count + 1, past.total + ctx.base_amount
        if count < self.min_count or total <= self.threshold:
            return None
        cur = ctx.base_currency
        return Finding(
            f"{count} payments by {self.key} within {_span(self.window)} each between "
            f"{money_text(self.floor, cur)} and {money_text(self.threshold, cur)} total "
            f"{money_text(total, cur)}, above {money_text(self.threshold, cur)}",
            {"key": self.key, "count": count, "total": total, "threshold": self.threshold},
        )

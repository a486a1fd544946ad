"""``velocity``: too many payments, or too much money, from one key in a sliding window.

``key`` is one of payer, card, email, ip, account; ``window`` a duration (``1h``, ``24h``,
``7d``); ``max_count`` and/or ``max_amount`` (base currency) are the most that is still
normal, *including* the payment being evaluated: with ``max_count = 5`` the fifth
payment in the window passes and the sixth hits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar, Self

from ..context import HISTORY_KEYS, PaymentContext, history_keys
from ..history import WindowQuery
from ..params import Params
from .base import Finding, Inputs, money_text


@dataclass(frozen=True)
class VelocityRule:
    type_name: ClassVar[str] = "velocity"
    key: str
    window: dt.timedelta
    max_count: int | None
    max_amount: int | None

    @classmethod
    def from_params(cls, params: Params) -> Self:
        key = params.choice("key", HISTORY_KEYS)
        window = params.duration("window")
        max_count = params.integer("max_count", minimum=0)
        max_amount = params.money("max_amount")
        if not params.has("max_count") and not params.has("max_amount"):
            params.problem(None, "give max_count, max_amount or both")
        return cls(key, window, max_count, max_amount)

    def _query(self, ctx: PaymentContext) -> WindowQuery | None:
        value = history_keys(ctx)[self.key]
        if value is None:
            return None
        return WindowQuery(
            self.key, value, "payment", ctx.occurred_at - self.window, ctx.occurred_at, ctx.ref
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
        reasons = []
        if self.max_count is not None and count > self.max_count:
            reasons.append(f"{count} payments > {self.max_count}")
        if self.max_amount is not None and total > self.max_amount:
            cur = ctx.base_currency
            reasons.append(f"{money_text(total, cur)} > {money_text(self.max_amount, cur)}")
        if not reasons:
            return None
        return Finding(
            f"{self.key} velocity over {_span(self.window)}: {' and '.join(reasons)}",
            {
                "key": self.key,
                "window_seconds": int(self.window.total_seconds()),
                "count": count,
                "total": total,
            },
        )


def _span(window: dt.timedelta) -> str:
    seconds = int(window.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"

"""What every rule type provides, and the small values they share.

A rule type is a frozen dataclass built from a rule's ``params`` (validated once, when the
rule set is parsed). It may *plan* history queries for a payment and then *check* the
payment against the answers. ``check`` is pure: same context and inputs, same finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, Self

from core.money import from_minor

from ..context import PaymentContext
from ..countries import CountryList
from ..decision import Decision
from ..history import WindowQuery, WindowStats
from ..params import Params
from ..screening import ScreeningResultLike


@dataclass(frozen=True)
class Inputs:
    """Everything a check may look at besides the payment itself."""

    screenings: Mapping[str, ScreeningResultLike] = field(default_factory=dict)
    stats: Mapping[WindowQuery, WindowStats] = field(default_factory=dict)
    countries: Mapping[str, CountryList] = field(default_factory=dict)

    def window(self, query: WindowQuery) -> WindowStats:
        try:
            return self.stats[query]
        except KeyError:
            raise LookupError(f"history was not asked for {query}") from None


@dataclass(frozen=True)
class Finding:
    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    decision: Decision | None = None
    """A milder decision than the rule's own (e.g. a sanctions match below the block score)."""


class RuleKind(Protocol):
    type_name: ClassVar[str]

    @classmethod
    def from_params(cls, params: Params) -> Self: ...

    def plan(self, ctx: PaymentContext) -> list[WindowQuery]: ...

    def check(self, ctx: PaymentContext, inputs: Inputs) -> Finding | None: ...


def money_text(amount: int, currency: str) -> str:
    """``950000, "USD"`` -> ``"9,500.00 USD"`` for reasons a person reads."""
    return f"{from_minor(amount, currency).amount:,} {currency}"


@dataclass(frozen=True)
class Threshold:
    """An amount limit on the base-currency amount, optionally overridden per payment currency.

    ``by_currency`` lets a rule say "1,000 EUR" for euro payments exactly, instead of
    depending on the day's rate; other currencies are compared after conversion to base.
    """

    base: int
    base_currency: str
    by_currency: Mapping[str, int] = field(default_factory=dict)

    def compared(self, ctx: PaymentContext) -> tuple[int, int, str]:
        """``(amount, limit, currency)`` for this payment."""
        if ctx.currency in self.by_currency:
            return ctx.amount, self.by_currency[ctx.currency], ctx.currency
        return ctx.base_amount, self.base, self.base_currency

    @classmethod
    def read(cls, params: Params, name: str, default: int | None = None) -> Threshold:
        base = params.money(name, default=default)
        if base is None:
            if not params.has(name):
                params.problem(name, f"is required (an amount in {params.base_currency})")
            base = 0
        return cls(base, params.base_currency, params.money_by_currency("currencies"))


def reached(amount: int, limit: int, comparison: str) -> bool:
    return amount >= limit if comparison == "gte" else amount > limit


COMPARISONS = ("gte", "gt")

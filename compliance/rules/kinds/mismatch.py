"""``country_mismatch``: the card, the payer and the IP address point to different countries.

``compare`` names the sources (default card, payer, ip); the rule hits when at least
``min_distinct`` different countries are among those that are known (default 2). Unknown
countries are ignored rather than counted as a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from ..context import PaymentContext
from ..history import WindowQuery
from ..params import Params
from .base import Finding, Inputs

SOURCES = ("card", "payer", "ip", "beneficiary", "merchant")


@dataclass(frozen=True)
class CountryMismatchRule:
    type_name: ClassVar[str] = "country_mismatch"
    compare: tuple[str, ...]
    min_distinct: int

    @classmethod
    def from_params(cls, params: Params) -> Self:
        compare = params.choices("compare", SOURCES, ("card", "payer", "ip"))
        if len(compare) < 2:
            params.problem("compare", "needs at least two sources")
        min_distinct = params.integer("min_distinct", default=2, minimum=2) or 2
        return cls(compare, min_distinct)

    def plan(self, ctx: PaymentContext) -> list[WindowQuery]:
        return []

    def _country(self, ctx: PaymentContext, source: str) -> str | None:
        if source == "card":
            return ctx.card_country
        if source == "ip":
            return ctx.ip_country
        party = ctx.party(source)
        return party.country if party else None

    def check(self, ctx: PaymentContext, inputs: Inputs) -> Finding | None:
        known = {s: c for s in self.compare if (c := self._country(ctx, s))}
        distinct = sorted(set(known.values()))
        if len(distinct) < self.min_distinct:
            return None
        return Finding(
            "countries differ: " + ", ".join(f"{s} {c}" for s, c in known.items()),
            {"countries": known, "distinct": len(distinct)},
        )

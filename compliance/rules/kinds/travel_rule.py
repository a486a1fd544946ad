"""``travel_rule``: a cross-border transfer at or above the threshold lacks originator or
beneficiary information.

FATF Recommendation 16 (and its interpretive note) requires cross-border wire transfers
above its de minimis line (at most USD/EUR 1,000) to carry the originator's and the
beneficiary's name and account number, and the originator's address, national identity
number, customer id, or date and place of birth. The EU Transfer of Funds Regulation
(EU) 2023/1113 draws the same EUR 1,000 line for transfers of funds (for crypto-asset
transfers it asks for the data at any amount: configure ``amount = "0"`` for those).
Missing data holds the payment for review until it is supplied.

Card purchases of goods and services are outside R.16's scope (INR.16), so payments whose
``method`` is in ``exempt_methods`` (default ``["card"]``) are not checked.

``originator_requires`` and ``beneficiary_requires`` list what each party must carry, from
``name``, ``account`` and ``address_or_dob`` (an address or a date of birth). Both default
to all three, as Corridor's policy (issue 5) asks; the regulatory minimum for the
beneficiary is name and account (R.16, TFR art. 4(2)), so a deployment may relax
``beneficiary_requires`` to that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from ..context import Party, PaymentContext
from ..history import WindowQuery
from ..params import Params
from .base import COMPARISONS, Finding, Inputs, Threshold, money_text, reached

FIELDS = ("name", "account", "address_or_dob")
_ROLE_NAMES = {"payer": "originator", "beneficiary": "beneficiary"}


def _methods(params: Params) -> list[str]:
    return params.text_list("exempt_methods", ["card"])


def _present(party: Party | None, field: str) -> bool:
    if party is None:
        return False
    if field == "address_or_dob":
        return bool(party.address) or party.date_of_birth is not None
    return bool(getattr(party, field))


@dataclass(frozen=True)
class TravelRule:
    type_name: ClassVar[str] = "travel_rule"
    threshold: Threshold
    comparison: str
    cross_border_only: bool
    requires: tuple[tuple[str, tuple[str, ...]], ...]
    exempt_methods: frozenset[str]

    @classmethod
    def from_params(cls, params: Params) -> Self:
        return cls(
            Threshold.read(params, "amount"),
            params.choice("comparison", COMPARISONS, "gte"),
            params.boolean("cross_border_only", True),
            (
                ("payer", params.choices("originator_requires", FIELDS, FIELDS)),
                ("beneficiary", params.choices("beneficiary_requires", FIELDS, FIELDS)),
            ),
            frozenset(_methods(params)),
        )

    def plan(self, ctx: PaymentContext) -> list[WindowQuery]:
        return []

    def check(self, ctx: PaymentContext, inputs: Inputs) -> Finding | None:
        if ctx.method in self.exempt_methods:
            return None
        if self.cross_border_only and not ctx.cross_border:
            return None
        amount, limit, currency = self.threshold.compared(ctx)
        if not reached(amount, limit, self.comparison):
            return None
        missing = [
            f"{_ROLE_NAMES[role]} {field.replace('_or_', ' or ').replace('dob', 'date of birth')}"
            for role, fields in self.requires
            for field in fields
            if not _present(ctx.party(role), field)
        ]
        if not missing:
            return None
        return Finding(
            f"transfer of {money_text(amount, currency)} (threshold {money_text(limit, currency)}) "
            f"lacks travel-rule data: {', '.join(missing)}",
            {"missing": missing, "amount": amount, "limit": limit, "currency": currency},
        )

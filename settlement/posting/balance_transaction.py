"""The figures of a Stripe BalanceTransaction for a capture (``charge``) or a ``refund``.

Stripe's rule holds: ``net == amount - fee`` and ``fee == sum(fee_details)``; amounts
are in the settlement currency; ``exchange_rate`` is set when the money was converted
(presentment amount x rate = ``amount`` before rounding). The API layer adds ``id``,
``created``, ``available_on`` and ``status``; ``exchange_rate`` stays a ``Decimal`` here
(serialise it as a JSON number without passing through a float).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from settlement.fees.compute import FeeLine


@dataclass(frozen=True, slots=True)
class BalanceTransactionData:
    type: str
    reporting_category: str
    source: str
    amount: int
    currency: str
    fee: int
    fee_details: tuple[FeeLine, ...]
    net: int
    exchange_rate: Decimal | None

    def __post_init__(self) -> None:
        if self.fee != sum(line.amount for line in self.fee_details):
            raise ValueError("fee must equal the sum of fee_details")
        if self.net != self.amount - self.fee:
            raise ValueError("net must equal amount - fee")

    def as_stripe_fields(self) -> dict[str, Any]:
        return {
            "object": "balance_transaction",
            "type": self.type,
            "reporting_category": self.reporting_category,
            "source": self.source,
            "amount": self.amount,
            "currency": self.currency.lower(),
            "fee": self.fee,
            "fee_details": [line.as_fee_detail() for line in self.fee_details],
            "net": self.net,
            "exchange_rate": self.exchange_rate,
        }

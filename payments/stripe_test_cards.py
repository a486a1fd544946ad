"""Stripe's test PaymentMethod ids (``pm_card_visa``, ``pm_card_jp``, ...) as data.

A checkout written against Stripe's test mode passes these ids instead of card
numbers. Corridor accepts the same ids: each maps to the real test card number Stripe
documents for it (``payments/data/test_payment_methods.csv``, checked against
docs.stripe.com/testing), and the card then goes through the same validation, BIN
lookup, vault and processor as a typed-in card. Both the current documented names
(``pm_card_visa_chargeDeclined``) and the older ones (``pm_card_chargeDeclined``) are
listed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class StripeTestCard:
    token: str
    number: str = field(repr=False)
    description: str

    def expiry(self, today: dt.date) -> tuple[int, int]:
        """Stripe gives test cards an expiry in the future; Corridor uses one year ahead."""
        return today.month, today.year + 1


@lru_cache(maxsize=1)
def stripe_test_cards() -> dict[str, StripeTestCard]:
    """Every known test id, by id."""
    text = (
        resources.files("payments.data")
        .joinpath("test_payment_methods.csv")
        .read_text(encoding="utf-8")
    )
    table: dict[str, StripeTestCard] = {}
    for row in csv.DictReader(io.StringIO(text)):
        token = row["token"].strip()
        if token in table:
            raise ValueError(f"test payment method {token} is listed twice")
        table[token] = StripeTestCard(
            token=token, number=row["number"].strip(), description=row["description"].strip()
        )
    return table


def resolve_test_payment_method(token: str) -> StripeTestCard | None:
    """The test card behind a Stripe test id, or ``None`` if ``token`` is not one."""
    return stripe_test_cards().get(token)


def is_test_payment_method(token: str) -> bool:
    return token in stripe_test_cards()

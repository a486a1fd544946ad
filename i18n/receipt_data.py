"""What a receipt says, as plain data: no database, no locale, no formatting.

The API layer reads a payment, refund or payout and fills a :class:`ReceiptData`;
rendering (any language, any format) only ever sees this object. Validation happens
here, once, so that every renderer can trust it: money is integer minor units with
an ISO 4217 code, times are time-zone aware, a conversion carries its rate, and only
the last four digits of a card or bank account can be given at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final, Literal

from core.money import check_minor, currency_code
from i18n.formatting import country_code


class ReceiptKind(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"
    PAYOUT = "payout"


STATUSES: Final[dict[ReceiptKind, frozenset[str]]] = {
    ReceiptKind.PAYMENT: frozenset(
        {
            "requires_payment_method",
            "requires_confirmation",
            "requires_action",
            "requires_review",
            "processing",
            "requires_capture",
            "succeeded",
            "canceled",
            "refunded",
            "partially_refunded",
        }
    ),
    ReceiptKind.REFUND: frozenset(
        {"pending", "requires_action", "succeeded", "failed", "canceled"}
    ),
    ReceiptKind.PAYOUT: frozenset({"pending", "in_transit", "paid", "failed", "canceled"}),
}
"""Stripe's status vocabulary per object (plus the display-only refund states)."""


def _last4(value: str | None, what: str) -> None:
    if value is not None and not (len(value) == 4 and value.isascii() and value.isdigit()):
        raise ValueError(f"{what} must be exactly the last four digits, got {value!r}")


def _aware(moment: datetime, what: str) -> None:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError(f"{what} must be a time-zone aware datetime")


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount in integer minor units of an ISO 4217 currency (``1234, "EUR"``)."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        check_minor(self.minor)
        if self.minor < 0:
            raise ValueError("receipt amounts are magnitudes; the kind says which way")
        object.__setattr__(self, "currency", currency_code(self.currency))


@dataclass(frozen=True, slots=True)
class PaymentMethod:
    """How the payer paid, reduced to what may be shown: brand and last four digits."""

    type: Literal["card", "wallet", "bank_transfer"]
    brand: str | None = None
    """Stripe brand/wallet id (``visa``, ``mastercard``, ``apple_pay``, ``alipay``)."""
    last4: str | None = None

    def __post_init__(self) -> None:
        if self.type not in ("card", "wallet", "bank_transfer"):
            raise ValueError(f"unknown payment method type {self.type!r}")
        _last4(self.last4, "last4")
        if self.type == "card" and self.last4 is None:
            raise ValueError("a card payment method needs its last four digits")
        if self.type == "wallet" and not self.brand:
            raise ValueError("a wallet payment method needs its brand (e.g. apple_pay)")


@dataclass(frozen=True, slots=True)
class Conversion:
    """The same money in the merchant's settlement currency.

    ``rate`` is units of the settlement currency per one unit of the paid currency; it
    is required exactly when the two currencies differ.
    """

    amount: Amount
    rate: Decimal | None = None

    def __post_init__(self) -> None:
        if self.rate is not None and (
            not isinstance(self.rate, Decimal) or not self.rate.is_finite() or self.rate <= 0
        ):
            raise ValueError(f"rate must be a positive finite Decimal, got {self.rate!r}")


@dataclass(frozen=True, slots=True)
class RefundEntry:
    """One refund already made against the payment."""

    amount: Amount
    created: datetime
    reference: str | None = None

    def __post_init__(self) -> None:
        _aware(self.created, "refund created")


@dataclass(frozen=True, slots=True)
class PayoutAdvice:
    """Who a payout goes to; the payout id is the receipt's ``reference``."""

    beneficiary: str
    arrival_date: date
    bank_last4: str | None = None

    def __post_init__(self) -> None:
        if not self.beneficiary.strip():
            raise ValueError("a payout needs a beneficiary name")
        if isinstance(self.arrival_date, datetime) or not isinstance(self.arrival_date, date):
            raise ValueError("arrival_date must be a date")
        _last4(self.bank_last4, "bank_last4")


@dataclass(frozen=True, slots=True)
class ReceiptData:
    """Everything one receipt shows, for a payment, a refund or a payout.

    ``amount`` is what the payer paid (payment), got back (refund) or what is paid out
    (payout). ``fee`` is a fee the payer paid, included in ``amount``. ``refunds`` are
    refunds made so far against the payment. ``decline_code`` (payments) shows the
    localised reason of the last decline.
    """

    kind: ReceiptKind
    reference: str
    merchant_name: str
    merchant_country: str
    created: datetime
    amount: Amount
    status: str
    payment_method: PaymentMethod | None = None
    settlement: Conversion | None = None
    fee: Amount | None = None
    refunds: tuple[RefundEntry, ...] = field(default=())
    description: str | None = None
    original_payment: str | None = None
    payout: PayoutAdvice | None = None
    decline_code: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ReceiptKind(self.kind))
        object.__setattr__(self, "merchant_country", country_code(self.merchant_country))
        object.__setattr__(self, "refunds", tuple(self.refunds))
        if not self.reference.strip() or not self.merchant_name.strip():
            raise ValueError("a receipt needs a reference and a merchant name")
        _aware(self.created, "created")
        if self.status not in STATUSES[self.kind]:
            raise ValueError(f"{self.status!r} is not a {self.kind} status")
        self._check_amounts()
        if self.kind is ReceiptKind.PAYOUT:
            if self.payout is None:
                raise ValueError("a payout receipt needs payout details")
            if self.payment_method or self.refunds or self.fee or self.settlement:
                raise ValueError(
                    "a payout receipt has no payment method, refunds, fee or conversion"
                )
        elif self.payout is not None:
            raise ValueError("payout details belong on payout receipts only")
        if self.original_payment is not None and self.kind is not ReceiptKind.REFUND:
            raise ValueError("original_payment belongs on refund receipts only")
        if self.decline_code is not None and self.kind is not ReceiptKind.PAYMENT:
            raise ValueError("decline_code belongs on payment receipts only")

    def _check_amounts(self) -> None:
        currency = self.amount.currency
        if self.fee is not None and (
            self.fee.currency != currency or self.fee.minor > self.amount.minor
        ):
            raise ValueError("the fee must be in the paid currency and within the amount paid")
        for refund in self.refunds:
            if refund.amount.currency != currency:
                raise ValueError("refunds must be in the currency of the payment")
        if self.settlement is not None:
            differs = self.settlement.amount.currency != currency
            if differs and self.settlement.rate is None:
                raise ValueError("a settlement in another currency needs its exchange rate")
            if not differs and self.settlement.rate is not None:
                raise ValueError("no exchange rate when the settlement currency is the same")

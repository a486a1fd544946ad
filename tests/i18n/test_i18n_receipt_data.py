"""ReceiptData refuses what a receipt must never show or cannot show correctly."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from core.money import AmountError, CurrencyError
from i18n.formatting import CountryError
from i18n.receipt_data import (
    Amount,
    Conversion,
    PaymentMethod,
    PayoutAdvice,
    ReceiptData,
    ReceiptKind,
    RefundEntry,
)


def test_valid_samples_normalise_codes(cross_currency_payment: ReceiptData) -> None:
    data = dataclasses.replace(cross_currency_payment, merchant_country="de", kind="payment")
    assert data.merchant_country == "DE"
    assert data.kind is ReceiptKind.PAYMENT
    assert Amount(100, "eur").currency == "EUR"


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: Amount(12.5, "EUR"), AmountError),
        (lambda: Amount(-1, "EUR"), ValueError),
        (lambda: Amount(1, "EURO"), CurrencyError),
        (lambda: PaymentMethod("card", "visa", "424"), ValueError),
        (lambda: PaymentMethod("card", "visa", "4242424242424242"), ValueError),
        (lambda: PaymentMethod("card", "visa"), ValueError),
        (lambda: PaymentMethod("wallet"), ValueError),
        (lambda: PaymentMethod("cheque"), ValueError),  # type: ignore[arg-type]
        (lambda: Conversion(Amount(1, "EUR"), 0.5), ValueError),  # type: ignore[arg-type]
        (lambda: Conversion(Amount(1, "EUR"), Decimal("-1")), ValueError),
        (lambda: RefundEntry(Amount(1, "EUR"), datetime(2025, 1, 1)), ValueError),
        (lambda: PayoutAdvice(" ", date(2025, 1, 1)), ValueError),
        (lambda: PayoutAdvice("ACME", datetime(2025, 1, 1, tzinfo=UTC)), ValueError),
    ],
)
def test_parts_refuse_bad_values(make, error: type) -> None:
    with pytest.raises(error):
        make()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"created": datetime(2025, 3, 5, 12, 0)}, "time-zone aware"),
        ({"status": "paid"}, "not a payment status"),
        ({"merchant_country": "XX"}, "alpha-2"),
        ({"reference": " "}, "reference"),
        ({"fee": Amount(1, "EUR")}, "fee"),
        ({"fee": Amount(20000, "JPY")}, "fee"),
        ({"settlement": Conversion(Amount(7312, "EUR"))}, "exchange rate"),
        ({"settlement": Conversion(Amount(12000, "JPY"), Decimal(1))}, "no exchange rate"),
        (
            {"refunds": (RefundEntry(Amount(1, "EUR"), datetime(2025, 1, 1, tzinfo=UTC)),)},
            "currency of the payment",
        ),
        ({"payout": PayoutAdvice("ACME", date(2025, 1, 1))}, "payout receipts only"),
        ({"original_payment": "pi_1"}, "refund receipts only"),
    ],
)
def test_payment_receipt_consistency(
    cross_currency_payment: ReceiptData, changes: dict, message: str
) -> None:
    with pytest.raises((ValueError, CountryError), match=message):
        dataclasses.replace(cross_currency_payment, **changes)


def test_payout_receipt_consistency(payout: ReceiptData) -> None:
    with pytest.raises(ValueError, match="payout details"):
        dataclasses.replace(payout, payout=None)
    with pytest.raises(ValueError, match="no payment method"):
        dataclasses.replace(payout, payment_method=PaymentMethod("card", "visa", "4242"))
    with pytest.raises(ValueError, match="decline_code"):
        dataclasses.replace(payout, decline_code="card_declined")

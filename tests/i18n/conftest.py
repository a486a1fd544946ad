"""Receipt samples shared by the i18n tests: plain data, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from i18n.receipt_data import (
    Amount,
    Conversion,
    PaymentMethod,
    PayoutAdvice,
    ReceiptData,
    ReceiptKind,
    RefundEntry,
)

PAID_AT = datetime(2025, 3, 5, 14, 7, 9, tzinfo=UTC)


@pytest.fixture
def cross_currency_payment() -> ReceiptData:
    """¥12,000 paid by a Japanese card holder to a German merchant settling in EUR."""
    return ReceiptData(
        kind=ReceiptKind.PAYMENT,
        reference="pi_3MtwBwLkdIwHu7ix28a3tqPa",
        merchant_name="Kaffeerösterei Müller GmbH",
        merchant_country="DE",
        created=PAID_AT,
        amount=Amount(12000, "JPY"),
        status="partially_refunded",
        payment_method=PaymentMethod("card", "visa", "4242"),
        settlement=Conversion(Amount(7312, "EUR"), Decimal("0.0061234")),
        fee=Amount(360, "JPY"),
        refunds=(
            RefundEntry(Amount(2000, "JPY"), datetime(2025, 3, 6, 9, 0, tzinfo=UTC), "re_1AbC"),
            RefundEntry(Amount(1000, "JPY"), datetime(2025, 3, 7, 9, 0, tzinfo=UTC), "re_2DeF"),
        ),
        description="Espresso beans, 2 kg",
    )


@pytest.fixture
def bhd_refund() -> ReceiptData:
    """A refund of 12.345 BHD (three decimals) by a Bahraini merchant."""
    return ReceiptData(
        kind=ReceiptKind.REFUND,
        reference="re_3NbQ2kLkdIwHu7ix0ZfL1x9Q",
        merchant_name="Manama Books",
        merchant_country="BH",
        created=PAID_AT,
        amount=Amount(12345, "BHD"),
        status="succeeded",
        payment_method=PaymentMethod("card", "mastercard", "4444"),
        original_payment="pi_3NbQ1pLkdIwHu7ix1qTQ8e2M",
    )


@pytest.fixture
def payout() -> ReceiptData:
    return ReceiptData(
        kind=ReceiptKind.PAYOUT,
        reference="po_1OaB2cLkdIwHu7ixYtR0pQ3s",
        merchant_name="Kaffeerösterei Müller GmbH",
        merchant_country="DE",
        created=PAID_AT,
        amount=Amount(123456, "EUR"),
        status="in_transit",
        payout=PayoutAdvice("Kaffeerösterei Müller GmbH", date(2025, 3, 7), "3000"),
    )

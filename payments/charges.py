"""Charges: one per attempt to take money for an intent (Stripe's ``ch_`` objects).

A failed attempt leaves a failed charge (its decline on record); a successful one is
captured at once or later. ``latest_charge`` on the intent points at the newest.
Refund totals live here, on the charge, where Stripe keeps them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, UTCDateTime, utcnow
from core.ids import new_id
from payments.methods import PaymentMethod
from payments.rails.base import Decline


class Charge(Base):
    __tablename__ = "charges"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), index=True)
    intent_id: Mapped[str] = mapped_column(String(40), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    amount_captured: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    """succeeded | pending | failed"""
    captured: Mapped[bool] = mapped_column(Boolean, default=False)
    payment_method_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    payment_method_details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    failure_code: Mapped[str | None] = mapped_column(String(80), nullable=True)
    failure_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    decline_code: Mapped[str | None] = mapped_column(String(80), nullable=True)
    balance_transaction_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)


def method_details(method: PaymentMethod | None) -> dict[str, Any]:
    """``payment_method_details``: brand and last4 only, never the number."""
    if method is None:
        return {}
    if method.type == "card" and method.card:
        card = method.card
        return {
            "type": "card",
            "card": {
                "brand": card["brand"],
                "last4": card["last4"],
                "exp_month": card["exp_month"],
                "exp_year": card["exp_year"],
                "country": card.get("country"),
                "funding": card.get("funding"),
                "fingerprint": card.get("fingerprint"),
            },
        }
    return {"type": method.type, method.type: {}}


def open_charge(
    session: Session,
    *,
    intent_id: str,
    account_id: str,
    amount: int,
    currency: str,
    method: PaymentMethod | None,
    status: str,
    captured_amount: int = 0,
    decline: Decline | None = None,
) -> Charge:
    charge = Charge(
        id=new_id("ch"),
        account_id=account_id,
        intent_id=intent_id,
        amount=amount,
        amount_captured=captured_amount,
        amount_refunded=0,
        currency=currency,
        status=status,
        captured=captured_amount > 0,
        payment_method_id=method.id if method else None,
        payment_method_details=method_details(method),
        failure_code=decline.code if decline else None,
        failure_message=decline.message if decline else None,
        decline_code=decline.decline_code if decline else None,
        created=utcnow(),
    )
    session.add(charge)  # written by the transaction's next flush
    return charge


def with_method(session: Session, charge_id: str) -> tuple[Charge, PaymentMethod | None] | None:
    """The charge and the method it was paid with, read by one statement (a capture
    books with both)."""
    row = session.execute(
        select(Charge, PaymentMethod)
        .outerjoin(PaymentMethod, PaymentMethod.id == Charge.payment_method_id)
        .where(Charge.id == charge_id)
    ).first()
    return None if row is None else (row[0], row[1])


def render(charge: Charge) -> dict[str, Any]:
    return {
        "id": charge.id,
        "object": "charge",
        "amount": charge.amount,
        "amount_captured": charge.amount_captured,
        "amount_refunded": charge.amount_refunded,
        "balance_transaction": charge.balance_transaction_id,
        "captured": charge.captured,
        "created": int(charge.created.timestamp()),
        "currency": charge.currency.lower(),
        "failure_code": charge.failure_code,
        "failure_message": charge.failure_message,
        "livemode": False,
        "metadata": {},
        "outcome": _outcome(charge),
        "paid": charge.status == "succeeded",
        "payment_intent": charge.intent_id,
        "payment_method": charge.payment_method_id,
        "payment_method_details": charge.payment_method_details,
        "refunded": charge.amount_captured > 0 and charge.amount_refunded >= charge.amount_captured,
        "status": charge.status,
    }


def _outcome(charge: Charge) -> dict[str, Any]:
    if charge.status == "failed":
        return {
            "network_status": "declined_by_network",
            "reason": charge.decline_code,
            "type": "issuer_declined",
            "seller_message": "The bank did not return any further details with this decline.",
        }
    return {
        "network_status": "approved_by_network",
        "reason": None,
        "type": "authorized",
        "seller_message": "Payment complete.",
    }

"""Refunds: partial and repeated, never more than was captured — also under concurrency.

A refund locks its charge row for the transaction, so concurrent refunds of one charge
queue behind each other and each sees the total the previous one left; the check
"refunded + this <= captured" and the increment commit together with the ledger booking.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.accounts import Account
from core.database import Base, UTCDateTime, utcnow
from core.events import emit
from core.ids import new_id
from core.settings import Settings
from payments import charges as charge_records
from payments.charges import Charge
from payments.intents import PaymentError, PaymentIntent
from payments.preauthorisation import RefundFacts, refunded
from payments.rails.base import Authorisation, RefundStatus
from payments.routing import rail_named
from settlement import booking
from settlement.balance_transactions import BalanceTransaction

REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), index=True)
    charge_id: Mapped[str] = mapped_column(String(40), index=True)
    intent_id: Mapped[str] = mapped_column(String(40), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    rail_reference: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    balance_transaction_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)


def find(session: Session, account_id: str | None, refund_id: str) -> Refund | None:
    refund = session.get(Refund, refund_id)
    if refund is None or (account_id is not None and refund.account_id != account_id):
        return None
    return refund


def create(
    session: Session,
    settings: Settings,
    account: Account,
    *,
    intent_id: str | None = None,
    charge_id: str | None = None,
    amount: int | None = None,
    reason: str | None = None,
    metadata: dict[str, str] | None = None,
) -> Refund:
    if reason is not None and reason not in REASONS:
        raise PaymentError(
            f"Invalid reason: must be one of {', '.join(sorted(REASONS))}.", param="reason"
        )
    charge = _locked_charge(session, account.id, intent_id=intent_id, charge_id=charge_id)
    intent = session.get(PaymentIntent, charge.intent_id)
    assert intent is not None
    refundable = charge.amount_captured - charge.amount_refunded
    if charge.amount_captured == 0:
        raise PaymentError(
            f"This charge ({charge.id}) has no captured funds to refund.",
            param="payment_intent" if intent_id else "charge",
            code="charge_not_refundable",
        )
    if refundable <= 0:
        raise PaymentError(
            f"Charge {charge.id} has already been refunded.",
            param="payment_intent" if intent_id else "charge",
            code="charge_already_refunded",
        )
    amount = refundable if amount is None else amount
    if amount > refundable:
        raise PaymentError(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({refundable}).",
            param="amount",
            code="amount_too_large",
        )
    refund = Refund(
        id=new_id("re"),
        account_id=account.id,
        charge_id=charge.id,
        intent_id=intent.id,
        amount=amount,
        currency=charge.currency,
        status="pending",
        reason=reason,
        metadata_=metadata or {},
        created=utcnow(),
    )
    session.add(refund)
    session.flush()
    rail = rail_named(intent.rail or "", settings)
    result = rail.refund(
        Authorisation.from_dict(intent.authorisation or {}), amount, refund_id=refund.id
    )
    refund.rail_reference = result.reference
    refund.failure_reason = result.failure_reason
    if result.status is RefundStatus.FAILED:
        refund.status = "failed"
        session.flush()
        emit(session, account.id, "refund.failed", render(refund))
        return refund
    # Compliance hears of the refund before the ledger books it: every money flow takes
    # compliance's rows before the ledger's accounts (the other order deadlocked refunds
    # against concurrent payments on PostgreSQL); a booking that fails rolls both back.
    refunded(
        session,
        RefundFacts(
            refund_id=refund.id,
            intent_id=intent.id,
            account_id=account.id,
            amount=amount,
            currency=refund.currency,
            created=refund.created,
        ),
    )
    capture_txn = session.get(BalanceTransaction, charge.balance_transaction_id)
    assert capture_txn is not None
    txn = booking.book_refund(
        session,
        account,
        refund_id=refund.id,
        intent_id=intent.id,
        capture=capture_txn,
        amount=amount,
        already_refunded=charge.amount_refunded,
    )
    refund.balance_transaction_id = txn.id
    charge.amount_refunded += amount
    refund.status = "succeeded" if result.status is RefundStatus.SUCCEEDED else "pending"
    session.flush()
    emit(session, account.id, "refund.created", render(refund))
    emit(session, account.id, "charge.refunded", charge_records.render(charge))
    return refund


def _locked_charge(
    session: Session, account_id: str, *, intent_id: str | None, charge_id: str | None
) -> Charge:
    if bool(intent_id) == bool(charge_id):
        raise PaymentError(
            "Provide exactly one of payment_intent or charge.", param="payment_intent"
        )
    if intent_id:
        intent = session.scalar(
            select(PaymentIntent).where(PaymentIntent.id == intent_id).with_for_update()
        )
        if intent is None or intent.account_id != account_id or not intent.latest_charge_id:
            raise PaymentError(
                f"No such payment_intent: '{intent_id}'",
                param="payment_intent",
                code="resource_missing",
            )
        charge_id = intent.latest_charge_id
    charge = session.scalar(select(Charge).where(Charge.id == charge_id).with_for_update())
    if charge is None or charge.account_id != account_id:
        raise PaymentError(
            f"No such charge: '{charge_id}'", param="charge", code="resource_missing"
        )
    return charge


def render(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "object": "refund",
        "amount": refund.amount,
        "balance_transaction": refund.balance_transaction_id,
        "charge": refund.charge_id,
        "created": int(refund.created.timestamp()),
        "currency": refund.currency.lower(),
        "failure_reason": refund.failure_reason,
        "metadata": refund.metadata_,
        "payment_intent": refund.intent_id,
        "reason": refund.reason,
        "status": refund.status,
    }

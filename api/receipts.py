"""Receipts: a payment's or refund's facts, put in the payer's language.

Assembling a receipt reads payments (the intent, its charge and refunds), settlement
(the BalanceTransaction with the settlement amount and exchange rate) and the merchant,
then hands plain data to i18n, which formats and translates; this module is where those
domains meet, so it lives with the rest of the composition root. The receipt e-mail job
is here for the same reason.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import jobs
from core.accounts import Account
from core.database import Database
from core.settings import get_settings
from i18n import receipt_data as rd
from i18n.locales import negotiate
from i18n.receipt_email import build_receipt_message, send
from payments.charges import Charge
from payments.intents import PaymentIntent
from payments.methods import PaymentMethod
from payments.refunds import Refund
from settlement.balance_transactions import BalanceTransaction

log = logging.getLogger("corridor.receipts")


def _get(session: Session, model: Any, object_id: str | None) -> Any:
    return session.get(model, object_id) if object_id else None


def _method(method: PaymentMethod | None) -> rd.PaymentMethod | None:
    if method is None:
        return None
    if method.type == "card" and method.card:
        return rd.PaymentMethod("card", method.card["brand"], method.card["last4"])
    if method.type == "bank_transfer":
        return rd.PaymentMethod("bank_transfer")
    return rd.PaymentMethod("wallet", method.type)


def _conversion(txn: BalanceTransaction | None, currency: str) -> rd.Conversion | None:
    if txn is None or txn.currency == currency:
        return None
    rate = Decimal(txn.exchange_rate) if txn.exchange_rate else None
    return rd.Conversion(rd.Amount(abs(txn.amount), txn.currency), rate)


def _refunds(session: Session, charge_id: str) -> list[Refund]:
    query = select(Refund).where(Refund.charge_id == charge_id, Refund.status != "failed")
    return list(session.scalars(query.order_by(Refund.created)))


def _payment_status(intent: PaymentIntent, charge: Charge | None) -> str:
    if charge is not None and charge.amount_refunded:
        return (
            "refunded"
            if charge.amount_refunded >= charge.amount_captured
            else ("partially_refunded")
        )
    return intent.status


def payment_receipt(session: Session, intent: PaymentIntent) -> rd.ReceiptData:
    account = session.get(Account, intent.account_id)
    assert account is not None
    charge = session.get(Charge, intent.latest_charge_id) if intent.latest_charge_id else None
    method = (
        session.get(PaymentMethod, intent.payment_method_id) if intent.payment_method_id else None
    )
    txn = (
        session.get(BalanceTransaction, charge.balance_transaction_id)
        if charge is not None and charge.balance_transaction_id
        else None
    )
    error = intent.last_payment_error or {}
    refunds = _refunds(session, charge.id) if charge is not None else []
    return rd.ReceiptData(
        kind=rd.ReceiptKind.PAYMENT,
        reference=intent.id,
        merchant_name=account.business_name,
        merchant_country=account.country,
        created=intent.created,
        amount=rd.Amount(intent.amount_received or intent.amount, intent.currency),
        status=_payment_status(intent, charge),
        payment_method=_method(method),
        settlement=_conversion(txn, intent.currency),
        refunds=tuple(
            rd.RefundEntry(rd.Amount(r.amount, r.currency), r.created, r.id) for r in refunds
        ),
        description=intent.description,
        decline_code=(error.get("decline_code") or error.get("code"))
        if intent.status == "requires_payment_method" and error
        else None,
    )


def refund_receipt(session: Session, refund: Refund) -> rd.ReceiptData:
    account = session.get(Account, refund.account_id)
    intent = session.get(PaymentIntent, refund.intent_id)
    assert account is not None and intent is not None
    method = (
        session.get(PaymentMethod, intent.payment_method_id) if intent.payment_method_id else None
    )
    txn = (
        session.get(BalanceTransaction, refund.balance_transaction_id)
        if refund.balance_transaction_id
        else None
    )
    return rd.ReceiptData(
        kind=rd.ReceiptKind.REFUND,
        reference=refund.id,
        merchant_name=account.business_name,
        merchant_country=account.country,
        created=refund.created,
        amount=rd.Amount(refund.amount, refund.currency),
        status=refund.status,
        payment_method=_method(method),
        settlement=_conversion(txn, refund.currency),
        original_payment=intent.id,
    )


def payer_locale(intent: PaymentIntent) -> str:
    payer: dict[str, Any] = intent.payer or {}
    return negotiate(payer.get("locale"), None)


@jobs.job_handler("receipts.email", max_attempts=12)
def email_receipt(db: Database, intent_id: str) -> None:
    """Send the payment receipt to ``receipt_email`` (text + HTML, PDF attached)."""
    settings = get_settings()
    with db.transaction(write=False) as session:
        intent = session.get(PaymentIntent, intent_id)
        if intent is None or not intent.receipt_email or intent.status != "succeeded":
            return
        data = payment_receipt(session, intent)
        locale = payer_locale(intent)
        recipient = intent.receipt_email
        timezone = (intent.payer or {}).get("timezone") or "UTC"
    if not settings.smtp_url:
        log.warning("receipt for %s not e-mailed: CORRIDOR_SMTP_URL is not set", intent_id)
        return
    message = build_receipt_message(
        data, locale, sender=settings.receipt_sender, recipient=recipient, timezone=timezone
    )
    send(message, settings.smtp_url)

"""Bank credits: payers' transfers arriving, however Corridor learns of them.

A credit reaches a payment intent either as the bank's signed notification (a webhook)
or as a line of an imported bank statement that reconciliation matched to the intent's
RF reference. Both come here, so a credit is applied the same way whichever way it
came: booked to the payer's ``customer_balance`` first (money that arrived is never
lost), then counted toward the intent — exact or excess completes it (an excess stays
owed to the payer), short leaves it waiting for the rest.

This module also tells reconciliation what payments expects to see on statements, through
the protocols reconciliation defines (it never reads payments' tables itself).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Account
from core.events import emit
from core.settings import Settings, get_settings
from payments import charges as charge_records
from payments import intents
from payments.intent_state import IntentEvent, IntentStatus
from payments.intents import Context, PaymentIntent
from payments.rails.bank_transfer import ReceivingAccount, transfer_instructions
from payments.rails.credit_matching import CreditOutcome, match_credit
from settlement import booking
from settlement.reconciliation.expected import Expected, ExpectedKind, Window, register_provider
from settlement.reconciliation.hooks import BankCredit, on_bank_transfer_received, remove_hook
from settlement.reconciliation.providers import (
    AwaitingTransfer,
    BankTransferExpectations,
    CaptureExpectations,
    ProviderCapture,
    source_kind,
)
from settlement.reconciliation.statement import StatementKind

E = IntentEvent
S = IntentStatus


def apply(
    session: Session,
    settings: Settings,
    intent: PaymentIntent | None,
    *,
    credit_id: str,
    amount: int,
    currency: str,
) -> str:
    """Book one credit and apply it to its intent; returns what happened, in words.

    The credit is booked exactly once on every path: on its own when it does not
    complete the payment, else in the capture's journal (one posting per transaction).
    """
    credit = booking.CustomerCredit(
        intent.id if intent else "unmatched", credit_id, amount, currency
    )

    def receive() -> None:
        booking.receive_customer_funds(
            session,
            intent_id=credit.intent_id,
            credit_id=credit.credit_id,
            amount=credit.amount,
            currency=credit.currency,
        )

    if intent is None:
        receive()
        return "unapplied: no payment matches the reference"
    funding = dict(intent.funding or {})
    match = match_credit(
        amount_due=intent.amount,
        currency=intent.currency,
        received_so_far=int(funding.get("received", 0)),
        credit_amount=amount,
        credit_currency=currency,
        accepting=intent.status == S.REQUIRES_ACTION,
    )
    credits = [
        *funding.get("credits", []),
        {
            "id": credit_id,
            "amount": amount,
            "currency": currency.lower(),
            "applied": match.applied,
            "surplus": match.surplus,
            "outcome": str(match.outcome),
        },
    ]
    surplus = dict(funding.get("surplus", {}))
    if match.surplus:
        key = match.surplus_currency.lower()
        surplus[key] = surplus.get(key, 0) + match.surplus
    intent.funding = {"received": match.received_total, "credits": credits, "surplus": surplus}
    if match.outcome in (CreditOutcome.CURRENCY_MISMATCH, CreditOutcome.NOT_ACCEPTING):
        receive()
        return f"unapplied: {match.outcome}"
    account = session.get(Account, intent.account_id)
    assert account is not None
    ctx = Context(session, settings, account)
    if not match.completes_payment:
        receive()
        intent.status = intents.next_status(intent.status, E.FUNDS_PARTIALLY_RECEIVED)
        intent.next_action = transfer_instructions(
            ReceivingAccount.from_settings(settings),
            reference=intent.rail_reference or "",
            amount_remaining=match.remaining,
            currency=intent.currency,
        )
        intents.emit_intent(session, intent, "payment_intent.partially_funded")
        return f"short: {match.remaining} still owed"
    method = intents.method_of(ctx, intent)
    intent.status = intents.next_status(intent.status, E.FUNDS_RECEIVED)
    intent.next_action = None
    charge = charge_records.open_charge(
        session,
        intent_id=intent.id,
        account_id=intent.account_id,
        amount=intent.amount,
        currency=intent.currency,
        method=method,
        status="succeeded",
    )
    intent.latest_charge_id = charge.id
    intents.book_capture(
        ctx, intent, charge, method, intent.amount, from_customer_balance=True, arriving=credit
    )
    intents.emit_intent(session, intent, "payment_intent.succeeded")
    session.flush()
    emit(session, charge.account_id, "charge.succeeded", charge_records.render(charge))
    return str(match.outcome)


# --- reconciliation's view of payments ---------------------------------------------


def _waiting(session: Session, currency: str, window: Window) -> list[PaymentIntent]:
    start = dt.datetime.combine(window.start, dt.time.min, dt.UTC)
    end = dt.datetime.combine(window.end, dt.time.max, dt.UTC)
    return list(
        session.scalars(
            select(PaymentIntent).where(
                PaymentIntent.rail == "bank_transfer",
                PaymentIntent.status == S.REQUIRES_ACTION,
                PaymentIntent.currency == currency,
                PaymentIntent.created >= start,
                PaymentIntent.created <= end,
            )
        )
    )


class AwaitingIntents:
    """Intents whose payer was told to transfer: expected as credits with their RF reference."""

    def awaiting(
        self, session: Session, currency: str, window: Window
    ) -> Iterable[AwaitingTransfer]:
        for intent in _waiting(session, currency, window):
            received = int((intent.funding or {}).get("received", 0))
            yield AwaitingTransfer(
                intent_id=intent.id,
                amount_remaining=intent.amount - received,
                currency=intent.currency,
                reference=intent.rail_reference or "",
                since=intent.created.date(),
            )


class NotifiedCredits:
    """Credits the bank already notified (webhook): booked to clearing, due on statements."""

    def expected_items(
        self, session: Session, source: str, currency: str, window: Window
    ) -> Iterable[Expected]:
        from payments.notifications import InboundEvent

        if source_kind(session, source) is not StatementKind.BANK:
            return []
        start = dt.datetime.combine(window.start, dt.time.min, dt.UTC)
        end = dt.datetime.combine(window.end, dt.time.max, dt.UTC)
        rows = session.scalars(
            select(InboundEvent).where(
                InboundEvent.rail == "bank_transfer",
                InboundEvent.received >= start,
                InboundEvent.received <= end,
            )
        )
        items = []
        for row in rows:
            payload = row.payload or {}
            if str(payload.get("currency", "")).upper() != currency:
                continue
            references = {"bank_reference": row.event_id}
            if row.reference:
                references["rf_reference"] = row.reference
            items.append(
                Expected(
                    kind=ExpectedKind.PROVIDER_SETTLEMENT,
                    id=row.id,
                    amount=int(payload["amount"]),
                    currency=currency,
                    date=row.received.date(),
                    references=references,
                )
            )
        return items


class StripeCaptures:
    """What an upstream Stripe account must report: Corridor's captures on the Stripe rail."""

    def captures(
        self, session: Session, source: str, currency: str, window: Window
    ) -> Iterable[ProviderCapture]:
        start = dt.datetime.combine(window.start, dt.time.min, dt.UTC)
        end = dt.datetime.combine(window.end, dt.time.max, dt.UTC)
        rows = session.scalars(
            select(PaymentIntent).where(
                PaymentIntent.rail == "stripe",
                PaymentIntent.amount_received > 0,
                PaymentIntent.currency == currency,
                PaymentIntent.created >= start,
                PaymentIntent.created <= end,
            )
        )
        for intent in rows:
            yield ProviderCapture(
                id=intent.id,
                provider_id=intent.rail_reference or intent.id,
                amount=intent.amount_received,
                currency=intent.currency,
                date=intent.created.date(),
            )


def credit_from_statement(session: Session, credit: BankCredit) -> None:
    """Reconciliation matched a statement line to an intent: apply it (once)."""
    intent = intents.find(session, None, credit.intent_id, lock=True)
    if intent is None or intent.status != S.REQUIRES_ACTION:
        return
    apply(
        session,
        get_settings(),
        intent,
        credit_id=f"statement:{credit.line_id}",
        amount=credit.amount,
        currency=credit.currency,
    )


def install() -> Callable[[], None]:
    """Register payments' expected items and the statement-credit hook; returns an undo."""
    undo = [
        register_provider("payments.bank_transfers", BankTransferExpectations(AwaitingIntents())),
        register_provider("payments.notified_credits", NotifiedCredits()),
        register_provider("payments.stripe_captures", CaptureExpectations(StripeCaptures())),
    ]
    on_bank_transfer_received(credit_from_statement)

    def uninstall() -> None:
        for fn in undo:
            fn()
        remove_hook(credit_from_statement)

    return uninstall

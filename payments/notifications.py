"""Provider notifications in: verified, de-duplicated, applied in whatever order they come.

Each rail verifies its own signature (:meth:`RailAdapter.parse_notification`); the
(rail, event id) pair is recorded in the same transaction as the change the event
causes, so a duplicate is a no-op and a crash leaves no half-applied event; two copies
arriving at once are answered alike, the second with the first's record. Events that
arrive late or out of order are judged against the intent's current status: a success
for an intent already succeeded is acknowledged and changes nothing.

Bank credits are money that really arrived, so every one is booked — to the payer's
``customer_balance`` — before it is applied: an exact or excess credit completes the
intent (an excess stays owed to the payer), a short one leaves it waiting for the rest,
and a credit in the wrong currency, for a closed intent, or with no recognisable
reference stays unapplied, on record, never silently kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.accounts import Account
from core.database import Base, UTCDateTime, utcnow
from core.events import emit
from core.ids import new_id
from core.settings import Settings
from payments import bank_credits, intents
from payments.intent_state import IntentEvent, IntentStatus, can
from payments.intents import Context, PaymentDeclined, PaymentIntent
from payments.rails.base import (
    Authorisation,
    AuthorisationResult,
    Decline,
    Notification,
    NotificationKind,
)
from payments.refunds import Refund
from payments.routing import rail_named

E = IntentEvent
S = IntentStatus


class InboundEvent(Base):
    __tablename__ = "payments_inbound_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    rail: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(120), nullable=True)
    intent_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    outcome: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("rail", "event_id"),)


def receive(
    session: Session, settings: Settings, rail_name: str, headers: Mapping[str, str], body: bytes
) -> InboundEvent:
    """Verify, record and apply one provider message (raises ``NotificationError``)."""
    notification = rail_named(rail_name, settings).parse_notification(headers, body)
    existing = session.scalar(
        select(InboundEvent).where(
            InboundEvent.rail == notification.rail, InboundEvent.event_id == notification.event_id
        )
    )
    if existing is not None:
        return existing
    record = InboundEvent(
        id=new_id("ine"),
        rail=notification.rail,
        event_id=notification.event_id,
        kind=notification.kind,
        reference=notification.reference,
        outcome="received",
        payload=dict(notification.payload),
        received=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        # The same event arrived twice at once (a provider retrying a slow delivery): on
        # PostgreSQL this insert waited for the other copy's transaction and lost. Its
        # record is committed now; answer with it, as for any duplicate.
        winner = session.scalar(
            select(InboundEvent).where(
                InboundEvent.rail == notification.rail,
                InboundEvent.event_id == notification.event_id,
            )
        )
        if winner is None:
            raise
        return winner
    intent = _intent_for(session, notification)
    record.intent_id = intent.id if intent else None
    record.outcome = apply(session, settings, notification, intent)
    return record


def _intent_for(session: Session, notification: Notification) -> PaymentIntent | None:
    intent = None
    if notification.reference:
        intent = intents.by_rail_reference(session, notification.reference)
    if intent is None and notification.intent_id:
        intent = intents.find(session, None, notification.intent_id, lock=True)
    return intent


def apply(
    session: Session, settings: Settings, notification: Notification, intent: PaymentIntent | None
) -> str:
    kind = notification.kind
    if kind is NotificationKind.REFUND_UPDATED:
        return _refund_updated(session, notification)
    if kind is NotificationKind.FUNDS_RECEIVED:
        return _funds_received(session, settings, notification, intent)
    if intent is None:
        return "unknown_payment"
    account = session.get(Account, intent.account_id)
    assert account is not None
    ctx = Context(session, settings, account)
    if kind in (NotificationKind.PAYMENT_SUCCEEDED, NotificationKind.PAYMENT_AUTHORISED):
        return _succeeded(ctx, intent, notification)
    if kind is NotificationKind.PAYMENT_FAILED:
        return _failed(ctx, intent, notification)
    if kind is NotificationKind.PAYMENT_CANCELED:
        if not can(intent.status, E.CANCEL):
            return f"ignored: intent is {intent.status}"
        intents.cancel(ctx, intent, "abandoned", system=True)
        return "canceled"
    return "recorded"


def _succeeded(ctx: Context, intent: PaymentIntent, notification: Notification) -> str:
    if intent.status not in (S.REQUIRES_ACTION, S.PROCESSING):
        return f"ignored: intent is {intent.status}"
    auth = Authorisation.from_dict(intent.authorisation or {})
    captured = notification.kind is NotificationKind.PAYMENT_SUCCEEDED
    if notification.amount is not None and notification.amount != intent.amount:
        return f"ignored: amount {notification.amount} does not match {intent.amount}"
    if intent.status == S.REQUIRES_ACTION:
        intent.status = S(intents.next_status(intent.status, E.ACTION_COMPLETED))
    method = intents.method_of(ctx, intent)
    intents.apply_result(
        ctx,
        intent,
        method,
        AuthorisationResult.approved(auth, captured=captured),
        E.AUTHORISE_DECLINED,
    )
    return "succeeded" if captured else "authorised"


def _failed(ctx: Context, intent: PaymentIntent, notification: Notification) -> str:
    if intent.status not in (S.REQUIRES_ACTION, S.PROCESSING):
        return f"ignored: intent is {intent.status}"
    decline = notification.decline or Decline("payment_failed", "The payment failed.")
    method = intents.method_of(ctx, intent)
    with contextlib.suppress(PaymentDeclined):
        intents.apply_result(
            ctx, intent, method, AuthorisationResult.declined(decline), E.PAYMENT_FAILED
        )
    return "failed"


def _refund_updated(session: Session, notification: Notification) -> str:
    if not notification.refund_reference or notification.refund_status is None:
        return "recorded"
    refund = session.scalar(
        select(Refund).where(Refund.rail_reference == notification.refund_reference)
    )
    if refund is None:
        return "unknown_refund"
    status = str(notification.refund_status)
    if refund.status == status or refund.status in ("succeeded", "failed", "canceled"):
        return f"ignored: refund is {refund.status}"
    refund.status = status
    from payments.refunds import render

    emit(session, refund.account_id, "refund.updated", render(refund))
    return f"refund {status}"


def _funds_received(
    session: Session, settings: Settings, notification: Notification, intent: PaymentIntent | None
) -> str:
    amount, currency = notification.amount, notification.currency
    assert amount is not None and currency is not None
    return bank_credits.apply(
        session,
        settings,
        intent,
        credit_id=notification.event_id,
        amount=amount,
        currency=currency,
    )

"""A payment's timeline: every event about it, its charges and its refunds, oldest first.

The events are the same ones the API lists and webhooks deliver (``core.events``), so
the merchant's page tells exactly the story their integration was told. A compliance
hold shows only as the status the merchant's API shows (``requires_review``): nothing
of why a payment was held reaches a merchant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.events import Event
from payments.charges import Charge
from payments.intents import PaymentIntent
from payments.refunds import Refund


@dataclass(frozen=True)
class Moment:
    at: dt.datetime
    type: str
    object_id: str
    status: str | None
    amount: int | None
    currency: str | None


def _moment(event: Event) -> Moment:
    obj: dict[str, Any] = (event.data or {}).get("object") or {}
    amount = obj.get("amount_received") or obj.get("amount_captured") or obj.get("amount")
    currency = obj.get("currency")
    return Moment(
        event.created,
        event.type,
        str(obj.get("id") or event.object_id or ""),
        obj.get("status"),
        int(amount) if isinstance(amount, int) else None,
        currency.upper() if isinstance(currency, str) else None,
    )


def timeline(session: Session, intent: PaymentIntent) -> list[Moment]:
    charges = session.scalars(select(Charge.id).where(Charge.intent_id == intent.id)).all()
    refunds = session.scalars(select(Refund.id).where(Refund.intent_id == intent.id)).all()
    ids = [intent.id, *charges, *refunds]
    events = session.scalars(
        select(Event)
        .where(Event.object_id.in_(ids), Event.account_id == intent.account_id)
        .order_by(Event.created, Event.id)
    )
    return [_moment(event) for event in events]


def refunds_of(session: Session, intent: PaymentIntent) -> list[Refund]:
    return list(
        session.scalars(
            select(Refund).where(Refund.intent_id == intent.id).order_by(Refund.created)
        )
    )


def refundable(session: Session, intent: PaymentIntent) -> int:
    """What may still be refunded: captured less refunded on the latest charge."""
    if not intent.latest_charge_id:
        return 0
    charge = session.get(Charge, intent.latest_charge_id)
    if charge is None:
        return 0
    return max(charge.amount_captured - charge.amount_refunded, 0)

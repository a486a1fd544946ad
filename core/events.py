"""Events: the record of what happened, in Stripe's Event shape, for every domain.

A domain calls :func:`emit` in the same transaction as the change it describes, with
the object as the API shows it. At commit, the transaction's events fan out to the
webhook endpoints subscribed to them, still inside that transaction (the handler
registered with :func:`fan_out_with`, from payments/webhooks.py): the event rows, their
deliveries and the delivery jobs commit with the change or not at all, so an event
exists exactly when its change does and is owed to exactly the endpoints that existed
then. A process without a registered handler queues a ``webhooks.fan_out`` job instead,
for a worker that has one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from sqlalchemy import JSON, String, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import jobs
from core.database import (
    Base,
    UTCDateTime,
    before_commit_once,
    dropped_on_rollback,
    uncontended,
    utcnow,
)
from core.ids import new_id

API_VERSION = "2024-06-20"

current_request: ContextVar[tuple[str | None, str | None]] = ContextVar(
    "current_request", default=(None, None)
)
"""(request id, idempotency key) of the API request being served, if any."""


class Event(Base):
    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    type: Mapped[str] = mapped_column(String(80), index=True)
    object_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


def emit(
    session: Session,
    account_id: str | None,
    type_: str,
    obj: dict[str, Any],
    *,
    previous_attributes: dict[str, Any] | None = None,
    request_id: str | None = None,
    idempotency_key: str | None = None,
) -> Event:
    if request_id is None and idempotency_key is None:
        request_id, idempotency_key = current_request.get()
    data: dict[str, Any] = {"object": obj}
    if previous_attributes:
        data["previous_attributes"] = previous_attributes
    event = Event(
        id=new_id("evt"),
        account_id=account_id,
        type=type_,
        object_id=obj.get("id"),
        data=data,
        request_id=request_id,
        idempotency_key=idempotency_key,
        created=utcnow(),
    )
    session.add(event)  # written with the transaction's next flush: no round trip of its own
    session.info.setdefault(_EMITTED, []).append(event)
    # Once per transaction, and again if a rolled-back savepoint dropped it.
    before_commit_once(session, _fan_out_at_commit)
    return event


_EMITTED = dropped_on_rollback("events_emitted")

FanOut = Callable[[Session, list[Event]], None]
_fan_out: FanOut | None = None


def fan_out_with(handler: FanOut) -> None:
    """Register what turns a transaction's events, in emission order, into webhook
    deliveries within that transaction."""
    global _fan_out
    _fan_out = handler


def _still_added(event: Event) -> bool:
    state = inspect(event)
    return state.pending or state.persistent


@uncontended
def _fan_out_at_commit(session: Session) -> None:
    """All the events a transaction emitted fan out together (a payment emits several).

    In the transaction rather than in a job of its own: a job per transaction took five
    more transactions (its insert, a sweep, its claim, its run, its completion) for what
    is usually one read that finds no subscribed endpoint."""
    # Events emitted in a savepoint that rolled back are gone from the session, and owed
    # to nobody.
    events = [e for e in session.info.pop(_EMITTED, []) if _still_added(e)]
    if not events:
        return
    if _fan_out is not None:
        _fan_out(session, events)
        return
    event_ids = [event.id for event in events]
    jobs.enqueue(session, "webhooks.fan_out", f"fan_out:{event_ids[0]}", {"event_ids": event_ids})


def render(event: Event, pending_webhooks: int = 0) -> dict[str, Any]:
    """The Event object exactly as the API and webhook deliveries show it."""
    body: dict[str, Any] = {
        "id": event.id,
        "object": "event",
        "api_version": API_VERSION,
        "created": int(event.created.timestamp()),
        "data": event.data,
        "livemode": False,
        "pending_webhooks": pending_webhooks,
        "request": {"id": event.request_id, "idempotency_key": event.idempotency_key},
        "type": event.type,
    }
    if event.account_id:
        body["account"] = event.account_id
    return body


def events_for(session: Session, object_id: str) -> list[Event]:
    """Events about one object, oldest first (a payment's timeline)."""
    query = select(Event).where(Event.object_id == object_id).order_by(Event.created, Event.id)
    return list(session.scalars(query))

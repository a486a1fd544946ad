"""Outbound webhooks: merchants' endpoints, signed deliveries, retries for three days.

Events (:mod:`core.events`) are fanned out, in the transaction that emitted them, to
every enabled endpoint that subscribes to their type, one delivery row and one job per
endpoint, so endpoints fail and retry independently. Each attempt is signed exactly as
Stripe signs (``Stripe-Signature: t=...,v1=...``) so merchants verify with
``stripe.Webhook.construct_event``, and logged.
A delivery succeeds once; should a worker die between the endpoint's 2xx and recording
it, the endpoint sees the event again, which is why receivers dedupe on the event id
(as Stripe asks of them too).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import time
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core import jobs
from core.database import Base, Database, UTCDateTime, utcnow
from core.events import Event, fan_out_with, render
from core.ids import new_id
from core.keyring import Keyring, Sealed
from core.settings import Settings, get_settings
from payments.webhook_retry import RetrySchedule
from payments.webhook_signature import generate_endpoint_secret, sign

MAX_ENDPOINTS_PER_ACCOUNT = 16


class EndpointError(ValueError):
    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    """None: a platform endpoint, which receives every account's events."""
    url: Mapped[str] = mapped_column(String(2048))
    enabled_events: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="enabled")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    secret_kid: Mapped[str] = mapped_column(String(32))
    secret_nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), ForeignKey("events.id"), index=True)
    endpoint_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("webhook_endpoints.id"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """pending | succeeded | failed"""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    # Never loaded (lazy="raise"): declared so that one flush writes the event and the
    # endpoint before a delivery that refers to them (an event is written lazily, with
    # the transaction's next flush).
    event: Mapped[Event] = relationship(Event, lazy="raise")
    endpoint: Mapped[WebhookEndpoint] = relationship(WebhookEndpoint, lazy="raise")

    __table_args__ = (UniqueConstraint("event_id", "endpoint_id"),)


class DeliveryAttempt(Base):
    __tablename__ = "webhook_delivery_attempts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("webhook_deliveries.id"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer)


def _binding(endpoint_id: str) -> bytes:
    return f"webhook_endpoint:{endpoint_id}".encode()


def validate_url(url: str, *, allow_private: bool = False) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise EndpointError("url must be an absolute http(s) URL.", "url")
    refusal = private_destination(parts.hostname, allow_private=allow_private, resolve=False)
    if refusal:
        raise EndpointError(f"url must point at a public address: {refusal}.", "url")
    return url


def private_destination(host: str, *, allow_private: bool, resolve: bool = True) -> str | None:
    """Why delivering to ``host`` would reach inside our own network (SSRF), or None.

    At creation only literal addresses (and ``localhost``) are judged; at delivery the name
    is resolved and every address checked, so a name re-pointed later (DNS rebinding)
    cannot reach internal services either.
    """
    if allow_private:
        return None
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        return f"{host} is this machine"
    candidates: list[str] = []
    try:
        candidates = [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        if resolve:
            try:
                infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
            except OSError:
                return None  # unresolvable: the delivery fails on its own and is retried
            candidates = [str(info[4][0]) for info in infos]
    for text in candidates:
        address = ipaddress.ip_address(text.split("%")[0])
        if (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_multicast
            or address.is_reserved
            or address.is_unspecified
        ):
            return f"{host} resolves to {address}, which is not a public address"
    return None


def create_endpoint(
    session: Session,
    keyring: Keyring,
    *,
    account_id: str | None,
    url: str,
    enabled_events: list[str],
    description: str | None = None,
    metadata: dict[str, str] | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret, which is returned this once only."""
    if not enabled_events:
        raise EndpointError(
            "enabled_events must list at least one event type or '*'.", "enabled_events"
        )
    existing = session.scalars(
        select(WebhookEndpoint.id).where(
            WebhookEndpoint.account_id.is_(None)
            if account_id is None
            else WebhookEndpoint.account_id == account_id,
            WebhookEndpoint.deleted.is_(False),
        )
    ).all()
    if len(existing) >= MAX_ENDPOINTS_PER_ACCOUNT:
        raise EndpointError(
            f"An account may have at most {MAX_ENDPOINTS_PER_ACCOUNT} webhook endpoints.", "url"
        )
    secret = generate_endpoint_secret()
    endpoint_id = new_id("we")
    sealed = keyring.seal(secret.encode(), _binding(endpoint_id))
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        account_id=account_id,
        url=validate_url(url, allow_private=get_settings().webhook_allow_private),
        enabled_events=list(dict.fromkeys(enabled_events)),
        description=description,
        metadata_=metadata or {},
        status="enabled",
        deleted=False,
        secret_kid=sealed.kid,
        secret_nonce=sealed.nonce,
        secret_ciphertext=sealed.ciphertext,
        created=utcnow(),
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def endpoint_secret(endpoint: WebhookEndpoint, keyring: Keyring) -> str:
    sealed = Sealed(endpoint.secret_kid, endpoint.secret_nonce, endpoint.secret_ciphertext)
    return keyring.open(sealed, _binding(endpoint.id)).decode()


class Subscriber(Protocol):
    """What fan-out needs of an endpoint (a :class:`WebhookEndpoint`, or a row of it)."""

    id: str
    enabled_events: list[str]


def subscribes(endpoint: Subscriber, event_type: str) -> bool:
    return "*" in endpoint.enabled_events or event_type in endpoint.enabled_events


def render_endpoint(endpoint: WebhookEndpoint, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "api_version": None,
        "application": None,
        "created": int(endpoint.created.timestamp()),
        "description": endpoint.description,
        "enabled_events": endpoint.enabled_events,
        "livemode": False,
        "metadata": endpoint.metadata_,
        "status": endpoint.status,
        "url": endpoint.url,
    }
    if secret is not None:
        body["secret"] = secret
    return body


# --- jobs ---------------------------------------------------------------------------


@jobs.job_handler("webhooks.fan_out")
def fan_out(db: Database, event_ids: list[str] | None = None, event_id: str | None = None) -> None:
    """The fan-out of events queued as a job (by a process that had no fan-out handler,
    or before fan-out moved into the emitting transaction); re-running adds nothing
    twice."""
    ids = [*(event_ids or []), *([event_id] if event_id else [])]
    if ids:
        db.run(lambda session: _fan_out_ids(session, ids))


def _fan_out_ids(session: Session, event_ids: list[str]) -> None:
    found = {e.id: e for e in session.scalars(select(Event).where(Event.id.in_(event_ids)))}
    fan_out_events(session, [found[i] for i in event_ids if i in found])


def fan_out_events(session: Session, events: list[Event]) -> None:
    """One delivery (and delivery job) per event and subscribed endpoint, in the
    caller's transaction and in the order the events were emitted; each account's
    endpoints are read once."""
    endpoints: dict[str | None, Sequence[Subscriber]] = {}
    for event in events:
        if event.account_id not in endpoints:
            endpoints[event.account_id] = _enabled_endpoints(session, event.account_id)
        for endpoint in endpoints[event.account_id]:
            if subscribes(endpoint, event.type):
                _add_delivery(session, event, endpoint)


fan_out_with(fan_out_events)


_endpoints = WebhookEndpoint.__table__
_RECEIVING = select(_endpoints.c.id, _endpoints.c.enabled_events).where(
    _endpoints.c.deleted.is_(False), _endpoints.c.status == "enabled"
)
_PLATFORM_RECEIVING = _RECEIVING.where(_endpoints.c.account_id.is_(None))
_ACCOUNT_RECEIVING = _RECEIVING.where(
    or_(_endpoints.c.account_id.is_(None), _endpoints.c.account_id == bindparam("account_id"))
)


def _enabled_endpoints(session: Session, account_id: str | None) -> Sequence[Subscriber]:
    """The platform's endpoints, and the account's own, that receive events now (built
    once and read as plain rows: every transaction that emits an event asks)."""
    if account_id:
        return session.execute(_ACCOUNT_RECEIVING, {"account_id": account_id}).all()  # type: ignore[return-value]
    return session.execute(_PLATFORM_RECEIVING).all()  # type: ignore[return-value]


def _add_delivery(session: Session, event: Event, endpoint: Subscriber) -> None:
    exists = session.scalar(
        select(WebhookDelivery.id).where(
            WebhookDelivery.event_id == event.id,
            WebhookDelivery.endpoint_id == endpoint.id,
        )
    )
    if exists:
        return
    delivery = WebhookDelivery(
        id=new_id("whd"),
        event_id=event.id,
        endpoint_id=endpoint.id,
        status="pending",
        attempts=0,
        created=utcnow(),
    )
    session.add(delivery)
    session.flush()
    jobs.enqueue(
        session, "webhooks.deliver", f"deliver:{delivery.id}", {"delivery_id": delivery.id}
    )


def _schedule(settings: Settings) -> RetrySchedule:
    base = dt.timedelta(seconds=settings.webhook_retry_base_seconds)
    return RetrySchedule(base=base, cap=max(base, dt.timedelta(hours=12)))


@jobs.job_handler("webhooks.deliver", max_attempts=1000)
def deliver(db: Database, delivery_id: str) -> None:
    settings = get_settings()
    keyring = Keyring.from_settings(settings)
    with db.transaction(write=False) as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != "pending":
            return
        event = session.get(Event, delivery.event_id)
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        assert event is not None and endpoint is not None
        if endpoint.deleted or endpoint.status != "enabled":
            payload = None
        else:
            payload = json.dumps(render(event, pending_webhooks=1), separators=(",", ":"))
            secret = endpoint_secret(endpoint, keyring)
            url = endpoint.url
        first_attempt = delivery.created
        number = delivery.attempts + 1
    if payload is None:
        db.run(lambda s: _finish(s, delivery_id, "failed", None, "endpoint disabled or deleted"))
        return
    refusal = private_destination(
        urlsplit(url).hostname or "", allow_private=settings.webhook_allow_private
    )
    if refusal:
        db.run(lambda s: _finish(s, delivery_id, "failed", None, f"refused: {refusal}"))
        return

    started = time.monotonic()
    status_code: int | None = None
    error: str | None = None
    try:
        response = httpx.post(
            url,
            content=payload.encode(),
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": sign(payload, secret),
                "User-Agent": "Corridor/1.0 (+webhooks)",
            },
            timeout=settings.webhook_timeout_seconds,
        )
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"endpoint answered {status_code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    elapsed = int((time.monotonic() - started) * 1000)
    now = utcnow()

    def record(session: Session) -> dt.datetime | None:
        session.add(
            DeliveryAttempt(
                id=new_id("wha"),
                delivery_id=delivery_id,
                number=number,
                at=now,
                status_code=status_code,
                error=error,
                duration_ms=elapsed,
            )
        )
        if error is None:
            _finish(session, delivery_id, "succeeded", status_code, None, attempts=number)
            return None
        retry_at = _schedule(settings).next_attempt_at(number, now, first_attempt_at=first_attempt)
        if retry_at is None:
            _finish(session, delivery_id, "failed", status_code, error, attempts=number)
            return None
        delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        delivery.attempts = number
        delivery.last_status_code = status_code
        delivery.last_error = error
        delivery.next_attempt_at = retry_at
        return retry_at

    retry_at = db.run(record)
    if retry_at is not None:
        raise jobs.RetryLater(error or "retry", delay=retry_at - utcnow())


def _finish(
    session: Session,
    delivery_id: str,
    status: str,
    code: int | None,
    error: str | None,
    *,
    attempts: int | None = None,
) -> None:
    delivery = session.get(WebhookDelivery, delivery_id)
    assert delivery is not None
    delivery.status = status
    delivery.last_status_code = code
    delivery.last_error = error
    delivery.next_attempt_at = None
    if attempts is not None:
        delivery.attempts = attempts
    if status == "succeeded":
        delivery.delivered_at = utcnow()

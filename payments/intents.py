"""PaymentIntents: Stripe's lifecycle of one payment, from creation to money moved.

Every change of status goes through :mod:`payments.intent_state`, in the same
transaction as the ledger booking it causes (:mod:`settlement.booking`) and the events
it emits, so a payment is never ``succeeded`` without its money in the ledger, nor the
other way round. Rail adapters are asked for money only after the pre-authorisation
check (compliance) has allowed the payment; a hold puts the intent in
``requires_review`` before anything moves.

Processor idempotency keys derive from the intent id and its ``attempt`` counter, which
only moves forward when a confirm commits: a request that failed half-way and is
retried asks the processor with the same key, and the processor replays its answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import jobs
from core.accounts import Account
from core.database import Base, UTCDateTime, utcnow
from core.events import emit
from core.ids import new_id, random_token
from core.money import currency_code
from core.settings import Settings
from core.tasks import periodic
from payments import charges as charge_records
from payments import methods as payment_methods
from payments.charges import Charge
from payments.intent_state import (
    CANCELLATION_REASONS,
    IntentEvent,
    IntentStateError,
    IntentStatus,
    next_status,
)
from payments.methods import METHOD_TYPES, PaymentMethod
from payments.preauthorisation import PaymentFacts, evaluate
from payments.rails.base import (
    Authorisation,
    AuthorisationOutcome,
    AuthorisationRequest,
    AuthorisationResult,
    Decline,
)
from payments.routing import rail_for, rail_named
from settlement import booking

E = IntentEvent
S = IntentStatus

GENERIC_DECLINE = Decline("card_declined", "Your card was declined.", "generic_decline")


class PaymentError(ValueError):
    """A request about an intent that cannot be carried out as asked."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.param = param
        self.code = code


class PaymentDeclined(Exception):
    """The payment was declined; the intent has been updated (and must be committed)."""

    def __init__(self, intent: PaymentIntent, decline: Decline) -> None:
        super().__init__(decline.message)
        self.intent = intent
        self.decline = decline


class PaymentIntent(Base):
    __tablename__ = "payment_intents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(32), index=True)
    capture_method: Mapped[str] = mapped_column(String(16))
    payment_method_types: Mapped[list[str]] = mapped_column(JSON)
    payment_method_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    amount_capturable: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_received: Mapped[int] = mapped_column(BigInteger, default=0)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    receipt_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    statement_descriptor: Mapped[str | None] = mapped_column(String(22), nullable=True)
    payer: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    next_action: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    last_payment_error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    cancellation_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    canceled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    latest_charge_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    rail: Mapped[str | None] = mapped_column(String(32), nullable=True)
    rail_reference: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    authorisation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    capture_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    return_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    fx_quote_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    review_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    funding: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Bank transfers: credits received (ids, amounts), surplus owed back to the payer."""
    client_secret: Mapped[str] = mapped_column(String(80))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)


@dataclass
class Context:
    """What every operation on an intent needs: the transaction, settings, the merchant."""

    session: Session
    settings: Settings
    account: Account


@dataclass(frozen=True)
class NewIntent:
    amount: int
    currency: str
    capture_method: str = "automatic"
    payment_method_types: tuple[str, ...] = ("card",)
    payment_method: str | PaymentMethod | None = None
    """An id to resolve, or a method the caller made in this transaction (attached
    without being read back)."""
    description: str | None = None
    metadata: dict[str, str] | None = None
    receipt_email: str | None = None
    statement_descriptor: str | None = None
    payer: dict[str, Any] | None = None
    fx_quote: str | None = None


# --- reading ------------------------------------------------------------------------


def find(session: Session, account_id: str | None, intent_id: str, *, lock: bool = False):
    """The intent if it belongs to ``account_id`` (any account when None), else None."""
    query = select(PaymentIntent).where(PaymentIntent.id == intent_id)
    if lock:
        query = query.with_for_update()
    intent = session.scalar(query)
    if intent is None or (account_id is not None and intent.account_id != account_id):
        return None
    return intent


def find_with_account(session: Session, intent_id: str) -> tuple[PaymentIntent, Account] | None:
    """The intent, locked for a change, and its merchant's account, in one statement
    (only the intent's row is locked: the account is read, as a separate lookup would)."""
    row = session.execute(
        select(PaymentIntent, Account)
        .join(Account, Account.id == PaymentIntent.account_id)
        .where(PaymentIntent.id == intent_id)
        .with_for_update(of=PaymentIntent)
    ).first()
    return None if row is None else (row[0], row[1])


def by_rail_reference(session: Session, reference: str, *, lock: bool = True):
    query = select(PaymentIntent).where(PaymentIntent.rail_reference == reference)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


# --- creating and updating ----------------------------------------------------------


def _check_types(types: tuple[str, ...]) -> list[str]:
    unknown = [t for t in types if t not in METHOD_TYPES]
    if unknown or not types:
        raise PaymentError(
            f"Invalid payment_method_types: {', '.join(unknown) or '(empty)'}. "
            f"Supported: {', '.join(sorted(METHOD_TYPES))}.",
            param="payment_method_types",
        )
    return list(dict.fromkeys(types))


def create(ctx: Context, new: NewIntent) -> PaymentIntent:
    try:
        currency = currency_code(new.currency)
    except ValueError as exc:
        raise PaymentError(f"Invalid currency: {new.currency}.", param="currency") from exc
    if new.capture_method not in ("automatic", "automatic_async", "manual"):
        raise PaymentError("Invalid capture_method.", param="capture_method")
    intent_id = new_id("pi")
    intent = PaymentIntent(
        id=intent_id,
        account_id=ctx.account.id,
        amount=new.amount,
        currency=currency,
        status=S.REQUIRES_PAYMENT_METHOD,
        capture_method="manual" if new.capture_method == "manual" else "automatic",
        payment_method_types=_check_types(new.payment_method_types),
        description=new.description,
        metadata_=new.metadata or {},
        receipt_email=new.receipt_email,
        statement_descriptor=new.statement_descriptor,
        payer=new.payer or {},
        fx_quote_id=new.fx_quote,
        funding={},
        attempt=0,
        amount_capturable=0,
        amount_received=0,
        client_secret=f"{intent_id}_secret_{random_token(24)}",
        created=utcnow(),
    )
    ctx.session.add(intent)
    if new.payment_method:
        _attach(ctx, intent, new.payment_method)
    emit_intent(ctx.session, intent, "payment_intent.created")
    return intent


def _attach(ctx: Context, intent: PaymentIntent, method: str | PaymentMethod) -> PaymentMethod:
    if isinstance(method, str):
        method = payment_methods.resolve(
            ctx.session, ctx.settings, ctx.account.id, method, param="payment_method"
        )
    if method.type not in intent.payment_method_types:
        raise PaymentError(
            f"The PaymentMethod provided ({method.type}) is not allowed for this PaymentIntent. "
            f"Allowed types: {', '.join(intent.payment_method_types)}.",
            param="payment_method",
            code="payment_intent_incompatible_payment_method",
        )
    intent.status = next_status(intent.status, E.ATTACH_PAYMENT_METHOD)
    intent.payment_method_id = method.id
    intent.next_action = None
    return method


UPDATABLE = frozenset({S.REQUIRES_PAYMENT_METHOD, S.REQUIRES_CONFIRMATION, S.REQUIRES_ACTION})


def update(ctx: Context, intent: PaymentIntent, changes: dict[str, Any]) -> PaymentIntent:
    """Stripe allows most fields to change only before the payment is processing.

    ``changes`` holds final values (the API has already merged ``metadata``).
    """
    if intent.status not in UPDATABLE and set(changes) - {"metadata", "description"}:
        raise IntentStateError(IntentStatus(intent.status), E.ATTACH_PAYMENT_METHOD, UPDATABLE)
    for field, value in changes.items():
        if field == "payment_method":
            _attach(ctx, intent, value)
        elif field == "currency":
            try:
                intent.currency = currency_code(value)
            except ValueError as exc:
                raise PaymentError(f"Invalid currency: {value}.", param="currency") from exc
        elif field == "payment_method_types":
            intent.payment_method_types = _check_types(tuple(value))
        elif field in _PLAIN_FIELDS:
            setattr(intent, _PLAIN_FIELDS[field], value)
        else:  # pragma: no cover - the API offers only the fields above
            raise PaymentError(f"{field} cannot be updated.", param=field)
    ctx.session.flush()
    return intent


_PLAIN_FIELDS = {
    "amount": "amount",
    "description": "description",
    "metadata": "metadata_",
    "receipt_email": "receipt_email",
    "statement_descriptor": "statement_descriptor",
    "capture_method": "capture_method",
    "payer": "payer",
    "fx_quote": "fx_quote_id",
}


# --- confirming ---------------------------------------------------------------------


def confirm(
    ctx: Context,
    intent: PaymentIntent,
    *,
    payment_method: str | PaymentMethod | None = None,
    return_url: str | None = None,
) -> PaymentIntent:
    """Confirm: check compliance, then ask the rail for the money."""
    attached = _attach(ctx, intent, payment_method) if payment_method else None
    if intent.payment_method_id is None:
        raise PaymentError(
            "You cannot confirm this PaymentIntent because it's missing a payment method. "
            "Provide payment_method.",
            param="payment_method",
            code="payment_intent_unexpected_state",
        )
    confirming = next_status(intent.status, E.CONFIRM)
    # The method, the quote and the compliance verdict are read before the intent
    # changes, so that their queries have no changed intent to flush first: the intent
    # is written once, by the transaction's last flush.
    method = attached or method_of(ctx, intent)
    if intent.fx_quote_id:
        booking.lock_quote(
            ctx.session,
            ctx.account,
            quote_id=intent.fx_quote_id,
            intent_id=intent.id,
            currency=intent.currency,
        )
    verdict = evaluate(ctx.session, _facts(intent, method))
    intent.status = confirming
    intent.attempt += 1
    intent.return_url = return_url or intent.return_url
    intent.last_payment_error = None
    if verdict.decision == "review":
        intent.status = next_status(intent.status, E.REVIEW_HOLD)
        intent.review_id = verdict.review_id
        emit_intent(ctx.session, intent, "payment_intent.requires_action")
        return intent
    if verdict.decision == "block":
        return _decline(ctx, intent, method, GENERIC_DECLINE, E.AUTHORISE_DECLINED)
    return _authorise(ctx, intent, method)


def method_of(ctx: Context, intent: PaymentIntent) -> PaymentMethod:
    method = ctx.session.get(PaymentMethod, intent.payment_method_id)
    assert method is not None
    return method


def _facts(intent: PaymentIntent, method: PaymentMethod) -> PaymentFacts:
    card = method.card or {}
    return PaymentFacts(
        intent_id=intent.id,
        account_id=intent.account_id,
        amount=intent.amount,
        currency=intent.currency,
        payer=dict(intent.payer or {}),
        method_type=method.type,
        card_fingerprint=card.get("fingerprint"),
        card_country=card.get("country"),
        description=intent.description,
        metadata=dict(intent.metadata_ or {}),
    )


def _authorise(ctx: Context, intent: PaymentIntent, method: PaymentMethod) -> PaymentIntent:
    rail = rail_for(ctx.settings, ctx.account, method.type, intent.currency)
    if intent.capture_method == "manual" and not rail.supports_manual_capture:
        raise PaymentError(
            f"capture_method=manual is not supported for {method.type} payments.",
            param="capture_method",
        )
    request = AuthorisationRequest(
        intent_id=intent.id,
        attempt=intent.attempt,
        amount=intent.amount,
        currency=intent.currency,
        capture_method=intent.capture_method,  # type: ignore[arg-type]
        instrument=payment_methods.instrument(ctx.session, ctx.settings, method),
        return_url=intent.return_url,
        description=intent.description,
        metadata=dict(intent.metadata_ or {}),
    )
    return apply_result(ctx, intent, method, rail.authorise(request), E.AUTHORISE_DECLINED)


def apply_result(
    ctx: Context,
    intent: PaymentIntent,
    method: PaymentMethod,
    result: AuthorisationResult,
    decline_event: IntentEvent,
) -> PaymentIntent:
    """Move the intent on from a rail's answer (a first authorisation or a resume)."""
    if result.authorisation is not None:
        intent.authorisation = result.authorisation.to_dict()
        intent.rail = result.authorisation.rail
        intent.rail_reference = result.authorisation.reference
    if result.outcome is AuthorisationOutcome.DECLINED:
        assert result.decline is not None
        return _decline(ctx, intent, method, result.decline, decline_event)
    if result.outcome is AuthorisationOutcome.ACTION_REQUIRED:
        intent.status = next_status(intent.status, E.ACTION_REQUIRED)
        intent.next_action = dict(result.next_action or {})
        emit_intent(ctx.session, intent, "payment_intent.requires_action")
        return intent
    if result.outcome is AuthorisationOutcome.PENDING:
        intent.status = next_status(intent.status, E.AUTHORISE_PENDING)
        emit_intent(ctx.session, intent, "payment_intent.processing")
        return intent
    return _approved(ctx, intent, method, result)


def _approved(
    ctx: Context, intent: PaymentIntent, method: PaymentMethod, result: AuthorisationResult
) -> PaymentIntent:
    intent.next_action = None
    intent.status = next_status(intent.status, E.AUTHORISE_OK, capture_method=intent.capture_method)
    charge = charge_records.open_charge(
        ctx.session,
        intent_id=intent.id,
        account_id=intent.account_id,
        amount=intent.amount,
        currency=intent.currency,
        method=method,
        status="succeeded",
        captured_amount=result.captured_amount,
    )
    intent.latest_charge_id = charge.id
    if result.captured_amount:
        book_capture(ctx, intent, charge, method, result.captured_amount, from_hold=False)
        emit_intent(ctx.session, intent, "payment_intent.succeeded")
        _emit_charge(ctx.session, charge, "charge.succeeded")
        _after_success(ctx.session, intent)
    else:
        booking.hold(
            ctx.session, intent_id=intent.id, amount=intent.amount, currency=intent.currency
        )
        intent.amount_capturable = intent.amount
        intent.capture_before = utcnow() + dt.timedelta(
            seconds=ctx.settings.authorization_ttl_seconds
        )
        _emit_charge(ctx.session, charge, "charge.succeeded")
        emit_intent(ctx.session, intent, "payment_intent.amount_capturable_updated")
    return intent


def book_capture(
    ctx: Context,
    intent: PaymentIntent,
    charge: Charge,
    method: PaymentMethod | None,
    amount: int,
    *,
    from_hold: bool = False,
    from_customer_balance: bool = False,
    arriving: booking.CustomerCredit | None = None,
) -> None:
    booked = booking.book_capture(
        ctx.session,
        ctx.account,
        intent_id=intent.id,
        amount=amount,
        currency=intent.currency,
        card_country=(method.card or {}).get("country") if method else None,
        quote_id=intent.fx_quote_id,
        from_hold=from_hold,
        from_customer_balance=from_customer_balance,
        arriving=arriving,
    )
    charge.amount_captured = amount
    charge.captured = True
    charge.status = "succeeded"
    charge.balance_transaction_id = booked.balance_transaction.id
    intent.amount_received = amount
    intent.amount_capturable = 0


def _decline(
    ctx: Context, intent: PaymentIntent, method: PaymentMethod, decline: Decline, event: IntentEvent
) -> PaymentIntent:
    intent.status = next_status(intent.status, event)
    intent.next_action = None
    charge = charge_records.open_charge(
        ctx.session,
        intent_id=intent.id,
        account_id=intent.account_id,
        amount=intent.amount,
        currency=intent.currency,
        method=method,
        status="failed",
        decline=decline,
    )
    intent.latest_charge_id = charge.id
    intent.last_payment_error = {
        "type": "card_error" if method.type == "card" else "invalid_request_error",
        "code": decline.code,
        "decline_code": decline.decline_code,
        "message": decline.message,
        "charge": charge.id,
        "payment_method": payment_methods.render(method),
    }
    _emit_charge(ctx.session, charge, "charge.failed")
    emit_intent(ctx.session, intent, "payment_intent.payment_failed")
    raise PaymentDeclined(intent, decline)


# --- after confirmation -------------------------------------------------------------


def resume(ctx: Context, intent: PaymentIntent, action_result: str) -> PaymentIntent:
    """The payer is back from ``next_action`` (3-D Secure passed or failed)."""
    if intent.status != S.REQUIRES_ACTION or not intent.authorisation:
        raise PaymentError(
            "This PaymentIntent has no action to complete.", code="payment_intent_unexpected_state"
        )
    rail = rail_named(intent.rail or "", ctx.settings)
    result = rail.resume(Authorisation.from_dict(intent.authorisation), action_result=action_result)
    method = method_of(ctx, intent)
    if result.outcome is AuthorisationOutcome.DECLINED:
        return apply_result(ctx, intent, method, result, E.ACTION_FAILED)
    if result.outcome is AuthorisationOutcome.ACTION_REQUIRED:
        return intent
    intent.status = next_status(intent.status, E.ACTION_COMPLETED)
    return apply_result(ctx, intent, method, result, E.AUTHORISE_DECLINED)


def capture(ctx: Context, intent: PaymentIntent, amount_to_capture: int | None) -> PaymentIntent:
    """Capture all or part of a hold; what is not captured goes back to the payer."""
    amount = intent.amount_capturable if amount_to_capture is None else amount_to_capture
    next_status(intent.status, E.CAPTURE)
    if not 0 < amount <= intent.amount_capturable:
        raise PaymentError(
            f"amount_to_capture must be between 1 and the capturable amount "
            f"({intent.amount_capturable}).",
            param="amount_to_capture",
            code="amount_too_large" if amount > 0 else "parameter_invalid",
        )
    rail = rail_named(intent.rail or "", ctx.settings)
    auth = Authorisation.from_dict(intent.authorisation or {})
    rail.capture(auth, amount, attempt=intent.attempt)
    found = charge_records.with_method(ctx.session, intent.latest_charge_id or "")
    assert found is not None
    charge, method = found
    book_capture(ctx, intent, charge, method, amount, from_hold=True)
    intent.status = next_status(intent.status, E.CAPTURE)
    intent.capture_before = None
    _emit_charge(ctx.session, charge, "charge.captured")
    emit_intent(ctx.session, intent, "payment_intent.succeeded")
    _after_success(ctx.session, intent)
    return intent


def cancel(ctx: Context, intent: PaymentIntent, reason: str | None, *, system: bool = False):
    """Cancel; a hold is released at the rail and in the ledger."""
    if reason is not None and not system and reason not in CANCELLATION_REASONS:
        raise PaymentError(
            "Invalid cancellation_reason: must be one of "
            f"{', '.join(sorted(CANCELLATION_REASONS))}.",
            param="cancellation_reason",
        )
    rail = rail_named(intent.rail, ctx.settings) if intent.rail else None
    status = next_status(
        intent.status,
        E.CANCEL,
        cancelable_while_processing=bool(rail and rail.cancelable_while_processing),
    )
    if intent.status == S.REQUIRES_CAPTURE and rail is not None and intent.authorisation:
        rail.cancel(Authorisation.from_dict(intent.authorisation), attempt=intent.attempt)
        booking.release(ctx.session, intent_id=intent.id)
    intent.status = status
    intent.amount_capturable = 0
    intent.capture_before = None
    intent.next_action = None
    intent.cancellation_reason = reason
    intent.canceled_at = utcnow()
    emit_intent(ctx.session, intent, "payment_intent.canceled")
    return intent


def release_review(ctx: Context, intent: PaymentIntent) -> PaymentIntent:
    """Compliance approved the held payment: it continues to authorisation."""
    intent.status = next_status(intent.status, E.REVIEW_APPROVE)
    try:
        return _authorise(ctx, intent, method_of(ctx, intent))
    except PaymentDeclined:
        return intent


def reject_review(ctx: Context, intent: PaymentIntent) -> PaymentIntent:
    intent.status = next_status(intent.status, E.REVIEW_REJECT)
    intent.cancellation_reason = "failed_review"
    intent.canceled_at = utcnow()
    emit_intent(ctx.session, intent, "payment_intent.canceled")
    return intent


def _after_success(session: Session, intent: PaymentIntent) -> None:
    if intent.receipt_email:
        jobs.enqueue(session, "receipts.email", f"receipt:{intent.id}", {"intent_id": intent.id})


# --- rendering and events -----------------------------------------------------------


def render(intent: PaymentIntent, *, charge: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": intent.id,
        "object": "payment_intent",
        "amount": intent.amount,
        "amount_capturable": intent.amount_capturable,
        "amount_received": intent.amount_received,
        "application": None,
        "canceled_at": int(intent.canceled_at.timestamp()) if intent.canceled_at else None,
        "cancellation_reason": intent.cancellation_reason,
        "capture_method": intent.capture_method,
        "client_secret": intent.client_secret,
        "confirmation_method": "automatic",
        "created": int(intent.created.timestamp()),
        "currency": intent.currency.lower(),
        "customer": None,
        "description": intent.description,
        "last_payment_error": intent.last_payment_error,
        "latest_charge": charge if charge is not None else intent.latest_charge_id,
        "livemode": False,
        "metadata": intent.metadata_,
        "next_action": intent.next_action,
        "on_behalf_of": None,
        "payment_method": intent.payment_method_id,
        "payment_method_options": {},
        "payment_method_types": intent.payment_method_types,
        "processing": None,
        "receipt_email": intent.receipt_email,
        "review": intent.review_id,
        "statement_descriptor": intent.statement_descriptor,
        "status": intent.status,
        "payer": intent.payer or None,
        "fx_quote": intent.fx_quote_id,
    }


def emit_intent(session: Session, intent: PaymentIntent, type_: str) -> None:
    emit(session, intent.account_id, type_, render(intent))


def _emit_charge(session: Session, charge: Charge, type_: str) -> None:
    emit(session, charge.account_id, type_, charge_records.render(charge))


# --- housekeeping -------------------------------------------------------------------


@jobs.job_handler("payments.expire_authorisations")
def expire_authorisations(db: Any, limit: int = 500) -> int:
    """Cancel intents whose uncaptured authorisation outlived its time (Stripe: 7 days)."""
    from core.settings import get_settings

    now = utcnow()
    with db.transaction(write=False) as session:
        due = session.scalars(
            select(PaymentIntent.id)
            .where(PaymentIntent.status == S.REQUIRES_CAPTURE, PaymentIntent.capture_before <= now)
            .limit(limit)
        ).all()
    settings = get_settings()

    def expire(session: Session, intent_id: str) -> None:
        intent = find(session, None, intent_id, lock=True)
        if intent is None or intent.status != S.REQUIRES_CAPTURE:
            return
        account = session.get(Account, intent.account_id)
        assert account is not None
        cancel(Context(session, settings, account), intent, "automatic", system=True)

    for intent_id in due:
        db.run(lambda session, intent_id=intent_id: expire(session, intent_id))
    return len(due)


periodic("payments.expire_authorisations", dt.timedelta(minutes=10))

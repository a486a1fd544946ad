"""Card payments through Stripe, with stripe-python's ``StripeClient``.

Corridor keeps its own intent; at Stripe each Corridor confirm attempt is one
PaymentIntent created with ``confirm=true``. Every call carries an idempotency key
derived from Corridor's ids (``corridor:{intent_id}:authorise:{attempt}``,
``corridor:{refund_id}:refund:{attempt}``...), so any retry — stripe-python's own
network retries, or the intent service retrying after a timeout or a crash — is
replayed by Stripe instead of charging twice.

Stripe's answers map onto Corridor's results: ``succeeded`` / ``requires_capture`` ->
approved, ``requires_action`` -> action_required (``next_action`` passed through),
``processing`` -> pending, a ``CardError`` -> declined with Stripe's ``code`` and
``decline_code``. Rate limits, connection failures and Stripe 5xx raise
:class:`RetryableRailError`; anything else :class:`RailError`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import stripe
from stripe import StripeClient

from core.settings import Settings
from payments import webhook_signature
from payments.rails.base import (
    Authorisation,
    AuthorisationOutcome,
    AuthorisationRequest,
    AuthorisationResult,
    CancelResult,
    CaptureResult,
    CardInstrument,
    Decline,
    Notification,
    NotificationError,
    NotificationKind,
    RailError,
    RefundResult,
    RefundStatus,
    RetryableRailError,
    check_capture_amount,
    check_refund_amount,
    header_value,
    idempotency_key,
)

RAIL: Final = "stripe"
INTENT_METADATA_KEY: Final = "corridor_intent_id"
REFUND_METADATA_KEY: Final = "corridor_refund_id"

_NOTIFICATION_KINDS: Final[Mapping[str, NotificationKind]] = {
    "payment_intent.succeeded": NotificationKind.PAYMENT_SUCCEEDED,
    "payment_intent.amount_capturable_updated": NotificationKind.PAYMENT_AUTHORISED,
    "payment_intent.payment_failed": NotificationKind.PAYMENT_FAILED,
    "payment_intent.requires_action": NotificationKind.ACTION_REQUIRED,
    "payment_intent.canceled": NotificationKind.PAYMENT_CANCELED,
    "refund.created": NotificationKind.REFUND_UPDATED,
    "refund.updated": NotificationKind.REFUND_UPDATED,
    "refund.failed": NotificationKind.REFUND_UPDATED,
}


def build_client(
    api_key: str,
    *,
    api_base: str | None = None,
    timeout: float = 30.0,
    max_network_retries: int = 2,
) -> StripeClient:
    """A ``StripeClient`` with a bounded timeout and network retries.

    stripe-python retries timeouts and connection errors itself, re-sending the
    request's idempotency key, which is what makes retrying a POST safe.
    """
    return StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=max_network_retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


class StripeCardAdapter:
    name = RAIL
    supports_manual_capture = True
    cancelable_while_processing = False

    def __init__(
        self,
        client: StripeClient,
        *,
        webhook_secret: str | None = None,
        webhook_tolerance: int = webhook_signature.DEFAULT_TOLERANCE_SECONDS,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._webhook_secret = webhook_secret
        self._webhook_tolerance = webhook_tolerance
        self._now = now

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeCardAdapter:
        if not settings.stripe_api_key:
            raise RailError("rail_not_configured", "CORRIDOR_STRIPE_API_KEY is not set")
        client = build_client(settings.stripe_api_key, api_base=settings.stripe_api_base)
        return cls(client, webhook_secret=settings.stripe_webhook_secret)

    # ----------------------------------------------------------------- payments

    def authorise(self, request: AuthorisationRequest) -> AuthorisationResult:
        card = request.instrument
        if not isinstance(card, CardInstrument):
            raise RailError("payment_method_unsupported", "the stripe rail takes cards only")
        params: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "capture_method": request.capture_method,
            "confirm": True,
            "payment_method_types": ["card"],
            "metadata": {**request.metadata, INTENT_METADATA_KEY: request.intent_id},
        }
        if card.test_token:
            params["payment_method"] = card.test_token
        else:
            card_data: dict[str, Any] = {
                "number": card.number,
                "exp_month": card.exp_month,
                "exp_year": card.exp_year,
            }
            if card.cvc:
                card_data["cvc"] = card.cvc
            params["payment_method_data"] = {"type": "card", "card": card_data}
        if request.return_url:
            params["return_url"] = request.return_url
        if request.description:
            params["description"] = request.description
        key = idempotency_key(request.intent_id, "authorise", request.attempt)
        try:
            intent = self._client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": key},
            )
        except stripe.CardError as exc:
            return _declined_from_card_error(exc, request.intent_id)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return result_from_payment_intent(intent.to_dict(), request.intent_id)

    def resume(
        self, authorisation: Authorisation, *, action_result: str | None = None
    ) -> AuthorisationResult:
        """Back from 3-D Secure: Stripe knows the outcome; ``action_result`` is ignored."""
        try:
            intent = self._client.v1.payment_intents.retrieve(authorisation.reference)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return result_from_payment_intent(intent.to_dict(), authorisation.intent_id)

    def capture(
        self, authorisation: Authorisation, amount: int, *, attempt: int = 1
    ) -> CaptureResult:
        check_capture_amount(authorisation, amount)
        try:
            intent = self._client.v1.payment_intents.capture(
                authorisation.reference,
                params={"amount_to_capture": amount},
                options={
                    "idempotency_key": idempotency_key(authorisation.intent_id, "capture", attempt)
                },
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        received = int(intent.to_dict().get("amount_received") or 0)
        return CaptureResult(
            reference=authorisation.reference,
            amount_captured=received,
            amount_released=authorisation.amount - received,
        )

    def cancel(self, authorisation: Authorisation, *, attempt: int = 1) -> CancelResult:
        try:
            self._client.v1.payment_intents.cancel(
                authorisation.reference,
                options={
                    "idempotency_key": idempotency_key(authorisation.intent_id, "cancel", attempt)
                },
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return CancelResult(reference=authorisation.reference, amount_released=authorisation.amount)

    def refund(
        self, authorisation: Authorisation, amount: int, *, refund_id: str, attempt: int = 1
    ) -> RefundResult:
        check_refund_amount(authorisation, amount)
        try:
            refund = self._client.v1.refunds.create(
                params={
                    "payment_intent": authorisation.reference,
                    "amount": amount,
                    "metadata": {REFUND_METADATA_KEY: refund_id},
                },
                options={"idempotency_key": idempotency_key(refund_id, "refund", attempt)},
            ).to_dict()
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return RefundResult(
            reference=str(refund["id"]),
            amount=int(refund["amount"]),
            currency=str(refund["currency"]).upper(),
            status=_refund_status(str(refund.get("status"))),
            failure_reason=refund.get("failure_reason"),
        )

    # ----------------------------------------------------------------- webhooks in

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify ``Stripe-Signature`` with the endpoint secret and parse the event."""
        if not self._webhook_secret:
            raise NotificationError("no Stripe webhook secret is configured")
        try:
            webhook_signature.verify(
                body,
                header_value(headers, webhook_signature.HEADER),
                self._webhook_secret,
                tolerance=self._webhook_tolerance,
                now=int(self._now()),
            )
        except webhook_signature.SignatureError as exc:
            raise NotificationError(f"Stripe signature rejected: {exc}") from exc
        try:
            event = json.loads(body)
            obj = event["data"]["object"]
            event_type = str(event["type"])
            event_id = str(event["id"])
            created = int(event["created"])
        except (ValueError, KeyError, TypeError) as exc:
            raise NotificationError("the body is not a Stripe event") from exc
        kind = _NOTIFICATION_KINDS.get(event_type, NotificationKind.OTHER)
        if kind is NotificationKind.REFUND_UPDATED:
            return Notification(
                rail=RAIL,
                event_id=event_id,
                kind=kind,
                event_type=event_type,
                reference=obj.get("payment_intent"),
                occurred_at=created,
                amount=obj.get("amount"),
                currency=(obj.get("currency") or "").upper() or None,
                refund_reference=obj.get("id"),
                refund_status=_refund_status(str(obj.get("status"))),
                payload=event,
            )
        is_intent = obj.get("object") == "payment_intent"
        amount = None
        if kind is NotificationKind.PAYMENT_SUCCEEDED:
            amount = obj.get("amount_received")
        elif kind is NotificationKind.PAYMENT_AUTHORISED:
            amount = obj.get("amount_capturable")
        elif is_intent:
            amount = obj.get("amount")
        error = obj.get("last_payment_error") if is_intent else None
        return Notification(
            rail=RAIL,
            event_id=event_id,
            kind=kind,
            event_type=event_type,
            reference=obj.get("id") if is_intent else obj.get("payment_intent"),
            occurred_at=created,
            intent_id=(obj.get("metadata") or {}).get(INTENT_METADATA_KEY),
            amount=amount,
            currency=(obj.get("currency") or "").upper() or None,
            decline=_decline(error) if error else None,
            payload=event,
        )


# --------------------------------------------------------------------------- mapping


def result_from_payment_intent(intent: Mapping[str, Any], intent_id: str) -> AuthorisationResult:
    """Stripe PaymentIntent (as a dict) -> Corridor's authorisation result."""
    auth = Authorisation(
        rail=RAIL,
        reference=str(intent["id"]),
        intent_id=intent_id,
        amount=int(intent["amount"]),
        currency=str(intent["currency"]).upper(),
    )
    status = intent.get("status")
    if status == "succeeded":
        return AuthorisationResult(
            AuthorisationOutcome.APPROVED,
            auth,
            captured_amount=int(intent.get("amount_received") or auth.amount),
        )
    if status == "requires_capture":
        return AuthorisationResult.approved(auth, captured=False)
    if status == "requires_action":
        next_action = intent.get("next_action") or {"type": "use_stripe_sdk"}
        return AuthorisationResult.action_required(auth, dict(next_action))
    if status == "processing":
        return AuthorisationResult.pending(auth)
    error = intent.get("last_payment_error")
    if status == "canceled":
        decline = Decline(code="payment_intent_canceled", message="The payment was canceled.")
    elif error:
        decline = _decline(error)
    else:
        decline = Decline(
            code="payment_intent_unexpected_state",
            message=f"Stripe left the payment in status {status}.",
        )
    return AuthorisationResult.declined(decline, auth)


def _decline(error: Mapping[str, Any]) -> Decline:
    return Decline(
        code=str(error.get("code") or "card_declined"),
        message=str(error.get("message") or "Your card was declined."),
        decline_code=error.get("decline_code"),
    )


def _declined_from_card_error(exc: stripe.CardError, intent_id: str) -> AuthorisationResult:
    body = exc.json_body if isinstance(exc.json_body, dict) else {}
    error = body.get("error") or {}
    decline = Decline(
        code=str(error.get("code") or exc.code or "card_declined"),
        message=str(error.get("message") or exc.user_message or "Your card was declined."),
        decline_code=error.get("decline_code"),
    )
    intent = error.get("payment_intent")
    auth = None
    if isinstance(intent, dict) and intent.get("id"):
        auth = Authorisation(
            rail=RAIL,
            reference=str(intent["id"]),
            intent_id=intent_id,
            amount=int(intent.get("amount") or 0),
            currency=str(intent.get("currency") or "").upper(),
        )
    return AuthorisationResult.declined(decline, auth)


def _refund_status(status: str) -> RefundStatus:
    if status in ("succeeded", "failed", "canceled", "pending"):
        return RefundStatus(status)
    return RefundStatus.PENDING  # requires_action and anything newer: not final yet


def _translate(exc: stripe.StripeError) -> RailError:
    """Stripe's exception -> retryable or not, keeping Stripe's code and message."""
    message = exc.user_message or str(exc)
    if isinstance(exc, stripe.RateLimitError):
        return RetryableRailError("rate_limit", message)
    if isinstance(exc, stripe.APIConnectionError):
        return RetryableRailError("api_connection_error", message)
    if isinstance(exc, stripe.APIError) or (exc.http_status or 0) >= 500:
        return RetryableRailError("api_error", message)
    if isinstance(exc, stripe.IdempotencyError):
        return RailError("idempotency_error", message)
    if isinstance(exc, stripe.AuthenticationError):
        return RailError("authentication_error", message)
    return RailError(exc.code or "stripe_error", message)

"""Wallets (Alipay, WeChat Pay, PayPal): a redirect, then a signed asynchronous notification.

The payer is sent to the wallet (``next_action.redirect_to_url``); coming back proves
nothing, so :meth:`WalletAdapter.resume` stays pending. The payment is decided by the
wallet provider's server-to-server notification, which is only believed when signed.

Notification scheme (the sandbox's, modelled on Stripe's webhook signature)::

    POST /v1/webhooks/wallets/{provider}
    Corridor-Wallet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
    {"id": "wevt_...", "object": "wallet_notification", "provider": "alipay",
     "type": "payment.succeeded" | "payment.failed", "created": <unix seconds>,
     "data": {"reference": "alipay_pi_..._1", "merchant_reference": "pi_...",
              "amount": 1000, "currency": "usd",
              "failure_code": null, "failure_message": null}}

The MAC is over ``"<t>.<raw body>"`` with the provider's own secret
(:mod:`payments.rails.notification_secrets`); timestamps older or newer than the
tolerance window (default 300 s) are refused, and the receiver dedupes on ``id``.
:func:`build_notification` produces exactly such a message for the test-helper route
that plays the provider in the sandbox. Whether the notified amount and currency match
the intent is the intent service's check (a mismatch must not succeed the intent).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

from core.ids import new_id
from core.money import CurrencyError, currency_code
from payments import webhook_signature
from payments.rails.base import (
    WALLET_PROVIDERS,
    Authorisation,
    AuthorisationRequest,
    AuthorisationResult,
    CancelResult,
    CaptureResult,
    Decline,
    Notification,
    NotificationError,
    NotificationKind,
    RailError,
    RefundResult,
    RefundStatus,
    SignedMessage,
    UnsupportedOperation,
    WalletInstrument,
    check_refund_amount,
    header_value,
)

SIGNATURE_HEADER: Final = "Corridor-Wallet-Signature"
NotificationStatus = Literal["succeeded", "failed"]


def build_notification(
    provider: str,
    secret: str,
    *,
    reference: str,
    status: NotificationStatus,
    amount: int,
    currency: str,
    intent_id: str | None = None,
    event_id: str | None = None,
    timestamp: int | None = None,
    failure_code: str | None = None,
    failure_message: str | None = None,
) -> SignedMessage:
    """A provider notification, signed as the provider would sign it."""
    if provider not in WALLET_PROVIDERS:
        raise ValueError(f"unknown wallet provider {provider!r}")
    if status not in ("succeeded", "failed"):
        raise ValueError(f"status must be succeeded or failed, not {status!r}")
    ts = int(time.time()) if timestamp is None else timestamp
    body = json.dumps(
        {
            "id": event_id or new_id("wevt"),
            "object": "wallet_notification",
            "provider": provider,
            "type": f"payment.{status}",
            "created": ts,
            "data": {
                "reference": reference,
                "merchant_reference": intent_id,
                "amount": amount,
                "currency": currency_code(currency).lower(),
                "failure_code": failure_code,
                "failure_message": failure_message,
            },
        },
        separators=(",", ":"),
    ).encode()
    return SignedMessage(
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: webhook_signature.sign(body, secret, timestamp=ts),
        },
        body=body,
    )


class WalletAdapter:
    supports_manual_capture = False
    cancelable_while_processing = False

    def __init__(
        self,
        provider: str,
        secret: str,
        public_base_url: str,
        *,
        tolerance: int = webhook_signature.DEFAULT_TOLERANCE_SECONDS,
        now: Callable[[], float] = time.time,
    ) -> None:
        if provider not in WALLET_PROVIDERS:
            raise ValueError(f"unknown wallet provider {provider!r}")
        if not secret:
            raise ValueError(f"no notification secret for {provider}")
        self.name = provider
        self._secret = secret
        self._base = public_base_url.rstrip("/")
        self._tolerance = tolerance
        self._now = now

    def redirect_url(self, reference: str) -> str:
        """The wallet's hosted page; in the sandbox, Corridor's test-helper page for it."""
        return f"{self._base}/v1/test_helpers/wallets/{self.name}/{reference}"

    def authorise(self, request: AuthorisationRequest) -> AuthorisationResult:
        wallet = request.instrument
        if not isinstance(wallet, WalletInstrument) or wallet.provider != self.name:
            raise RailError("payment_method_unsupported", f"the {self.name} rail takes {self.name}")
        if request.capture_method != "automatic":
            raise RailError(
                "capture_method_unsupported",
                f"{self.name} payments are captured when paid; capture_method must be automatic",
            )
        auth = Authorisation(
            rail=self.name,
            reference=f"{self.name}_{request.intent_id}_{request.attempt}",
            intent_id=request.intent_id,
            amount=request.amount,
            currency=request.currency,
        )
        return AuthorisationResult.action_required(
            auth,
            {
                "type": "redirect_to_url",
                "redirect_to_url": {
                    "url": self.redirect_url(auth.reference),
                    "return_url": request.return_url,
                },
            },
        )

    def resume(
        self, authorisation: Authorisation, *, action_result: str | None = None
    ) -> AuthorisationResult:
        # The browser coming back is not proof of payment: wait for the notification.
        return AuthorisationResult.pending(authorisation)

    def capture(
        self, authorisation: Authorisation, amount: int, *, attempt: int = 1
    ) -> CaptureResult:
        raise UnsupportedOperation(self.name, "manual capture")

    def cancel(self, authorisation: Authorisation, *, attempt: int = 1) -> CancelResult:
        return CancelResult(reference=authorisation.reference, amount_released=authorisation.amount)

    def refund(
        self, authorisation: Authorisation, amount: int, *, refund_id: str, attempt: int = 1
    ) -> RefundResult:
        check_refund_amount(authorisation, amount)
        return RefundResult(
            reference=f"{self.name}_re_{refund_id}_{attempt}",
            amount=amount,
            currency=authorisation.currency,
            status=RefundStatus.SUCCEEDED,
        )

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        try:
            webhook_signature.verify(
                body,
                header_value(headers, SIGNATURE_HEADER),
                self._secret,
                tolerance=self._tolerance,
                now=int(self._now()),
            )
        except webhook_signature.SignatureError as exc:
            raise NotificationError(f"{self.name} signature rejected: {exc}") from exc
        message = _parse_body(body)
        if message.get("provider") != self.name:
            raise NotificationError(f"notification is for {message.get('provider')!r}")
        data = message["data"]
        status = str(message["type"]).removeprefix("payment.")
        decline = None
        if status == "failed":
            decline = Decline(
                code=str(data.get("failure_code") or "payment_failed"),
                message=str(data.get("failure_message") or f"The {self.name} payment failed."),
            )
        return Notification(
            rail=self.name,
            event_id=str(message["id"]),
            kind=NotificationKind.PAYMENT_SUCCEEDED
            if status == "succeeded"
            else NotificationKind.PAYMENT_FAILED,
            event_type=str(message["type"]),
            reference=str(data["reference"]),
            occurred_at=int(message["created"]),
            intent_id=data.get("merchant_reference"),
            amount=int(data["amount"]),
            currency=str(data["currency"]).upper(),
            decline=decline,
            payload=message,
        )


def _parse_body(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body)
        data = message["data"]
        if message.get("object") != "wallet_notification":
            raise ValueError("not a wallet notification")
        if message.get("type") not in ("payment.succeeded", "payment.failed"):
            raise ValueError(f"unknown type {message.get('type')!r}")
        if not isinstance(message.get("id"), str) or not message["id"]:
            raise ValueError("missing id")
        int(message["created"])
        if not isinstance(data.get("reference"), str) or not data["reference"]:
            raise ValueError("missing reference")
        if type(data.get("amount")) is not int or data["amount"] <= 0:
            raise ValueError("amount must be a positive integer of minor units")
        currency_code(str(data.get("currency")))
    except (ValueError, KeyError, TypeError, CurrencyError) as exc:
        raise NotificationError(f"malformed wallet notification: {exc}") from exc
    return message

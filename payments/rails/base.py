"""The one interface every rail adapter speaks, and the plain data that crosses it.

An adapter moves money on one rail (a card processor, a wallet, bank transfers) and
knows nothing of Corridor's tables: the intent service hands it an
:class:`AuthorisationRequest`, stores the :class:`Authorisation` it gets back, and
hands that back for capture, cancel, refund and resume. Results are data, never
exceptions, for outcomes a customer can cause (a decline, a 3-D Secure challenge);
exceptions are for what the caller must handle differently: :class:`RetryableRailError`
(timeouts, rate limits — try again with the same ``attempt`` number, so the same
idempotency key) and :class:`RailError` (configuration or request errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable

from core.money import check_minor, currency_code

CaptureMethod = Literal["automatic", "manual"]


def idempotency_key(object_id: str, operation: str, attempt: int = 1) -> str:
    """``corridor:{object_id}:{operation}:{attempt}``, the key a processor dedupes on.

    Derived from Corridor's own ids, so a retry after a crash or a timeout sends the
    same key and the processor replays its first answer instead of charging twice.
    A deliberate new try (a second confirm after a decline) bumps ``attempt``.
    """
    if attempt < 1:
        raise ValueError("attempts are numbered from 1")
    return f"corridor:{object_id}:{operation}:{attempt}"


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup over any mapping."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


# --------------------------------------------------------------------------- instruments


@dataclass(frozen=True)
class CardInstrument:
    """A card as a processor needs it. ``number`` is revealed from the vault just
    before the call and is excluded from ``repr``; ``cvc`` is transient (never stored).
    """

    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str | None = field(default=None, repr=False)
    test_token: str | None = None
    """Stripe test PaymentMethod id the card came from (``pm_card_visa``), if any."""

    @property
    def last4(self) -> str:
        return self.number[-4:]


WalletProvider = Literal["alipay", "wechat_pay", "paypal"]
WALLET_PROVIDERS: frozenset[str] = frozenset({"alipay", "wechat_pay", "paypal"})


@dataclass(frozen=True)
class WalletInstrument:
    provider: WalletProvider


@dataclass(frozen=True)
class BankTransferInstrument:
    """The payer pushes funds; nothing about the payer's account is needed up front."""

    payer_name: str | None = None


Instrument = CardInstrument | WalletInstrument | BankTransferInstrument


# --------------------------------------------------------------------------- requests and results


@dataclass(frozen=True)
class AuthorisationRequest:
    intent_id: str
    attempt: int
    """1 for the first confirm; bumped for each new confirm of the same intent."""
    amount: int
    currency: str
    capture_method: CaptureMethod
    instrument: Instrument
    return_url: str | None = None
    description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_minor(self.amount)
        if self.amount <= 0:
            raise ValueError("amount must be positive")
        object.__setattr__(self, "currency", currency_code(self.currency))
        if self.capture_method not in ("automatic", "manual"):
            raise ValueError(f"capture_method {self.capture_method!r}")
        if self.attempt < 1:
            raise ValueError("attempts are numbered from 1")


@dataclass(frozen=True)
class Authorisation:
    """What the caller stores to act on a payment later (all plain, JSON-able values)."""

    rail: str
    reference: str
    """The processor's id for the payment (``pi_...`` at Stripe, a wallet order id,
    the RF creditor reference of a bank transfer)."""
    intent_id: str
    amount: int
    currency: str
    state: Mapping[str, str] = field(default_factory=dict)
    """Opaque processor data the caller persists and hands back unchanged."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rail": self.rail,
            "reference": self.reference,
            "intent_id": self.intent_id,
            "amount": self.amount,
            "currency": self.currency,
            "state": dict(self.state),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Authorisation:
        return cls(
            rail=str(data["rail"]),
            reference=str(data["reference"]),
            intent_id=str(data["intent_id"]),
            amount=int(data["amount"]),
            currency=str(data["currency"]),
            state={str(k): str(v) for k, v in dict(data.get("state") or {}).items()},
        )


@dataclass(frozen=True)
class Decline:
    """Why a payment failed, in Stripe's vocabulary (``last_payment_error``)."""

    code: str
    """``card_declined``, ``expired_card``, ``incorrect_cvc``, ``processing_error``,
    ``payment_intent_authentication_failure``, ..."""
    message: str
    decline_code: str | None = None
    """Set for ``card_declined``: ``generic_decline``, ``insufficient_funds``, ..."""


class AuthorisationOutcome(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    ACTION_REQUIRED = "action_required"
    PENDING = "pending"


@dataclass(frozen=True)
class AuthorisationResult:
    outcome: AuthorisationOutcome
    authorisation: Authorisation | None = None
    captured_amount: int = 0
    """Already captured by the rail (automatic capture); 0 for a hold."""
    decline: Decline | None = None
    next_action: Mapping[str, Any] | None = None
    """Stripe-shaped ``next_action`` (``redirect_to_url``,
    ``display_bank_transfer_instructions``)."""

    def __post_init__(self) -> None:
        o = self.outcome
        if o is AuthorisationOutcome.DECLINED and self.decline is None:
            raise ValueError("a declined result carries its decline")
        if o is AuthorisationOutcome.ACTION_REQUIRED and not self.next_action:
            raise ValueError("an action_required result carries its next_action")
        if o is not AuthorisationOutcome.DECLINED and self.authorisation is None:
            raise ValueError(f"a {o} result carries its authorisation")
        if self.captured_amount and o is not AuthorisationOutcome.APPROVED:
            raise ValueError("only an approved result can have captured funds")
        if self.authorisation and not 0 <= self.captured_amount <= self.authorisation.amount:
            raise ValueError("captured_amount exceeds the authorised amount")

    @classmethod
    def approved(cls, authorisation: Authorisation, *, captured: bool) -> AuthorisationResult:
        return cls(
            AuthorisationOutcome.APPROVED,
            authorisation,
            captured_amount=authorisation.amount if captured else 0,
        )

    @classmethod
    def declined(
        cls, decline: Decline, authorisation: Authorisation | None = None
    ) -> AuthorisationResult:
        return cls(AuthorisationOutcome.DECLINED, authorisation, decline=decline)

    @classmethod
    def action_required(
        cls, authorisation: Authorisation, next_action: Mapping[str, Any]
    ) -> AuthorisationResult:
        return cls(AuthorisationOutcome.ACTION_REQUIRED, authorisation, next_action=next_action)

    @classmethod
    def pending(cls, authorisation: Authorisation) -> AuthorisationResult:
        return cls(AuthorisationOutcome.PENDING, authorisation)


@dataclass(frozen=True)
class CaptureResult:
    reference: str
    amount_captured: int
    amount_released: int
    """What partial capture gave back to the payer (authorised - captured)."""


@dataclass(frozen=True)
class CancelResult:
    reference: str
    amount_released: int


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True)
class RefundResult:
    reference: str
    amount: int
    currency: str
    status: RefundStatus
    failure_reason: str | None = None


class NotificationKind(StrEnum):
    PAYMENT_SUCCEEDED = "payment_succeeded"
    """Funds are captured (automatic capture, wallet paid)."""
    PAYMENT_AUTHORISED = "payment_authorised"
    """A hold is in place, awaiting capture."""
    PAYMENT_FAILED = "payment_failed"
    ACTION_REQUIRED = "action_required"
    PAYMENT_CANCELED = "payment_canceled"
    FUNDS_RECEIVED = "funds_received"
    """A bank credit arrived; match it with :mod:`payments.rails.credit_matching`."""
    REFUND_UPDATED = "refund_updated"
    OTHER = "other"
    """Verified, but nothing Corridor acts on (kept for the audit trail)."""


@dataclass(frozen=True)
class Notification:
    """A provider's asynchronous message, verified and parsed."""

    rail: str
    event_id: str
    """The provider's event id: dedupe on (rail, event_id)."""
    kind: NotificationKind
    event_type: str
    reference: str | None
    """The payment's processor reference (see :attr:`Authorisation.reference`)."""
    occurred_at: int
    """Unix seconds, as the provider stamped the event."""
    intent_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    decline: Decline | None = None
    refund_reference: str | None = None
    refund_status: RefundStatus | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SignedMessage:
    """A provider message as it goes over the wire: headers (with the signature) and body."""

    headers: dict[str, str]
    body: bytes


# --------------------------------------------------------------------------- errors


class RailError(Exception):
    """The rail refused the request for a reason retrying will not fix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RetryableRailError(RailError):
    """Timeout, connection failure, rate limit or processor 5xx: retry with the same
    ``attempt`` (same idempotency key) — the processor replays rather than repeats."""


class UnsupportedOperation(RailError):
    def __init__(self, rail: str, operation: str) -> None:
        super().__init__("unsupported_operation", f"the {rail} rail does not support {operation}")


class NotificationError(RailError):
    """A notification that is unsigned, wrongly signed, stale or malformed."""

    def __init__(self, message: str) -> None:
        super().__init__("invalid_notification", message)


# --------------------------------------------------------------------------- the interface


@runtime_checkable
class RailAdapter(Protocol):
    """One rail. Implementations: sandbox_card, stripe, wallet, bank_transfer."""

    name: str
    supports_manual_capture: bool
    cancelable_while_processing: bool

    def authorise(self, request: AuthorisationRequest) -> AuthorisationResult:
        """Ask for the money (and capture it at once when ``capture_method`` is automatic)."""
        ...

    def resume(
        self, authorisation: Authorisation, *, action_result: str | None = None
    ) -> AuthorisationResult:
        """The customer is back from ``next_action``; what is the payment's state now?"""
        ...

    def capture(
        self, authorisation: Authorisation, amount: int, *, attempt: int = 1
    ) -> CaptureResult:
        """Capture ``amount`` (<= authorised) of a hold; the rest is released."""
        ...

    def cancel(self, authorisation: Authorisation, *, attempt: int = 1) -> CancelResult:
        """Release a hold or abandon a pending payment."""
        ...

    def refund(
        self, authorisation: Authorisation, amount: int, *, refund_id: str, attempt: int = 1
    ) -> RefundResult:
        """Return ``amount`` of captured funds. The caller guarantees the total refunded
        never exceeds the captured amount; ``refund_id`` is Corridor's ``re_...`` id."""
        ...

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify and parse the rail's asynchronous message; :class:`NotificationError` if
        it is not authentic."""
        ...


def check_capture_amount(authorisation: Authorisation, amount: int) -> int:
    """Shared guard: 0 < amount <= authorised."""
    check_minor(amount)
    if not 0 < amount <= authorisation.amount:
        raise RailError(
            "amount_too_large" if amount > 0 else "invalid_amount",
            f"cannot capture {amount}: authorised {authorisation.amount} {authorisation.currency}",
        )
    return amount


def check_refund_amount(authorisation: Authorisation, amount: int) -> int:
    check_minor(amount)
    if not 0 < amount <= authorisation.amount:
        raise RailError(
            "amount_too_large" if amount > 0 else "invalid_amount",
            f"cannot refund {amount}: payment was {authorisation.amount} {authorisation.currency}",
        )
    return amount

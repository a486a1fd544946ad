"""The PaymentIntent state machine: Stripe's statuses plus Corridor's compliance hold.

Pure: given a status and an event, the next status, or a
:class:`IntentStateError` (``payment_intent_unexpected_state``) that names both.
Nothing changes state except through :func:`next_status`, so an illegal transition is
an error at the one place it could happen, never a silent overwrite.

The flow, as Stripe documents it::

    requires_payment_method --attach--> requires_confirmation --confirm--> processing
    processing --authorise_ok--> requires_capture (manual) | succeeded (automatic)
    processing --action_required--> requires_action --action_completed--> processing
    processing --authorise_declined--> requires_payment_method (with last_payment_error)
    requires_capture --capture--> succeeded
    cancel from requires_payment_method, requires_confirmation, requires_action,
    requires_capture and requires_review; from processing only for methods whose
    processor can still cancel there.

Corridor adds ``requires_review``: compliance holds a confirmed intent *before* the
processor is asked for money (``review_hold`` from processing), an officer releases it
(``review_approve`` back to processing) or rejects it (``review_reject`` -> canceled).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final, Literal

CaptureMethod = Literal["automatic", "manual"]


class IntentStatus(StrEnum):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    REQUIRES_REVIEW = "requires_review"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


class IntentEvent(StrEnum):
    ATTACH_PAYMENT_METHOD = "attach_payment_method"
    """A payment method is set (create or update) without confirming."""
    CONFIRM = "confirm"
    REVIEW_HOLD = "review_hold"
    REVIEW_APPROVE = "review_approve"
    REVIEW_REJECT = "review_reject"
    AUTHORISE_OK = "authorise_ok"
    AUTHORISE_DECLINED = "authorise_declined"
    AUTHORISE_PENDING = "authorise_pending"
    """The processor accepted the request but answers later (stays processing)."""
    ACTION_REQUIRED = "action_required"
    ACTION_COMPLETED = "action_completed"
    ACTION_FAILED = "action_failed"
    FUNDS_PARTIALLY_RECEIVED = "funds_partially_received"
    FUNDS_RECEIVED = "funds_received"
    PAYMENT_FAILED = "payment_failed"
    """An asynchronous method (wallet, bank) reported failure."""
    CAPTURE = "capture"
    CANCEL = "cancel"
    EXPIRE_AUTHORISATION = "expire_authorisation"


S = IntentStatus
E = IntentEvent

# Transitions that do not depend on anything but (status, event).
_TABLE: Final[Mapping[tuple[IntentStatus, IntentEvent], IntentStatus]] = {
    (S.REQUIRES_PAYMENT_METHOD, E.ATTACH_PAYMENT_METHOD): S.REQUIRES_CONFIRMATION,
    (S.REQUIRES_CONFIRMATION, E.ATTACH_PAYMENT_METHOD): S.REQUIRES_CONFIRMATION,
    (S.REQUIRES_ACTION, E.ATTACH_PAYMENT_METHOD): S.REQUIRES_CONFIRMATION,
    # Stripe confirms with the payment method given in the confirm call itself too.
    (S.REQUIRES_PAYMENT_METHOD, E.CONFIRM): S.PROCESSING,
    (S.REQUIRES_CONFIRMATION, E.CONFIRM): S.PROCESSING,
    (S.PROCESSING, E.REVIEW_HOLD): S.REQUIRES_REVIEW,
    (S.REQUIRES_REVIEW, E.REVIEW_APPROVE): S.PROCESSING,
    (S.REQUIRES_REVIEW, E.REVIEW_REJECT): S.CANCELED,
    (S.PROCESSING, E.AUTHORISE_DECLINED): S.REQUIRES_PAYMENT_METHOD,
    (S.PROCESSING, E.AUTHORISE_PENDING): S.PROCESSING,
    (S.PROCESSING, E.ACTION_REQUIRED): S.REQUIRES_ACTION,
    (S.REQUIRES_ACTION, E.ACTION_COMPLETED): S.PROCESSING,
    (S.REQUIRES_ACTION, E.ACTION_FAILED): S.REQUIRES_PAYMENT_METHOD,
    (S.REQUIRES_ACTION, E.FUNDS_PARTIALLY_RECEIVED): S.REQUIRES_ACTION,
    (S.REQUIRES_ACTION, E.FUNDS_RECEIVED): S.SUCCEEDED,
    (S.PROCESSING, E.FUNDS_RECEIVED): S.SUCCEEDED,
    (S.REQUIRES_ACTION, E.PAYMENT_FAILED): S.REQUIRES_PAYMENT_METHOD,
    (S.PROCESSING, E.PAYMENT_FAILED): S.REQUIRES_PAYMENT_METHOD,
    (S.REQUIRES_CAPTURE, E.CAPTURE): S.SUCCEEDED,
    (S.REQUIRES_CAPTURE, E.EXPIRE_AUTHORISATION): S.CANCELED,
}

CANCELABLE: Final = frozenset(
    {
        S.REQUIRES_PAYMENT_METHOD,
        S.REQUIRES_CONFIRMATION,
        S.REQUIRES_ACTION,
        S.REQUIRES_CAPTURE,
        S.REQUIRES_REVIEW,
    }
)
"""Statuses from which any intent may be canceled (processing: only some methods)."""

TERMINAL: Final = frozenset({S.SUCCEEDED, S.CANCELED})

CANCELLATION_REASONS: Final = frozenset(
    {"abandoned", "duplicate", "fraudulent", "requested_by_customer"}
)
"""Reasons a caller may give to ``cancel`` (Stripe's list)."""
SYSTEM_CANCELLATION_REASONS: Final = frozenset({"automatic", "expired", "failed_review"})
"""Reasons Corridor sets itself: authorisation expiry, abandoned wallets, rejected review."""

# How a refusal reads, per attempted action: Stripe's wording.
_VERB: Final[Mapping[IntentEvent, str]] = {
    E.CONFIRM: "confirmed",
    E.CAPTURE: "captured",
    E.CANCEL: "canceled",
    E.ATTACH_PAYMENT_METHOD: "updated",
}


class IntentStateError(Exception):
    """An action the intent's current status does not allow."""

    code: Final = "payment_intent_unexpected_state"

    def __init__(self, status: IntentStatus, event: IntentEvent, allowed: frozenset[IntentStatus]):
        self.status = status
        self.event = event
        self.allowed = allowed
        verb = _VERB.get(event)
        allowed_text = ", ".join(sorted(allowed)) or "none"
        if verb:
            message = (
                f"This PaymentIntent could not be {verb} because it has a status of "
                f"{status}. Only a PaymentIntent with one of the following statuses may be "
                f"{verb}: {allowed_text}."
            )
        else:
            message = (
                f"This PaymentIntent cannot handle {event} because it has a status of "
                f"{status} (expected one of: {allowed_text})."
            )
        super().__init__(message)
        self.message = message


def allowed_from(
    event: IntentEvent, *, cancelable_while_processing: bool = False
) -> frozenset[IntentStatus]:
    """Every status from which ``event`` is legal."""
    if event is E.CANCEL:
        return CANCELABLE | ({S.PROCESSING} if cancelable_while_processing else set())
    if event is E.AUTHORISE_OK:
        return frozenset({S.PROCESSING})
    return frozenset(status for (status, ev) in _TABLE if ev is event)


def next_status(
    status: IntentStatus | str,
    event: IntentEvent | str,
    *,
    capture_method: CaptureMethod = "automatic",
    cancelable_while_processing: bool = False,
) -> IntentStatus:
    """The status after ``event``, or :class:`IntentStateError`.

    ``capture_method`` decides where a successful authorisation lands;
    ``cancelable_while_processing`` says whether this intent's rail can still cancel
    while processing (Stripe allows it for some methods only).
    """
    status = IntentStatus(status)
    event = IntentEvent(event)
    if event is E.AUTHORISE_OK:
        if status is S.PROCESSING:
            return S.REQUIRES_CAPTURE if capture_method == "manual" else S.SUCCEEDED
    elif event is E.CANCEL:
        if status in CANCELABLE or (status is S.PROCESSING and cancelable_while_processing):
            return S.CANCELED
    else:
        target = _TABLE.get((status, event))
        if target is not None:
            return target
    raise IntentStateError(
        status,
        event,
        allowed_from(event, cancelable_while_processing=cancelable_while_processing),
    )


def can(status: IntentStatus | str, event: IntentEvent | str, **context: object) -> bool:
    try:
        next_status(status, event, **context)  # type: ignore[arg-type]
    except IntentStateError:
        return False
    return True


def is_terminal(status: IntentStatus | str) -> bool:
    return IntentStatus(status) in TERMINAL

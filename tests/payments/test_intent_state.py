"""The PaymentIntent state machine."""

from __future__ import annotations

import itertools

import pytest

from payments.intent_state import (
    CANCELABLE,
    IntentEvent,
    IntentStateError,
    IntentStatus,
    allowed_from,
    can,
    is_terminal,
    next_status,
)

S = IntentStatus
E = IntentEvent


def walk(start: IntentStatus, *events: IntentEvent, **context: object) -> list[IntentStatus]:
    path = [start]
    for event in events:
        path.append(next_status(path[-1], event, **context))  # type: ignore[arg-type]
    return path


def test_automatic_capture_path() -> None:
    assert walk(S.REQUIRES_PAYMENT_METHOD, E.ATTACH_PAYMENT_METHOD, E.CONFIRM, E.AUTHORISE_OK) == [
        S.REQUIRES_PAYMENT_METHOD,
        S.REQUIRES_CONFIRMATION,
        S.PROCESSING,
        S.SUCCEEDED,
    ]


def test_confirm_with_payment_method_in_the_same_call() -> None:
    assert next_status(S.REQUIRES_PAYMENT_METHOD, E.CONFIRM) is S.PROCESSING


def test_manual_capture_path() -> None:
    assert walk(
        S.REQUIRES_CONFIRMATION, E.CONFIRM, E.AUTHORISE_OK, E.CAPTURE, capture_method="manual"
    ) == [S.REQUIRES_CONFIRMATION, S.PROCESSING, S.REQUIRES_CAPTURE, S.SUCCEEDED]


def test_three_d_secure_passed_and_failed() -> None:
    assert (
        walk(
            S.PROCESSING,
            E.ACTION_REQUIRED,
            E.ACTION_COMPLETED,
            E.AUTHORISE_OK,
            capture_method="manual",
        )[-1]
        is S.REQUIRES_CAPTURE
    )
    assert walk(S.PROCESSING, E.ACTION_REQUIRED, E.ACTION_FAILED)[-1] is S.REQUIRES_PAYMENT_METHOD


def test_decline_returns_to_requires_payment_method_and_can_retry() -> None:
    assert walk(S.REQUIRES_CONFIRMATION, E.CONFIRM, E.AUTHORISE_DECLINED, E.CONFIRM)[-1] is (
        S.PROCESSING
    )


def test_compliance_review_hold_approve_and_reject() -> None:
    held = walk(S.REQUIRES_CONFIRMATION, E.CONFIRM, E.REVIEW_HOLD)[-1]
    assert held is S.REQUIRES_REVIEW
    assert next_status(held, E.REVIEW_APPROVE) is S.PROCESSING
    assert next_status(held, E.REVIEW_REJECT) is S.CANCELED
    with pytest.raises(IntentStateError):
        next_status(held, E.AUTHORISE_OK)  # no money moves while held
    with pytest.raises(IntentStateError):
        next_status(held, E.CAPTURE)


def test_bank_transfer_partial_then_full() -> None:
    assert walk(S.PROCESSING, E.ACTION_REQUIRED, E.FUNDS_PARTIALLY_RECEIVED, E.FUNDS_RECEIVED) == [
        S.PROCESSING,
        S.REQUIRES_ACTION,
        S.REQUIRES_ACTION,
        S.SUCCEEDED,
    ]


def test_wallet_notification_failure() -> None:
    assert walk(S.PROCESSING, E.ACTION_REQUIRED, E.PAYMENT_FAILED)[-1] is (
        S.REQUIRES_PAYMENT_METHOD
    )


def test_authorisation_expiry_cancels_an_uncaptured_hold() -> None:
    assert next_status(S.REQUIRES_CAPTURE, E.EXPIRE_AUTHORISATION) is S.CANCELED
    assert allowed_from(E.EXPIRE_AUTHORISATION) == {S.REQUIRES_CAPTURE}


def test_cancelable_statuses_follow_stripe_plus_review() -> None:
    assert {
        S.REQUIRES_PAYMENT_METHOD,
        S.REQUIRES_CONFIRMATION,
        S.REQUIRES_ACTION,
        S.REQUIRES_CAPTURE,
        S.REQUIRES_REVIEW,
    } == CANCELABLE
    for status in CANCELABLE:
        assert next_status(status, E.CANCEL) is S.CANCELED
    with pytest.raises(IntentStateError):
        next_status(S.PROCESSING, E.CANCEL)
    assert next_status(S.PROCESSING, E.CANCEL, cancelable_while_processing=True) is S.CANCELED


@pytest.mark.parametrize("status", [S.SUCCEEDED, S.CANCELED])
def test_terminal_statuses_accept_nothing(status: IntentStatus) -> None:
    assert is_terminal(status)
    for event in IntentEvent:
        assert not can(status, event, cancelable_while_processing=True), event


def test_error_names_status_action_and_code() -> None:
    with pytest.raises(IntentStateError) as caught:
        next_status(S.SUCCEEDED, E.CANCEL)
    error = caught.value
    assert error.code == "payment_intent_unexpected_state"
    assert (error.status, error.event) == (S.SUCCEEDED, E.CANCEL)
    assert "status of succeeded" in error.message
    assert "may be canceled: requires_action, requires_capture" in error.message

    with pytest.raises(IntentStateError) as capture:
        next_status("requires_payment_method", "capture")
    assert capture.value.message == (
        "This PaymentIntent could not be captured because it has a status of "
        "requires_payment_method. Only a PaymentIntent with one of the following statuses may "
        "be captured: requires_capture."
    )


def test_every_pair_is_either_allowed_or_a_typed_error() -> None:
    for status, event, manual, proc_cancel in itertools.product(
        IntentStatus, IntentEvent, (False, True), (False, True)
    ):
        context = {
            "capture_method": "manual" if manual else "automatic",
            "cancelable_while_processing": proc_cancel,
        }
        allowed = status in allowed_from(event, cancelable_while_processing=proc_cancel)
        try:
            target = next_status(status, event, **context)  # type: ignore[arg-type]
        except IntentStateError as error:
            assert not allowed, (status, event)
            assert error.allowed == allowed_from(event, cancelable_while_processing=proc_cancel)
        else:
            assert allowed, (status, event)
            assert isinstance(target, IntentStatus)


def test_money_only_moves_from_processing_or_requires_capture() -> None:
    assert allowed_from(E.AUTHORISE_OK) == {S.PROCESSING}
    assert allowed_from(E.CAPTURE) == {S.REQUIRES_CAPTURE}
    assert allowed_from(E.FUNDS_RECEIVED) == {S.PROCESSING, S.REQUIRES_ACTION}


def test_unknown_names_are_value_errors() -> None:
    with pytest.raises(ValueError):
        next_status("paid", E.CAPTURE)
    with pytest.raises(ValueError):
        next_status(S.PROCESSING, "charge")

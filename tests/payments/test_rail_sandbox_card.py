"""The sandbox card processor, driven by Stripe's test numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from payments.rails.base import (
    Authorisation,
    AuthorisationOutcome,
    AuthorisationRequest,
    CardInstrument,
    RailAdapter,
    RailError,
    RefundStatus,
    UnsupportedOperation,
    WalletInstrument,
)
from payments.rails.sandbox_card import SandboxCardAdapter
from payments.stripe_test_cards import resolve_test_payment_method

BASE = "https://corridor.example"
TODAY = dt.date(2026, 5, 15)


@pytest.fixture
def sandbox() -> SandboxCardAdapter:
    return SandboxCardAdapter(BASE + "/", today=lambda: TODAY)


def request_for(
    token: str, *, capture_method: str = "automatic", amount: int = 5000, attempt: int = 1
) -> AuthorisationRequest:
    card = resolve_test_payment_method(token)
    assert card is not None
    month, year = card.expiry(TODAY)
    return AuthorisationRequest(
        intent_id="pi_sandbox1",
        attempt=attempt,
        amount=amount,
        currency="usd",
        capture_method=capture_method,  # type: ignore[arg-type]
        instrument=CardInstrument(number=card.number, exp_month=month, exp_year=year),
        return_url="https://shop.example/back",
    )


def test_is_a_rail_adapter(sandbox: SandboxCardAdapter) -> None:
    assert isinstance(sandbox, RailAdapter)


def test_success_with_automatic_capture(sandbox: SandboxCardAdapter) -> None:
    result = sandbox.authorise(request_for("pm_card_visa"))
    assert result.outcome is AuthorisationOutcome.APPROVED
    assert result.captured_amount == 5000
    assert result.authorisation is not None
    assert result.authorisation.currency == "USD"
    assert sandbox.authorise(request_for("pm_card_visa")) == result, "deterministic"


def test_manual_capture_partial_releases_the_rest(sandbox: SandboxCardAdapter) -> None:
    result = sandbox.authorise(request_for("pm_card_mastercard", capture_method="manual"))
    assert (result.outcome, result.captured_amount) == (AuthorisationOutcome.APPROVED, 0)
    auth = result.authorisation
    assert auth is not None
    capture = sandbox.capture(auth, 3000)
    assert (capture.amount_captured, capture.amount_released) == (3000, 2000)
    with pytest.raises(RailError):
        sandbox.capture(auth, 5001)
    with pytest.raises(RailError):
        sandbox.capture(auth, 0)
    assert sandbox.cancel(auth).amount_released == 5000


@pytest.mark.parametrize(
    ("token", "code", "decline_code"),
    [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_visa_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_chargeDeclinedLostCard", "card_declined", "lost_card"),
        ("pm_card_chargeDeclinedStolenCard", "card_declined", "stolen_card"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", None),
        ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", None),
        ("pm_card_chargeDeclinedProcessingError", "processing_error", None),
        (
            "pm_card_visa_chargeDeclinedVelocityLimitExceeded",
            "card_declined",
            "card_velocity_exceeded",
        ),
    ],
)
def test_declines(
    sandbox: SandboxCardAdapter, token: str, code: str, decline_code: str | None
) -> None:
    result = sandbox.authorise(request_for(token))
    assert result.outcome is AuthorisationOutcome.DECLINED
    assert result.decline is not None
    assert (result.decline.code, result.decline.decline_code) == (code, decline_code)
    assert result.decline.message
    assert result.captured_amount == 0


def test_a_card_past_its_expiry_is_declined(sandbox: SandboxCardAdapter) -> None:
    request = AuthorisationRequest(
        intent_id="pi_old",
        attempt=1,
        amount=100,
        currency="EUR",
        capture_method="automatic",
        instrument=CardInstrument(number="4242424242424242", exp_month=4, exp_year=2026),
    )
    result = sandbox.authorise(request)
    assert result.decline is not None and result.decline.code == "expired_card"


@pytest.mark.parametrize(
    "token",
    [
        "pm_card_authenticationRequired",
        "pm_card_threeDSecure2Required",
        "pm_card_authenticationRequiredOnSetup",
    ],
)
def test_three_d_secure_challenge_passed(sandbox: SandboxCardAdapter, token: str) -> None:
    result = sandbox.authorise(request_for(token, capture_method="manual"))
    assert result.outcome is AuthorisationOutcome.ACTION_REQUIRED
    auth = result.authorisation
    assert auth is not None
    assert result.next_action == {
        "type": "redirect_to_url",
        "redirect_to_url": {
            "url": f"{BASE}/v1/test_helpers/three_d_secure/{auth.reference}",
            "return_url": "https://shop.example/back",
        },
    }
    # The caller persists the authorisation as JSON and hands it back later.
    stored = Authorisation.from_dict(auth.to_dict())
    assert sandbox.resume(stored).outcome is AuthorisationOutcome.ACTION_REQUIRED
    passed = sandbox.resume(stored, action_result="succeeded")
    assert passed.outcome is AuthorisationOutcome.APPROVED
    assert passed.captured_amount == 0  # manual capture: a hold


def test_three_d_secure_challenge_failed(sandbox: SandboxCardAdapter) -> None:
    auth = sandbox.authorise(request_for("pm_card_authenticationRequired")).authorisation
    assert auth is not None
    failed = sandbox.resume(auth, action_result="failed")
    assert failed.outcome is AuthorisationOutcome.DECLINED
    assert failed.decline is not None
    assert failed.decline.code == "payment_intent_authentication_failure"
    with pytest.raises(RailError):
        sandbox.resume(auth, action_result="maybe")


@pytest.mark.parametrize(
    ("token", "decline_code"),
    [
        ("pm_card_threeDSecureRequiredChargeDeclined", "generic_decline"),
        ("pm_card_authenticationRequiredChargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
def test_challenge_passed_then_declined(
    sandbox: SandboxCardAdapter, token: str, decline_code: str
) -> None:
    auth = sandbox.authorise(request_for(token)).authorisation
    assert auth is not None
    result = sandbox.resume(auth, action_result="succeeded")
    assert result.outcome is AuthorisationOutcome.DECLINED
    assert result.decline is not None
    assert (result.decline.code, result.decline.decline_code) == ("card_declined", decline_code)


def test_resume_without_a_challenge_is_an_error(sandbox: SandboxCardAdapter) -> None:
    auth = sandbox.authorise(request_for("pm_card_visa")).authorisation
    assert auth is not None
    with pytest.raises(RailError):
        sandbox.resume(auth, action_result="succeeded")


def test_refunds(sandbox: SandboxCardAdapter) -> None:
    auth = sandbox.authorise(request_for("pm_card_visa")).authorisation
    assert auth is not None
    refund = sandbox.refund(auth, 2000, refund_id="re_1")
    assert (refund.status, refund.amount, refund.currency) == (RefundStatus.SUCCEEDED, 2000, "USD")
    with pytest.raises(RailError):
        sandbox.refund(auth, 5001, refund_id="re_2")
    slow = sandbox.authorise(request_for("pm_card_pendingRefund")).authorisation
    assert slow is not None
    assert sandbox.refund(slow, 100, refund_id="re_3").status is RefundStatus.PENDING


def test_refuses_non_cards_and_has_no_notifications(sandbox: SandboxCardAdapter) -> None:
    with pytest.raises(RailError):
        sandbox.authorise(
            AuthorisationRequest(
                intent_id="pi_w",
                attempt=1,
                amount=100,
                currency="CNY",
                capture_method="automatic",
                instrument=WalletInstrument("alipay"),
            )
        )
    with pytest.raises(UnsupportedOperation):
        sandbox.parse_notification({}, b"{}")


def test_card_number_is_not_in_repr() -> None:
    card = CardInstrument(number="4242424242424242", exp_month=1, exp_year=2030, cvc="123")
    assert "4242424242424242" not in repr(card) and "123" not in repr(card)


def test_request_validation() -> None:
    card = CardInstrument(number="4242424242424242", exp_month=1, exp_year=2030)
    for bad in ({"amount": 0}, {"amount": 1.5}, {"currency": "XXX"}, {"attempt": 0}):
        kwargs = {
            "intent_id": "pi_v",
            "attempt": 1,
            "amount": 100,
            "currency": "EUR",
            "capture_method": "automatic",
            "instrument": card,
            **bad,
        }
        with pytest.raises(ValueError):
            AuthorisationRequest(**kwargs)  # type: ignore[arg-type]

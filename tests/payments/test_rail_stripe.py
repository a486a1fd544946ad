"""The Stripe adapter against a local server that answers like Stripe's API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import stripe
from stripe_fake_server import FakeStripe

from payments.rails.base import (
    Authorisation,
    AuthorisationOutcome,
    AuthorisationRequest,
    CardInstrument,
    NotificationError,
    NotificationKind,
    RailAdapter,
    RailError,
    RefundStatus,
    RetryableRailError,
)
from payments.rails.stripe_card import StripeCardAdapter, build_client

INTENT = "pi_corridorTestIntent000001"
WEBHOOK_SECRET = "whsec_testsecret0000000000000000000"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = FakeStripe().start()
    yield server
    server.stop()


def adapter_for(fake: FakeStripe, *, timeout: float = 5.0, retries: int = 2) -> StripeCardAdapter:
    client = build_client(
        "sk_test_corridor", api_base=fake.url, timeout=timeout, max_network_retries=retries
    )
    return StripeCardAdapter(client, webhook_secret=WEBHOOK_SECRET)


def card_request(
    token: str | None = "pm_card_visa",
    *,
    number: str = "4242424242424242",
    capture_method: str = "automatic",
    attempt: int = 1,
    amount: int = 2500,
    currency: str = "EUR",
    return_url: str | None = "https://shop.example/return",
) -> AuthorisationRequest:
    return AuthorisationRequest(
        intent_id=INTENT,
        attempt=attempt,
        amount=amount,
        currency=currency,
        capture_method=capture_method,  # type: ignore[arg-type]
        instrument=CardInstrument(
            number=number, exp_month=12, exp_year=2034, cvc="123", test_token=token
        ),
        return_url=return_url,
        metadata={"order": "42"},
    )


def test_adapter_implements_the_rail_interface(fake: FakeStripe) -> None:
    assert isinstance(adapter_for(fake), RailAdapter)


def test_automatic_capture_sends_stripe_form_fields_and_a_derived_idempotency_key(
    fake: FakeStripe,
) -> None:
    result = adapter_for(fake).authorise(card_request())

    assert result.outcome is AuthorisationOutcome.APPROVED
    assert result.captured_amount == 2500
    assert result.authorisation is not None
    assert result.authorisation.reference in fake.intents
    assert result.authorisation.currency == "EUR"
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v1/payment_intents")
    assert request.idempotency_key == f"corridor:{INTENT}:authorise:1"
    assert request.headers["Authorization"] == "Bearer sk_test_corridor"
    form = request.form
    assert form["amount"] == "2500"
    assert form["currency"] == "eur"
    assert form["confirm"] == "true"
    assert form["capture_method"] == "automatic"
    assert form["payment_method"] == "pm_card_visa"
    assert form["payment_method_types[0]"] == "card"
    assert form["metadata[corridor_intent_id]"] == INTENT
    assert form["metadata[order]"] == "42"
    assert form["return_url"] == "https://shop.example/return"
    assert not any(k.startswith("payment_method_data") for k in form)


def test_raw_card_is_sent_as_payment_method_data(fake: FakeStripe) -> None:
    adapter_for(fake).authorise(card_request(None, number="5555555555554444"))
    form = fake.requests[0].form
    assert form["payment_method_data[type]"] == "card"
    assert form["payment_method_data[card][number]"] == "5555555555554444"
    assert form["payment_method_data[card][exp_month]"] == "12"
    assert form["payment_method_data[card][exp_year]"] == "2034"
    assert form["payment_method_data[card][cvc]"] == "123"
    assert "payment_method" not in form


def test_manual_capture_then_partial_capture(fake: FakeStripe) -> None:
    adapter = adapter_for(fake)
    result = adapter.authorise(card_request(capture_method="manual"))
    assert result.outcome is AuthorisationOutcome.APPROVED
    assert result.captured_amount == 0
    auth = result.authorisation
    assert auth is not None
    assert fake.intents[auth.reference]["status"] == "requires_capture"

    captured = adapter.capture(auth, 1800)

    assert (captured.amount_captured, captured.amount_released) == (1800, 700)
    [capture] = fake.requests_to(f"/v1/payment_intents/{auth.reference}/capture")
    assert capture.form == {"amount_to_capture": "1800"}
    assert capture.idempotency_key == f"corridor:{INTENT}:capture:1"
    assert fake.intents[auth.reference]["amount_received"] == 1800


def test_cancel_and_refund_use_their_own_keys(fake: FakeStripe) -> None:
    adapter = adapter_for(fake)
    held = adapter.authorise(card_request(capture_method="manual")).authorisation
    assert held is not None
    canceled = adapter.cancel(held)
    assert canceled.amount_released == 2500
    [cancel] = fake.requests_to(f"/v1/payment_intents/{held.reference}/cancel")
    assert cancel.idempotency_key == f"corridor:{INTENT}:cancel:1"
    assert fake.intents[held.reference]["status"] == "canceled"

    paid = adapter.authorise(card_request(attempt=2)).authorisation
    assert paid is not None
    refund = adapter.refund(paid, 1000, refund_id="re_corridor1")
    again = adapter.refund(paid, 1000, refund_id="re_corridor1")  # a retry: replayed
    assert refund == again
    assert refund.status is RefundStatus.SUCCEEDED
    assert (refund.amount, refund.currency) == (1000, "EUR")
    refunds = fake.requests_to("/v1/refunds")
    assert [r.idempotency_key for r in refunds] == ["corridor:re_corridor1:refund:1"] * 2
    assert refunds[0].form == {
        "payment_intent": paid.reference,
        "amount": "1000",
        "metadata[corridor_refund_id]": "re_corridor1",
    }
    assert len(fake.refunds) == 1


def test_declined_card_maps_code_and_decline_code(fake: FakeStripe) -> None:
    result = adapter_for(fake).authorise(card_request("pm_card_chargeDeclinedInsufficientFunds"))

    assert result.outcome is AuthorisationOutcome.DECLINED
    assert result.decline is not None
    assert result.decline.code == "card_declined"
    assert result.decline.decline_code == "insufficient_funds"
    assert result.decline.message == "Your card has insufficient funds."
    assert result.authorisation is not None
    assert fake.intents[result.authorisation.reference]["status"] == "requires_payment_method"


def test_expired_card_decline_has_no_decline_code(fake: FakeStripe) -> None:
    result = adapter_for(fake).authorise(card_request("pm_card_chargeDeclinedExpiredCard"))
    assert result.decline is not None
    assert (result.decline.code, result.decline.decline_code) == ("expired_card", None)


def test_three_d_secure_required_then_passed(fake: FakeStripe) -> None:
    adapter = adapter_for(fake)
    result = adapter.authorise(card_request("pm_card_authenticationRequired"))

    assert result.outcome is AuthorisationOutcome.ACTION_REQUIRED
    assert result.next_action is not None
    assert result.next_action["type"] == "redirect_to_url"
    assert result.next_action["redirect_to_url"]["return_url"] == "https://shop.example/return"
    auth = result.authorisation
    assert auth is not None

    fake.complete_three_d_secure(auth.reference, passed=True)
    resumed = adapter.resume(auth)

    assert resumed.outcome is AuthorisationOutcome.APPROVED
    assert resumed.captured_amount == 2500
    assert fake.requests[-1].method == "GET"
    assert fake.requests[-1].path == f"/v1/payment_intents/{auth.reference}"


def test_three_d_secure_failed_is_a_decline(fake: FakeStripe) -> None:
    adapter = adapter_for(fake)
    auth = adapter.authorise(card_request("pm_card_authenticationRequired")).authorisation
    assert auth is not None
    fake.complete_three_d_secure(auth.reference, passed=False)

    resumed = adapter.resume(auth)

    assert resumed.outcome is AuthorisationOutcome.DECLINED
    assert resumed.decline is not None
    assert resumed.decline.code == "payment_intent_authentication_failure"


def test_timeout_then_safe_retry_with_the_same_idempotency_key(fake: FakeStripe) -> None:
    """The first answer is late (the work was done); the retry must not pay twice."""
    fake.stall_next("/v1/payment_intents", 2.0)
    adapter = adapter_for(fake, timeout=0.5, retries=2)

    result = adapter.authorise(card_request())

    attempts = fake.requests_to("/v1/payment_intents")
    assert len(attempts) == 2
    assert {a.idempotency_key for a in attempts} == {f"corridor:{INTENT}:authorise:1"}
    assert attempts[0].form == attempts[1].form
    assert len(fake.intents) == 1, "the retry was replayed, not executed again"
    assert result.outcome is AuthorisationOutcome.APPROVED
    assert result.authorisation is not None
    assert result.authorisation.reference == next(iter(fake.intents))


def test_timeout_without_retries_is_retryable_and_a_later_retry_is_safe(fake: FakeStripe) -> None:
    fake.stall_next("/v1/payment_intents", 1.5)
    adapter = adapter_for(fake, timeout=0.3, retries=0)

    with pytest.raises(RetryableRailError) as caught:
        adapter.authorise(card_request())
    assert caught.value.code == "api_connection_error"

    time.sleep(1.5)  # the stalled request has finished on the server
    result = adapter.authorise(card_request())  # the intent service retries, same attempt
    assert result.outcome is AuthorisationOutcome.APPROVED
    assert len(fake.intents) == 1
    keys = [r.idempotency_key for r in fake.requests_to("/v1/payment_intents")]
    assert keys == [f"corridor:{INTENT}:authorise:1"] * 2


def test_rate_limit_and_server_errors_are_retryable(fake: FakeStripe) -> None:
    adapter = adapter_for(fake, retries=0)
    fake.fail_next(
        "/v1/payment_intents",
        429,
        {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests."},
    )
    with pytest.raises(RetryableRailError) as limited:
        adapter.authorise(card_request())
    assert limited.value.code == "rate_limit"

    fake.fail_next("/v1/payment_intents", 500, {"type": "api_error", "message": "boom"})
    with pytest.raises(RetryableRailError) as failed:
        adapter.authorise(card_request())
    assert failed.value.code == "api_error"


def test_idempotency_conflict_and_state_errors_are_not_retryable(fake: FakeStripe) -> None:
    adapter = adapter_for(fake)
    adapter.authorise(card_request(amount=2500))
    with pytest.raises(RailError) as conflict:
        adapter.authorise(card_request(amount=9999))  # same key, different body
    assert not isinstance(conflict.value, RetryableRailError)
    assert conflict.value.code == "idempotency_error"

    paid = adapter.authorise(card_request(attempt=2)).authorisation
    assert paid is not None
    with pytest.raises(RailError) as state:
        adapter.capture(paid, 100)
    assert state.value.code == "payment_intent_unexpected_state"


def test_capture_more_than_authorised_is_refused_locally(fake: FakeStripe) -> None:
    auth = Authorisation("stripe", "pi_x", INTENT, 1000, "EUR")
    with pytest.raises(RailError):
        adapter_for(fake).capture(auth, 1001)
    assert fake.requests == []


def _stripe_event(event_type: str, obj: dict[str, object]) -> bytes:
    return json.dumps(
        {
            "id": "evt_1TestEvent",
            "object": "event",
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "type": event_type,
            "livemode": False,
            "data": {"object": obj},
        }
    ).encode()


def test_parse_notification_verifies_stripe_signature(fake: FakeStripe) -> None:
    body = _stripe_event(
        "payment_intent.succeeded",
        {
            "id": "pi_123",
            "object": "payment_intent",
            "amount": 2500,
            "amount_received": 2500,
            "currency": "eur",
            "metadata": {"corridor_intent_id": INTENT},
            "status": "succeeded",
        },
    )
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), WEBHOOK_SECRET)

    note = adapter_for(fake).parse_notification({"stripe-signature": header}, body)

    assert note.kind is NotificationKind.PAYMENT_SUCCEEDED
    assert (note.event_id, note.reference, note.intent_id) == ("evt_1TestEvent", "pi_123", INTENT)
    assert (note.amount, note.currency) == (2500, "EUR")


def test_parse_notification_payment_failed_and_refund(fake: FakeStripe) -> None:
    adapter = adapter_for(fake)
    failed = _stripe_event(
        "payment_intent.payment_failed",
        {
            "id": "pi_9",
            "object": "payment_intent",
            "amount": 700,
            "currency": "usd",
            "metadata": {},
            "last_payment_error": {
                "code": "card_declined",
                "decline_code": "lost_card",
                "message": "Your card has been declined.",
            },
        },
    )
    sig = stripe.WebhookSignature.generate_signature_header(failed.decode(), WEBHOOK_SECRET)
    note = adapter.parse_notification({"Stripe-Signature": sig}, failed)
    assert note.kind is NotificationKind.PAYMENT_FAILED
    assert note.decline is not None
    assert note.decline.decline_code == "lost_card"

    refund = _stripe_event(
        "refund.updated",
        {
            "id": "re_1",
            "object": "refund",
            "amount": 300,
            "currency": "usd",
            "payment_intent": "pi_9",
            "status": "failed",
        },
    )
    sig = stripe.WebhookSignature.generate_signature_header(refund.decode(), WEBHOOK_SECRET)
    note = adapter.parse_notification({"Stripe-Signature": sig}, refund)
    assert note.kind is NotificationKind.REFUND_UPDATED
    assert (note.refund_reference, note.refund_status, note.reference) == (
        "re_1",
        RefundStatus.FAILED,
        "pi_9",
    )


def test_parse_notification_rejects_bad_signatures(fake: FakeStripe) -> None:
    adapter = adapter_for(fake)
    body = _stripe_event("payment_intent.succeeded", {"id": "pi_1", "object": "payment_intent"})
    wrong = stripe.WebhookSignature.generate_signature_header(body.decode(), "whsec_other")
    stale = stripe.WebhookSignature.generate_signature_header(
        body.decode(), WEBHOOK_SECRET, timestamp=int(time.time()) - 3600
    )
    for headers in ({}, {"Stripe-Signature": wrong}, {"Stripe-Signature": stale}):
        with pytest.raises(NotificationError):
            adapter.parse_notification(headers, body)
    good = stripe.WebhookSignature.generate_signature_header(body.decode(), WEBHOOK_SECRET)
    with pytest.raises(NotificationError):
        adapter.parse_notification({"Stripe-Signature": good}, body + b" ")

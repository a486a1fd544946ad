"""Our Stripe-Signature scheme, checked against the official stripe package both ways."""

from __future__ import annotations

import json
import time

import pytest
import stripe

from payments.webhook_signature import (
    SignatureError,
    generate_endpoint_secret,
    parse_header,
    sign,
    sign_with_secrets,
    verify,
)

SECRET = "whsec_0123456789abcdefghijABCDEFGHIJ"


def event_body(**extra: object) -> str:
    return json.dumps(
        {
            "id": "evt_1Corridor",
            "object": "event",
            "api_version": "2024-06-20",
            "created": 1_700_000_000,
            "type": "payment_intent.succeeded",
            "livemode": False,
            "data": {"object": {"id": "pi_1", "object": "payment_intent", **extra}},
        }
    )


@pytest.mark.parametrize(
    "body",
    [
        event_body(),
        event_body(description="Zahlung für Bestellung №42 — 東京"),
        event_body(metadata={"a": "b, c=d"}),
    ],
)
def test_stripe_construct_event_accepts_our_signature(body: str) -> None:
    header = sign(body.encode(), SECRET)
    event = stripe.Webhook.construct_event(body, header, SECRET)
    assert event.id == "evt_1Corridor"
    assert event.type == "payment_intent.succeeded"
    # bytes payloads too, as a web framework hands them over
    assert stripe.Webhook.construct_event(body.encode(), header, SECRET).id == "evt_1Corridor"


def test_we_accept_stripes_own_signature() -> None:
    body = event_body()
    header = stripe.WebhookSignature.generate_signature_header(body, SECRET)
    assert verify(body.encode(), header, SECRET) == parse_header(header).timestamp


def test_both_secrets_verify_during_a_roll() -> None:
    body = event_body()
    new = generate_endpoint_secret()
    header = sign_with_secrets(body, [SECRET, new])
    assert len(parse_header(header).signatures) == 2
    for secret in (SECRET, new):
        verify(body, header, secret)
        assert stripe.Webhook.construct_event(body, header, secret).id == "evt_1Corridor"
    with pytest.raises(SignatureError):
        verify(body, header, generate_endpoint_secret())


def test_tolerance_window() -> None:
    body = event_body()
    now = 1_800_000_000
    header = sign(body, SECRET, timestamp=now - 301)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(body, header, SECRET, now=now)
    assert verify(body, header, SECRET, now=now, tolerance=0) == now - 301
    assert verify(body, sign(body, SECRET, timestamp=now - 299), SECRET, now=now) == now - 299
    with pytest.raises(SignatureError, match="tolerance"):
        verify(body, sign(body, SECRET, timestamp=now + 301), SECRET, now=now)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            body, sign(body, SECRET, timestamp=int(time.time()) - 600), SECRET
        )


@pytest.mark.parametrize(
    "header",
    [None, "", "v1=abc", "t=123", "t=abc,v1=def", "t=1,v0=deadbeef"],
)
def test_malformed_headers_are_refused(header: str | None) -> None:
    with pytest.raises(SignatureError):
        verify(event_body(), header, SECRET, tolerance=0)


def test_tampered_payload_or_wrong_secret_is_refused() -> None:
    body = event_body()
    header = sign(body, SECRET)
    with pytest.raises(SignatureError):
        verify(body.replace("pi_1", "pi_2"), header, SECRET)
    with pytest.raises(SignatureError):
        verify(body, header, SECRET + "x")


def test_endpoint_secrets_look_like_stripes_and_are_unique() -> None:
    secrets = {generate_endpoint_secret() for _ in range(200)}
    assert len(secrets) == 200
    for secret in secrets:
        assert secret.startswith("whsec_") and len(secret) == 38 and secret[6:].isalnum()

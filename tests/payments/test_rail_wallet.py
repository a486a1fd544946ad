"""Wallet rails: redirect, then a signed notification that decides the payment."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest

from core.settings import Settings
from payments import webhook_signature
from payments.rails import notification_secrets
from payments.rails.base import (
    AuthorisationOutcome,
    AuthorisationRequest,
    NotificationError,
    NotificationKind,
    RailAdapter,
    RailError,
    RefundStatus,
    UnsupportedOperation,
    WalletInstrument,
)
from payments.rails.wallet import SIGNATURE_HEADER, WalletAdapter, build_notification

BASE = "https://corridor.example"
SECRETS = notification_secrets.parse("master-secret-for-tests")


def adapter(provider: str = "alipay", **kwargs: object) -> WalletAdapter:
    return WalletAdapter(provider, SECRETS[provider], BASE, **kwargs)  # type: ignore[arg-type]


def wallet_request(
    provider: str = "alipay", capture_method: str = "automatic"
) -> AuthorisationRequest:
    return AuthorisationRequest(
        intent_id="pi_wallet1",
        attempt=1,
        amount=8800,
        currency="CNY",
        capture_method=capture_method,  # type: ignore[arg-type]
        instrument=WalletInstrument(provider),  # type: ignore[arg-type]
        return_url="https://shop.example/done",
    )


@pytest.mark.parametrize("provider", ["alipay", "wechat_pay", "paypal"])
def test_redirect_then_pending_until_notified(provider: str) -> None:
    rail = adapter(provider)
    assert isinstance(rail, RailAdapter)
    result = rail.authorise(wallet_request(provider))
    assert result.outcome is AuthorisationOutcome.ACTION_REQUIRED
    auth = result.authorisation
    assert auth is not None and auth.rail == provider
    assert result.next_action == {
        "type": "redirect_to_url",
        "redirect_to_url": {
            "url": f"{BASE}/v1/test_helpers/wallets/{provider}/{auth.reference}",
            "return_url": "https://shop.example/done",
        },
    }
    assert rail.resume(auth, action_result="succeeded").outcome is AuthorisationOutcome.PENDING


def test_succeeded_notification_round_trip() -> None:
    rail = adapter()
    auth = rail.authorise(wallet_request()).authorisation
    assert auth is not None
    message = build_notification(
        "alipay",
        SECRETS["alipay"],
        reference=auth.reference,
        status="succeeded",
        amount=8800,
        currency="CNY",
        intent_id=auth.intent_id,
        event_id="wevt_1",
    )
    note = rail.parse_notification(message.headers, message.body)
    assert note.kind is NotificationKind.PAYMENT_SUCCEEDED
    assert (note.rail, note.event_id, note.reference, note.intent_id) == (
        "alipay",
        "wevt_1",
        auth.reference,
        "pi_wallet1",
    )
    assert (note.amount, note.currency) == (8800, "CNY")
    header = message.headers[SIGNATURE_HEADER]
    assert header.startswith("t=") and ",v1=" in header
    # lower-cased header names (as ASGI servers give them) work too
    lowered = {k.lower(): v for k, v in message.headers.items()}
    assert rail.parse_notification(lowered, message.body) == note


def test_failed_notification_carries_the_reason() -> None:
    message = build_notification(
        "paypal",
        SECRETS["paypal"],
        reference="paypal_pi_wallet1_1",
        status="failed",
        amount=8800,
        currency="usd",
        failure_code="payer_canceled",
        failure_message="The payer canceled at PayPal.",
    )
    note = adapter("paypal").parse_notification(message.headers, message.body)
    assert note.kind is NotificationKind.PAYMENT_FAILED
    assert note.decline is not None
    assert (note.decline.code, note.decline.message) == (
        "payer_canceled",
        "The payer canceled at PayPal.",
    )


def test_forged_tampered_stale_or_misrouted_notifications_are_refused() -> None:
    good = build_notification(
        "alipay", SECRETS["alipay"], reference="r1", status="succeeded", amount=100, currency="CNY"
    )
    rail = adapter()
    forged = build_notification(
        "alipay", "not-the-secret", reference="r1", status="succeeded", amount=100, currency="CNY"
    )
    stale = build_notification(
        "alipay",
        SECRETS["alipay"],
        reference="r1",
        status="succeeded",
        amount=100,
        currency="CNY",
        timestamp=int(time.time()) - 3600,
    )
    with pytest.raises(NotificationError):
        rail.parse_notification(forged.headers, forged.body)
    with pytest.raises(NotificationError):
        rail.parse_notification(stale.headers, stale.body)
    with pytest.raises(NotificationError):
        rail.parse_notification(good.headers, good.body.replace(b"100", b"900"))
    with pytest.raises(NotificationError):
        rail.parse_notification({}, good.body)
    # WeChat's secret differs from Alipay's, so its notification does not verify here...
    wechat = build_notification(
        "wechat_pay",
        SECRETS["wechat_pay"],
        reference="r1",
        status="succeeded",
        amount=100,
        currency="CNY",
    )
    with pytest.raises(NotificationError):
        rail.parse_notification(wechat.headers, wechat.body)
    # ...and an Alipay-signed body claiming another provider is refused too.
    shared = WalletAdapter("paypal", SECRETS["alipay"], BASE)
    with pytest.raises(NotificationError, match="for 'alipay'"):
        shared.parse_notification(good.headers, good.body)


@pytest.mark.parametrize(
    "data",
    [
        {"amount": 0},
        {"amount": "100"},
        {"currency": "zzz"},
        {"reference": ""},
    ],
)
def test_malformed_bodies_are_refused_even_when_signed(data: dict[str, object]) -> None:
    payload = {
        "id": "wevt_x",
        "object": "wallet_notification",
        "provider": "alipay",
        "type": "payment.succeeded",
        "created": int(time.time()),
        "data": {"reference": "r", "amount": 100, "currency": "cny", **data},
    }
    body = json.dumps(payload).encode()
    headers = {SIGNATURE_HEADER: webhook_signature.sign(body, SECRETS["alipay"])}
    with pytest.raises(NotificationError):
        adapter().parse_notification(headers, body)


def test_manual_capture_and_wrong_instrument_are_refused() -> None:
    with pytest.raises(RailError, match="automatic"):
        adapter().authorise(wallet_request(capture_method="manual"))
    with pytest.raises(RailError):
        adapter("paypal").authorise(wallet_request("alipay"))
    auth = adapter().authorise(wallet_request()).authorisation
    assert auth is not None
    with pytest.raises(UnsupportedOperation):
        adapter().capture(auth, 100)
    assert adapter().cancel(auth).amount_released == 8800
    refund = adapter().refund(auth, 800, refund_id="re_w")
    assert (refund.status, refund.amount) == (RefundStatus.SUCCEEDED, 800)


def test_secrets_are_per_provider() -> None:
    assert len(set(SECRETS.values())) == len(notification_secrets.PROVIDERS)
    explicit = notification_secrets.parse("alipay:a-secret,paypal:p-secret")
    assert explicit == {"alipay": "a-secret", "paypal": "p-secret"}
    with pytest.raises(ValueError):
        notification_secrets.parse("one,two")
    with pytest.raises(ValueError):
        notification_secrets.parse("alipay:,paypal:x")


def test_secrets_from_settings_generate_a_private_master(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="sqlite://")
    first = notification_secrets.from_settings(settings)
    assert first == notification_secrets.from_settings(settings)
    mode = (tmp_path / notification_secrets.MASTER_FILE).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600

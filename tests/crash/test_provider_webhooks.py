"""Inbound provider notifications delivered twice, out of order, late, and all at once.

Providers retry until they get a 2xx and promise no order, so Corridor must end in the
right state, with the money moved once, whatever arrives: Stripe events (signed with
``CORRIDOR_STRIPE_WEBHOOK_SECRET`` exactly as Stripe signs them), wallet notifications
and the bank's credit advices, each through its real route on the live service.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from core.settings import get_settings
from payments.notifications import InboundEvent
from payments.rails import notification_secrets
from payments.rails.bank_transfer import build_credit_advice
from payments.rails.wallet import build_notification
from settlement.balance_transactions import BalanceTransaction
from settlement.ledger import Ledger
from settlement.ledger.tables import LedgerAccount
from tests.http import http
from tests.payments.stripe_fake_server import FakeStripe

WEBHOOK_SECRET = "whsec_crash_provider_tests"


@pytest.fixture
def fake_stripe(service: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    """Stripe's API played locally, and the live service configured for it (its route
    handlers read the process's settings, so the environment is patched and the settings
    reloaded for this test, and restored after)."""
    fake = FakeStripe().start()
    monkeypatch.setenv("CORRIDOR_STRIPE_API_KEY", "sk_test_fake_upstream")
    monkeypatch.setenv("CORRIDOR_STRIPE_API_BASE", fake.url)
    monkeypatch.setenv("CORRIDOR_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    get_settings.cache_clear()
    yield fake
    monkeypatch.undo()
    get_settings.cache_clear()
    fake.stop()


@pytest.fixture
def stripe_merchant(service: Any, fake_stripe: FakeStripe) -> Any:
    """A merchant whose euro cards go through the Stripe rail."""
    from api.keys import issue_key

    admin = service.stripe(service.admin_key)
    account = admin.v1.accounts.create(
        params={
            "country": "DE",
            "default_currency": "eur",
            "business_profile": {"name": "Stripe Routed GmbH"},
            "settings": {"card_routing": {"eur": "stripe"}},
        }
    )
    with service.db.transaction() as session:
        key = issue_key(session, "merchant", account.id, "tests").secret
    return account.id, service.stripe(key)


# --- what a provider sends --------------------------------------------------------------


def stripe_event(event_type: str, intent: dict[str, Any], *, event_id: str) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "type": event_type,
            "livemode": False,
            "data": {"object": intent},
        },
        separators=(",", ":"),
    ).encode()


def post_stripe(service: Any, payload: bytes) -> httpx.Response:
    """Signed as Stripe signs: ``t=<ts>,v1=HMAC-SHA256(secret, "<ts>.<payload>")``."""
    timestamp = int(time.time())
    mac = hmac.new(
        WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return http.post(
        f"{service.base_url}/v1/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": f"t={timestamp},v1={mac}", "Content-Type": "application/json"},
    )


def post_wallet(service: Any, provider: str, **fields: Any) -> httpx.Response:
    secret = notification_secrets.from_settings(get_settings())[provider]
    message = build_notification(provider, secret, **fields)
    return http.post(
        f"{service.base_url}/v1/webhooks/wallets/{provider}",
        content=message.body,
        headers=message.headers,
    )


def credit_advice(**fields: Any) -> tuple[dict[str, str], bytes]:
    secret = notification_secrets.from_settings(get_settings())["bank_transfer"]
    message = build_credit_advice(secret, **fields)
    return dict(message.headers), message.body


def post_bank(service: Any, headers: dict[str, str], body: bytes) -> httpx.Response:
    return http.post(
        f"{service.base_url}/v1/webhooks/bank_transfers", content=body, headers=headers
    )


# --- what the books say -----------------------------------------------------------------


def booked(service: Any, source: str) -> list[tuple[str, int]]:
    with service.db.transaction(write=False) as session:
        rows = session.execute(
            select(BalanceTransaction.type, BalanceTransaction.amount).where(
                BalanceTransaction.source == source
            )
        ).all()
    return sorted((row.type, row.amount) for row in rows)


def balance(service: Any, owner: str, purpose: str) -> int:
    with service.db.transaction(write=False) as session:
        account_id = session.scalar(
            select(LedgerAccount.id).where(
                LedgerAccount.owner == owner,
                LedgerAccount.purpose == purpose,
                LedgerAccount.currency == "EUR",
            )
        )
        return Ledger(session).balance(account_id).posted if account_id else 0


def recorded(service: Any, rail: str, event_id: str) -> int:
    with service.db.transaction(write=False) as session:
        return session.scalar(
            select(func.count())
            .select_from(InboundEvent)
            .where(InboundEvent.rail == rail, InboundEvent.event_id == event_id)
        )


def wallet_intent(merchant: Any, provider: str, amount: int) -> Any:
    intent = merchant.client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "eur",
            "payment_method_types": [provider],
            "payment_method_data": {"type": provider},
            "confirm": True,
        }
    )
    assert intent.status == "requires_action"
    return intent


def authorisation_reference(service: Any, intent_id: str) -> str:
    from payments.intents import PaymentIntent

    with service.db.transaction(write=False) as session:
        intent = session.get(PaymentIntent, intent_id)
        assert intent is not None and intent.rail_reference
        return intent.rail_reference


# --- Stripe ----------------------------------------------------------------------------


def three_d_secure_at_stripe(client: Any, amount: int) -> Any:
    intent = client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "eur",
            "payment_method": "pm_card_authenticationRequired",
            "confirm": True,
        }
    )
    assert intent.status == "requires_action"
    return intent


def test_stripe_success_twice_then_a_stale_failure_moves_the_money_once(
    service, fake_stripe, stripe_merchant
):
    account_id, client = stripe_merchant
    intent = three_d_secure_at_stripe(client, 4_200)
    upstream_id = authorisation_reference(service, intent.id)
    fake_stripe.complete_three_d_secure(upstream_id, passed=True)
    upstream = fake_stripe.intents[upstream_id]

    succeeded = stripe_event("payment_intent.succeeded", upstream, event_id="evt_up_ok_1")
    first, again = post_stripe(service, succeeded), post_stripe(service, succeeded)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["id"] == again.json()["id"]  # the same record: a duplicate
    assert first.json()["outcome"] == "succeeded"

    failed_copy = {**upstream, "status": "requires_payment_method"}
    failed_copy["last_payment_error"] = {"code": "card_declined", "message": "Declined."}
    stale = post_stripe(
        service, stripe_event("payment_intent.payment_failed", failed_copy, event_id="evt_up_f_1")
    )
    assert stale.status_code == 200
    assert stale.json()["outcome"].startswith("ignored")

    done = client.v1.payment_intents.retrieve(intent.id)
    assert (done.status, done.amount_received) == ("succeeded", 4_200)
    assert [kind for kind, _ in booked(service, intent.id)] == ["charge"]
    assert recorded(service, "stripe", "evt_up_ok_1") == 1
    assert balance(service, account_id, "merchant_pending") == 4_200


def test_a_late_stripe_success_for_a_canceled_intent_changes_nothing(
    service, fake_stripe, stripe_merchant
):
    account_id, client = stripe_merchant
    intent = three_d_secure_at_stripe(client, 3_100)
    upstream_id = authorisation_reference(service, intent.id)
    canceled = client.v1.payment_intents.cancel(intent.id)
    assert canceled.status == "canceled"

    fake_stripe.complete_three_d_secure(upstream_id, passed=True)  # the payer, too late
    late = post_stripe(
        service,
        stripe_event(
            "payment_intent.succeeded", fake_stripe.intents[upstream_id], event_id="evt_up_late"
        ),
    )
    assert late.status_code == 200
    assert late.json()["outcome"] == "ignored: intent is canceled"
    assert client.v1.payment_intents.retrieve(intent.id).status == "canceled"
    assert booked(service, intent.id) == []
    assert balance(service, account_id, "merchant_pending") == 0


def test_a_forged_stripe_event_is_refused(service, fake_stripe, stripe_merchant):
    _, client = stripe_merchant
    intent = three_d_secure_at_stripe(client, 999)
    upstream_id = authorisation_reference(service, intent.id)
    fake_stripe.complete_three_d_secure(upstream_id, passed=True)
    payload = stripe_event(
        "payment_intent.succeeded", fake_stripe.intents[upstream_id], event_id="evt_forged"
    )
    forged = http.post(
        f"{service.base_url}/v1/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": f"t={int(time.time())},v1={'0' * 64}"},
    )
    assert forged.status_code == 400
    assert forged.json()["error"]["code"] == "invalid_notification"
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_action"


# --- wallets ---------------------------------------------------------------------------


def test_wallet_success_duplicated_resent_and_contradicted_is_paid_once(service, merchant):
    intent = wallet_intent(merchant, "alipay", 7_700)
    reference = authorisation_reference(service, intent.id)
    common = {"reference": reference, "amount": 7_700, "currency": "eur", "intent_id": intent.id}

    first = post_wallet(service, "alipay", status="succeeded", event_id="wevt_ok_1", **common)
    same = post_wallet(service, "alipay", status="succeeded", event_id="wevt_ok_1", **common)
    resent = post_wallet(service, "alipay", status="succeeded", event_id="wevt_ok_2", **common)
    stale = post_wallet(
        service,
        "alipay",
        status="failed",
        event_id="wevt_failed_1",
        failure_code="payment_failed",
        **common,
    )
    assert [r.status_code for r in (first, same, resent, stale)] == [200] * 4
    assert first.json()["outcome"] == "succeeded"
    assert same.json()["id"] == first.json()["id"]
    assert resent.json()["outcome"] == "ignored: intent is succeeded"
    assert stale.json()["outcome"] == "ignored: intent is succeeded"

    done = merchant.client.v1.payment_intents.retrieve(intent.id)
    assert (done.status, done.amount_received) == ("succeeded", 7_700)
    assert [kind for kind, _ in booked(service, intent.id)] == ["charge"]
    assert balance(service, merchant.account_id, "merchant_pending") == 7_700


def test_a_wallet_notification_after_cancel_is_ignored(service, merchant):
    intent = wallet_intent(merchant, "paypal", 1_250)
    reference = authorisation_reference(service, intent.id)
    merchant.client.v1.payment_intents.cancel(intent.id)
    late = post_wallet(
        service,
        "paypal",
        status="succeeded",
        event_id="wevt_late_1",
        reference=reference,
        amount=1_250,
        currency="eur",
        intent_id=intent.id,
    )
    assert late.status_code == 200
    assert late.json()["outcome"] == "ignored: intent is canceled"
    assert merchant.client.v1.payment_intents.retrieve(intent.id).status == "canceled"
    assert booked(service, intent.id) == []


def test_the_same_wallet_notification_many_times_at_once_is_applied_once(service, merchant):
    """A provider retrying while its first delivery is still being processed."""
    intent = wallet_intent(merchant, "wechat_pay", 5_000)
    reference = authorisation_reference(service, intent.id)
    secret = notification_secrets.from_settings(get_settings())["wechat_pay"]
    message = build_notification(
        "wechat_pay",
        secret,
        reference=reference,
        status="succeeded",
        amount=5_000,
        currency="eur",
        intent_id=intent.id,
        event_id="wevt_burst_1",
    )

    start = threading.Barrier(8)

    def deliver(_: int) -> tuple[int, str]:
        start.wait()
        response = http.post(
            f"{service.base_url}/v1/webhooks/wallets/wechat_pay",
            content=message.body,
            headers=message.headers,
        )
        return response.status_code, response.json().get("id", "")

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(deliver, range(8)))
    # Every copy is acknowledged (a 5xx would only make the provider send it again), and
    # all name the one record that was applied.
    assert {status for status, _ in answers} == {200}
    assert len({record for _, record in answers}) == 1
    assert recorded(service, "wechat_pay", "wevt_burst_1") == 1
    done = merchant.client.v1.payment_intents.retrieve(intent.id)
    assert (done.status, done.amount_received) == ("succeeded", 5_000)
    assert [kind for kind, _ in booked(service, intent.id)] == ["charge"]


# --- bank credits ----------------------------------------------------------------------


def test_a_duplicated_bank_credit_is_booked_once(service, merchant):
    intent = merchant.client.v1.payment_intents.create(
        params={
            "amount": 15_000,
            "currency": "eur",
            "payment_method_types": ["bank_transfer"],
            "payment_method_data": {"type": "bank_transfer"},
            "confirm": True,
        }
    )
    reference = intent.next_action.display_bank_transfer_instructions.reference
    before = balance(service, "platform", "customer_balance")
    headers, body = credit_advice(
        amount=15_000, currency="eur", reference=reference, credit_id="bcrd_dup_1"
    )
    first, again = post_bank(service, headers, body), post_bank(service, headers, body)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["outcome"] == "exact"
    done = merchant.client.v1.payment_intents.retrieve(intent.id)
    assert (done.status, done.amount_received) == ("succeeded", 15_000)
    assert [kind for kind, _ in booked(service, intent.id)] == ["charge"]
    assert balance(service, merchant.account_id, "merchant_pending") == 15_000
    # Received into customer_balance and applied from it: the platform holds nothing more.
    assert balance(service, "platform", "customer_balance") == before


def test_a_bank_credit_after_cancel_is_kept_for_the_payer_once(service, merchant):
    intent = merchant.client.v1.payment_intents.create(
        params={
            "amount": 8_000,
            "currency": "eur",
            "payment_method_types": ["bank_transfer"],
            "payment_method_data": {"type": "bank_transfer"},
            "confirm": True,
        }
    )
    reference = intent.next_action.display_bank_transfer_instructions.reference
    merchant.client.v1.payment_intents.cancel(intent.id)
    before = balance(service, "platform", "customer_balance")
    headers, body = credit_advice(
        amount=8_000, currency="eur", reference=reference, credit_id="bcrd_late_1"
    )
    answers = [post_bank(service, headers, body) for _ in range(3)]
    assert {a.status_code for a in answers} == {200}
    assert answers[0].json()["outcome"].startswith("unapplied")
    assert merchant.client.v1.payment_intents.retrieve(intent.id).status == "canceled"
    assert booked(service, intent.id) == []
    assert balance(service, merchant.account_id, "merchant_pending") == 0
    # The money did arrive: owed back to the payer, and only once.
    assert balance(service, "platform", "customer_balance") == before + 8_000

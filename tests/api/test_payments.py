"""Payment flows end to end, with the official stripe SDK as the checkout's client."""

from __future__ import annotations

import concurrent.futures
from decimal import ROUND_HALF_EVEN, Decimal

import httpx
import pytest
import stripe
from sqlalchemy import select

from settlement.ledger import Ledger
from settlement.ledger.tables import accounts as ledger_accounts
from tests.http import http


def balance_of(service, account_id: str, purpose: str, currency: str) -> int:
    with service.db.transaction(write=False) as session:
        row = session.execute(
            select(ledger_accounts.c.id).where(
                ledger_accounts.c.owner == account_id,
                ledger_accounts.c.purpose == purpose,
                ledger_accounts.c.currency == currency,
            )
        ).first()
        return Ledger(session).balance(row.id).posted if row else 0


def pay(client, amount=2000, currency="eur", method="pm_card_visa", **params):
    return client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": currency,
            "payment_method": method,
            "confirm": True,
            **params,
        }
    )


def test_automatic_capture(service, merchant, hook):
    intent = pay(merchant.client, 2500, receipt_email=None)
    assert intent.status == "succeeded"
    assert intent.amount_received == 2500
    assert intent.amount_capturable == 0
    full = merchant.client.v1.payment_intents.retrieve(
        intent.id, params={"expand": ["latest_charge"]}
    )
    charge = full.latest_charge
    assert charge.captured is True and charge.amount_captured == 2500
    assert charge.payment_method_details.card.brand == "visa"
    assert charge.payment_method_details.card.last4 == "4242"
    assert balance_of(service, merchant.account_id, "merchant_pending", "EUR") == 2500
    txn = merchant.client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert (txn.type, txn.amount, txn.net, txn.status) == ("charge", 2500, 2500, "pending")
    service.wait_for(
        lambda: {"payment_intent.succeeded", "charge.succeeded"} <= {e.type for e in hook.events}
    )


def test_manual_and_partial_capture(service, merchant):
    intent = pay(merchant.client, 1000, capture_method="manual")
    assert intent.status == "requires_capture"
    assert intent.amount_capturable == 1000
    assert balance_of(service, merchant.account_id, "merchant_pending", "EUR") == 0
    captured = merchant.client.v1.payment_intents.capture(
        intent.id, params={"amount_to_capture": 600}
    )
    assert captured.status == "succeeded"
    assert captured.amount_received == 600
    assert captured.amount_capturable == 0
    assert balance_of(service, merchant.account_id, "merchant_pending", "EUR") == 600
    with pytest.raises(stripe.InvalidRequestError) as again:
        merchant.client.v1.payment_intents.capture(intent.id)
    assert again.value.code == "payment_intent_unexpected_state"


def test_capture_more_than_authorised_is_refused(merchant):
    intent = pay(merchant.client, 1000, capture_method="manual")
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        merchant.client.v1.payment_intents.capture(intent.id, params={"amount_to_capture": 1001})
    assert too_much.value.param == "amount_to_capture"
    assert merchant.client.v1.payment_intents.retrieve(intent.id).status == "requires_capture"


def test_decline_raises_card_error_with_decline_code(service, merchant, hook):
    with pytest.raises(stripe.CardError) as declined:
        pay(merchant.client, 2000, method="pm_card_chargeDeclinedInsufficientFunds")
    error = declined.value
    assert error.http_status == 402
    assert error.code == "card_declined"
    assert error.error.decline_code == "insufficient_funds"
    intent_id = error.error.payment_intent["id"]
    intent = merchant.client.v1.payment_intents.retrieve(intent_id)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.decline_code == "insufficient_funds"
    assert "number" not in str(intent.last_payment_error.payment_method)
    localized = http.get(
        f"{service.base_url}/v1/payment_intents/{intent_id}",
        headers={"Authorization": f"Bearer {merchant.key}", "Accept-Language": "es-MX"},
    ).json()["last_payment_error"]
    assert localized["code"] == "card_declined"  # stable
    assert localized["decline_message_locale"] == "es"
    assert localized["decline_message"] != localized["message"]
    # The payer tries another card: the same intent succeeds.
    retried = merchant.client.v1.payment_intents.confirm(
        intent_id, params={"payment_method": "pm_card_mastercard"}
    )
    assert retried.status == "succeeded"
    service.wait_for(lambda: "payment_intent.payment_failed" in {e.type for e in hook.events})


def _challenge(url: str, result: str) -> httpx.Response:
    return http.post(url, data={"result": result})


def test_three_d_secure_passed(merchant):
    intent = pay(
        merchant.client,
        3000,
        method="pm_card_authenticationRequired",
        return_url="https://shop.example/return",
    )
    assert intent.status == "requires_action"
    assert intent.next_action.type == "redirect_to_url"
    url = intent.next_action.redirect_to_url.url
    assert http.get(url).status_code == 200  # the challenge page a payer sees
    answer = _challenge(url, "succeeded")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(
        f"https://shop.example/return?payment_intent={intent.id}"
    )
    done = merchant.client.v1.payment_intents.retrieve(intent.id)
    assert done.status == "succeeded"
    assert done.amount_received == 3000


def test_three_d_secure_failed(merchant):
    intent = pay(merchant.client, 3000, method="pm_card_authenticationRequired")
    answer = _challenge(intent.next_action.redirect_to_url.url, "failed")
    assert answer.status_code == 200
    failed = merchant.client.v1.payment_intents.retrieve(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error.code == "payment_intent_authentication_failure"


def test_wallet_redirect_and_signed_notification(service, merchant, hook):
    intent = merchant.client.v1.payment_intents.create(
        params={
            "amount": 8800,
            "currency": "eur",
            "payment_method_types": ["alipay"],
            "payment_method_data": {"type": "alipay"},
            "confirm": True,
            "return_url": "https://shop.example/done",
        }
    )
    assert intent.status == "requires_action"
    url = intent.next_action.redirect_to_url.url
    assert "/test_helpers/wallets/alipay/" in url
    assert http.post(url, data={"result": "succeeded"}).status_code == 303
    paid = merchant.client.v1.payment_intents.retrieve(intent.id)
    assert paid.status == "succeeded" and paid.amount_received == 8800
    assert balance_of(service, merchant.account_id, "merchant_pending", "EUR") == 8800


def test_wallet_notification_with_a_bad_signature_is_refused(service, merchant):
    intent = merchant.client.v1.payment_intents.create(
        params={
            "amount": 500,
            "currency": "eur",
            "payment_method_types": ["paypal"],
            "payment_method_data": {"type": "paypal"},
            "confirm": True,
        }
    )
    forged = http.post(
        f"{service.base_url}/v1/webhooks/wallets/paypal",
        content=b'{"id":"wevt_forged","object":"wallet_notification"}',
        headers={"Corridor-Wallet-Signature": "t=1,v1=00", "Content-Type": "application/json"},
    )
    assert forged.status_code == 400
    assert merchant.client.v1.payment_intents.retrieve(intent.id).status == "requires_action"


def _bank_intent(merchant, amount: int):
    intent = merchant.client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "eur",
            "payment_method_types": ["bank_transfer"],
            "payment_method_data": {"type": "bank_transfer"},
            "confirm": True,
        }
    )
    assert intent.status == "requires_action"
    instructions = intent.next_action.display_bank_transfer_instructions
    assert instructions.amount_remaining == amount
    assert instructions.reference.startswith("RF")
    return intent


def _credit(service, merchant, intent_id: str, amount: int):
    response = http.post(
        f"{service.base_url}/v1/test_helpers/bank_transfers/credits",
        data={"payment_intent": intent_id, "amount": amount, "currency": "eur"},
        headers={"Authorization": f"Bearer {merchant.key}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_bank_transfer_exact(service, merchant):
    intent = _bank_intent(merchant, 15000)
    assert _credit(service, merchant, intent.id, 15000)["outcome"] == "exact"
    done = merchant.client.v1.payment_intents.retrieve(intent.id)
    assert done.status == "succeeded" and done.amount_received == 15000
    assert balance_of(service, merchant.account_id, "merchant_pending", "EUR") == 15000


def test_bank_transfer_short_then_rest(service, merchant):
    intent = _bank_intent(merchant, 15000)
    assert _credit(service, merchant, intent.id, 10000)["outcome"].startswith("short")
    waiting = merchant.client.v1.payment_intents.retrieve(intent.id)
    assert waiting.status == "requires_action"
    assert waiting.next_action.display_bank_transfer_instructions.amount_remaining == 5000
    assert _credit(service, merchant, intent.id, 5000)["outcome"] == "exact"
    assert merchant.client.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_bank_transfer_excess_is_kept_for_the_payer(service, merchant):
    intent = _bank_intent(merchant, 15000)
    assert _credit(service, merchant, intent.id, 16000)["outcome"] == "excess"
    done = merchant.client.v1.payment_intents.retrieve(intent.id)
    assert done.status == "succeeded" and done.amount_received == 15000
    assert balance_of(service, merchant.account_id, "merchant_pending", "EUR") == 15000
    assert balance_of(service, "platform", "customer_balance", "EUR") >= 1000


def test_cancel_releases_the_hold(service, merchant, hook):
    intent = pay(merchant.client, 4200, capture_method="manual")
    canceled = merchant.client.v1.payment_intents.cancel(
        intent.id, params={"cancellation_reason": "requested_by_customer"}
    )
    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "requested_by_customer"
    assert balance_of(service, merchant.account_id, "merchant_pending", "EUR") == 0
    with pytest.raises(stripe.InvalidRequestError) as late:
        merchant.client.v1.payment_intents.capture(intent.id)
    assert late.value.code == "payment_intent_unexpected_state"
    service.wait_for(lambda: "payment_intent.canceled" in {e.type for e in hook.events})


def test_partial_refunds_to_the_full_amount_and_no_further(service, merchant, hook):
    intent = pay(merchant.client, 1000)
    first = merchant.client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 300})
    second = merchant.client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 700})
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert balance_of(service, merchant.account_id, "merchant_pending", "EUR") == 0
    with pytest.raises(stripe.InvalidRequestError) as over:
        merchant.client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1})
    assert over.value.code == "charge_already_refunded"
    listed = merchant.client.v1.refunds.list(params={"payment_intent": intent.id})
    assert sorted(r.amount for r in listed.data) == [300, 700]
    service.wait_for(lambda: "charge.refunded" in {e.type for e in hook.events})


def test_over_refund_names_the_amount(merchant):
    intent = pay(merchant.client, 1000)
    with pytest.raises(stripe.InvalidRequestError) as over:
        merchant.client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1001})
    assert over.value.param == "amount"


def test_twenty_concurrent_refunds_never_exceed_the_capture(service, merchant):
    intent = pay(merchant.client, 1000)

    def refund(_: int) -> str:
        try:
            merchant.client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 70})
            return "ok"
        except stripe.InvalidRequestError as exc:
            return exc.code or "error"

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(refund, range(20)))
    assert outcomes.count("ok") == 14  # 14 x 70 = 980 <= 1000 < 15 x 70
    assert set(outcomes) == {"ok", "amount_too_large"}
    refunds = merchant.client.v1.refunds.list(params={"payment_intent": intent.id, "limit": 100})
    assert sum(r.amount for r in refunds.data) == 980
    assert balance_of(service, merchant.account_id, "merchant_pending", "EUR") == 20


def test_cross_currency_capture_shows_the_rate(service, make_merchant):
    german = make_merchant(country="DE", currency="eur", name="Tokyo Shop Berlin")
    intent = pay(german.client, 12000, currency="jpy", method="pm_card_jp")
    assert intent.status == "succeeded"
    txn = german.client.v1.balance_transactions.list(params={"source": intent.id}).data[0]
    assert txn.currency == "eur"
    # exchange_rate is per major unit, as Stripe's: EUR per 1 JPY (JPY has no minor unit).
    rate = Decimal(str(txn.exchange_rate))
    assert 0 < rate < 1
    assert txn.amount == int((12000 * rate * 100).to_integral_value(ROUND_HALF_EVEN))


def test_idempotent_confirm_does_not_charge_twice(service, merchant):
    intent = merchant.client.v1.payment_intents.create(
        params={"amount": 777, "currency": "eur", "payment_method": "pm_card_visa"}
    )
    options = {"idempotency_key": f"confirm-{intent.id}"}
    first = merchant.client.v1.payment_intents.confirm(intent.id, options=options)
    second = merchant.client.v1.payment_intents.confirm(intent.id, options=options)
    assert first.status == second.status == "succeeded"
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert balance_of(service, merchant.account_id, "merchant_pending", "EUR") == 777


def test_other_merchants_cannot_see_or_touch_payments(make_merchant):
    mine, theirs = make_merchant(name="Mine"), make_merchant(name="Theirs")
    intent = pay(mine.client, 100)
    for call in (
        lambda: theirs.client.v1.payment_intents.retrieve(intent.id),
        lambda: theirs.client.v1.payment_intents.capture(intent.id),
        lambda: theirs.client.v1.refunds.create(params={"payment_intent": intent.id}),
    ):
        with pytest.raises(stripe.InvalidRequestError) as hidden:
            call()
        assert hidden.value.http_status == 404
    assert intent.id not in {i.id for i in theirs.client.v1.payment_intents.list().data}


@pytest.mark.parametrize(
    "params, param",
    [
        ({"amount": 0, "currency": "eur"}, "amount"),
        ({"amount": 10**15, "currency": "eur"}, "amount"),
        ({"amount": 100, "currency": "xyz"}, "currency"),
        ({"amount": 100, "currency": "eur", "payment_method": "pm_nope"}, "payment_method"),
        ({"amount": 100, "currency": "eur", "capture_method": "later"}, "capture_method"),
        (
            {"amount": 100, "currency": "eur", "payment_method_types": ["cheque"]},
            "payment_method_types[0]",
        ),
        ({"amount": "1.5", "currency": "eur"}, "amount"),
        ({"amount": 100, "currency": "eur", "payer": {"country": "ZZZ"}}, "payer[country]"),
    ],
)
def test_bad_payment_input_names_the_field(merchant, params, param):
    with pytest.raises(stripe.InvalidRequestError) as bad:
        merchant.client.v1.payment_intents.create(params=params)
    assert bad.value.param == param
    assert bad.value.http_status in (400, 404)

"""Issue 6's story, through the API: a yen payment to a German merchant, to its bank."""

from __future__ import annotations

import time
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pytest
import stripe

from settlement.bankfiles import validate_pain001
from tests.http import http

DAY = 86400


def _api(service, key, method, path, **kwargs):
    response = http.request(
        method, f"{service.base_url}{path}", headers={"Authorization": f"Bearer {key}"}, **kwargs
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def german_merchant(service, platform_key):
    admin = service.stripe(service.admin_key)
    account = admin.v1.accounts.create(
        params={
            "country": "DE",
            "default_currency": "eur",
            "business_profile": {"name": "Kaffeerösterei Müller GmbH"},
            "settings": {
                "payouts": {"schedule": {"delay_days": 2, "interval": "manual"}},
                "reserve": {"percent": 10, "days": 30},
            },
            "external_account": {
                "country": "DE",
                "currency": "eur",
                "account_number": "DE89370400440532013000",
                "account_holder_name": "Kaffeerösterei Müller GmbH",
            },
        }
    )
    bank = account.external_accounts.data[0]
    assert bank.last4 == "3000" and "account_number" not in bank and "vault" not in str(bank)
    finance = platform_key("finance")
    _api(
        service,
        finance,
        "POST",
        "/v1/fee_schedules",
        json={
            "account": account.id,
            "percent_ppm": 29000,
            "fixed": {"eur": 30},
            "cross_border_ppm": 10000,
        },
    )
    from api.keys import issue_key

    with service.db.transaction() as session:
        key = issue_key(session, "merchant", account.id).secret
    return account.id, key, finance


def test_yen_payment_to_a_german_merchant_reaches_its_bank(service, german_merchant):
    account_id, key, finance = german_merchant
    merchant = service.stripe(key)
    intent = merchant.v1.payment_intents.create(
        params={
            "amount": 12000,
            "currency": "jpy",
            "payment_method": "pm_card_jp",
            "confirm": True,
            "payer": {"name": "Hana Sato", "country": "JP"},
        }
    )
    assert intent.status == "succeeded"

    # The BalanceTransaction: gross, fee, net and the rate, exactly.
    txn = merchant.v1.balance_transactions.list(params={"source": intent.id}).data[0]
    rate = Decimal(str(txn.exchange_rate))
    converted = int((Decimal(12000) * rate * 100).to_integral_value(ROUND_HALF_EVEN))

    def share(ppm: int) -> int:
        return int((Decimal(converted) * ppm / 1_000_000).to_integral_value(ROUND_HALF_UP))

    fee = share(29000) + 30 + share(10000)
    assert (txn.amount, txn.fee, txn.net, txn.currency) == (converted, fee, converted - fee, "eur")
    assert sum(d.amount for d in txn.fee_details) == fee
    assert txn.status == "pending"

    # T+2 settlement: available minus the 10% rolling reserve.
    run = _api(
        service,
        finance,
        "POST",
        "/v1/settlement_runs",
        json={"account": account_id, "as_of": int(time.time()) + 3 * DAY},
    )
    net = converted - fee
    reserve = net * 10 // 100
    assert run["status"] == "succeeded", run
    assert (run["net"], run["reserved"]) == (net, reserve)
    again = _api(
        service,
        finance,
        "POST",
        "/v1/settlement_runs",
        json={"account": account_id, "as_of": run["cut_off"]},
    )
    assert again["id"] == run["id"]  # same cut-off: nothing moves twice
    balance = merchant.v1.balance.retrieve()
    assert [(b.amount, b.currency) for b in balance.available] == [(net - reserve, "eur")]
    report = http.get(
        f"{service.base_url}/v1/settlement_runs/{run['id']}/report",
        params={"format": "csv"},
        headers={"Authorization": f"Bearer {finance}"},
    )
    assert intent.id in report.text

    # The payout: reserved, sent in a pain.001 file that validates, then paid.
    payout = merchant.v1.payouts.create(params={"amount": net - reserve, "currency": "eur"})
    assert payout.status == "in_transit"
    xml = http.get(
        f"{service.base_url}/v1/payouts/{payout.id}/file",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert xml.status_code == 200
    validate_pain001(xml.content)
    assert b"DE89370400440532013000" in xml.content
    paid = _api(
        service,
        finance,
        "POST",
        f"/v1/test_helpers/payouts/{payout.id}/answer",
        json={"result": "paid"},
    )
    assert paid["status"] == "paid"
    balance = merchant.v1.balance.retrieve()
    assert [b.amount for b in balance.available] == [0]
    assert [b.amount for b in balance.reserved] == [reserve]


def test_a_failed_payout_returns_the_money(service, german_merchant):
    account_id, key, finance = german_merchant
    merchant = service.stripe(key)
    merchant.v1.payment_intents.create(
        params={"amount": 5000, "currency": "eur", "payment_method": "pm_card_de", "confirm": True}
    )
    _api(
        service,
        finance,
        "POST",
        "/v1/settlement_runs",
        json={"account": account_id, "as_of": int(time.time()) + 3 * DAY},
    )
    available = merchant.v1.balance.retrieve().available[0].amount
    payout = merchant.v1.payouts.create(params={"amount": available})
    failed = _api(
        service,
        finance,
        "POST",
        f"/v1/test_helpers/payouts/{payout.id}/answer",
        json={"result": "failed", "failure_code": "account_closed"},
    )
    assert failed["status"] == "failed" and failed["failure_code"] == "account_closed"
    assert merchant.v1.balance.retrieve().available[0].amount == available
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        merchant.v1.payouts.create(params={"amount": available + 1})
    assert too_much.value.param == "amount"

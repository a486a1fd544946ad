"""Finance's view of the ledger over HTTP."""

from __future__ import annotations

from tests.http import http


def test_finance_reads_and_verifies_the_ledger(service, merchant, platform_key):
    intent = merchant.client.v1.payment_intents.create(
        params={
            "amount": 1500,
            "currency": "eur",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    finance = {"Authorization": f"Bearer {platform_key('finance')}"}
    accounts = http.get(
        f"{service.base_url}/v1/ledger/accounts",
        params={"owner": merchant.account_id},
        headers=finance,
    ).json()
    pending = [a for a in accounts["data"] if a["purpose"] == "merchant_pending"]
    assert pending and pending[0]["credits_posted"] == 1500
    transfers = http.get(
        f"{service.base_url}/v1/ledger/transfers", params={"reference": intent.id}, headers=finance
    ).json()
    assert transfers["object"] == "list"
    assert all(t["reference"] == intent.id for t in transfers["data"])
    to_merchant = sum(
        t["amount"] for t in transfers["data"] if t["credit_account"] == pending[0]["id"]
    )
    assert to_merchant == 1500
    check = http.get(f"{service.base_url}/v1/ledger/verify", headers=finance).json()
    assert check["ok"] is True and check["problems"] == []
    denied = http.get(
        f"{service.base_url}/v1/ledger/verify", headers={"Authorization": f"Bearer {merchant.key}"}
    )
    assert denied.status_code == 403

"""Reconciliation through the API: a bank statement proves a payout left and a payer's
transfer arrived; what nothing explains becomes a break finance resolves."""

from __future__ import annotations

import datetime as dt
import time

from settlement.bankfiles import end_to_end_id
from tests.http import http
from tests.reconciliation.statement_files import Entry, camt053

DAY = 86400


def _call(service, key, method, path, **kwargs):
    response = http.request(
        method,
        f"{service.base_url}{path}",
        timeout=60,
        headers={"Authorization": f"Bearer {key}"},
        **kwargs,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _paid_payout(service, finance, merchant_key, account_id):
    merchant = service.stripe(merchant_key)
    merchant.v1.payment_intents.create(
        params={"amount": 5000, "currency": "eur", "payment_method": "pm_card_de", "confirm": True}
    )
    _call(
        service,
        finance,
        "POST",
        "/v1/settlement_runs",
        json={"account": account_id, "as_of": int(time.time()) + 3 * DAY},
    )
    available = merchant.v1.balance.retrieve().available[0].amount
    payout = merchant.v1.payouts.create(params={"amount": available})
    return payout


def test_a_statement_confirms_a_payout_completes_a_transfer_and_breaks_get_resolved(
    service, platform_key
):
    finance = platform_key("finance")
    admin = service.stripe(service.admin_key)
    account = admin.v1.accounts.create(
        params={
            "country": "DE",
            "default_currency": "eur",
            "business_profile": {"name": "Recon GmbH"},
            "settings": {"payouts": {"schedule": {"delay_days": 0, "interval": "manual"}}},
            "external_account": {
                "country": "DE",
                "currency": "eur",
                "account_number": "DE89370400440532013000",
                "account_holder_name": "Recon GmbH",
            },
        }
    )
    from api.keys import issue_key

    with service.db.transaction() as session:
        key = issue_key(session, "merchant", account.id).secret
    merchant = service.stripe(key)
    payout = _paid_payout(service, finance, key, account.id)
    assert payout.status == "in_transit"

    waiting = merchant.v1.payment_intents.create(
        params={
            "amount": 15000,
            "currency": "eur",
            "payment_method_types": ["bank_transfer"],
            "payment_method_data": {"type": "bank_transfer"},
            "confirm": True,
        }
    )
    reference = waiting.next_action.display_bank_transfer_instructions.reference

    today = dt.datetime.now(dt.UTC).date()
    statement = camt053(
        [
            Entry(-payout.amount, today, e2e=end_to_end_id(payout.id), remittance=payout.id),
            Entry(15000, today, remittance=f"Invoice 77 {reference}", name="Hana Sato"),
            Entry(999, today, remittance="unexplained deposit", name="Someone"),
        ],
        opening=0,
        day=today,
        statement_id=f"STMT-{account.id}",
    )
    upload = http.post(
        f"{service.base_url}/v1/reconciliation/statements",
        timeout=60,
        headers={"Authorization": f"Bearer {finance}"},
        files={"file": ("statement.xml", statement, "application/xml")},
        data={"source": f"bank-{account.id}"},
    )
    assert upload.status_code == 200, upload.text
    body = upload.json()
    assert body["format"].startswith("camt.053")
    assert body["counts"]["matched"] == 2, body["counts"]
    assert body["counts"]["unmatched"] == 1

    assert merchant.v1.payouts.retrieve(payout.id).status == "paid"
    assert merchant.v1.payment_intents.retrieve(waiting.id).status == "succeeded"

    again = http.post(
        f"{service.base_url}/v1/reconciliation/statements",
        timeout=60,
        headers={"Authorization": f"Bearer {finance}"},
        files={"file": ("statement.xml", statement, "application/xml")},
        data={"source": f"bank-{account.id}"},
    ).json()
    assert again["id"] == body["id"] and again["created_now"] is False
    assert again["counts"] == body["counts"]

    breaks = _call(
        service,
        finance,
        "GET",
        "/v1/reconciliation/breaks",
        params={"status": "open", "currency": "eur", "limit": 100},
    )["data"]
    mine = [b for b in breaks if b["amount"] == 999]
    assert len(mine) == 1
    resolved = _call(
        service,
        finance,
        "POST",
        f"/v1/reconciliation/breaks/{mine[0]['id']}/resolve",
        json={
            "action": "write_off",
            "account": "reconciliation_suspense",
            "note": "Unknown deposit, held in suspense pending enquiry",
        },
    )
    assert resolved["status"] == "resolved"
    check = _call(service, finance, "GET", "/v1/ledger/verify")
    assert check["ok"] is True


def test_a_tampered_statement_is_refused_whole(service, platform_key):
    finance = platform_key("finance")
    today = dt.datetime.now(dt.UTC).date()
    tampered = camt053(
        [Entry(100, today)], opening=0, closing=200, day=today, statement_id="STMT-TAMPERED"
    )
    response = http.post(
        f"{service.base_url}/v1/reconciliation/statements",
        timeout=60,
        headers={"Authorization": f"Bearer {finance}"},
        files={"file": ("s.xml", tampered, "application/xml")},
        data={"source": "bank-tamper"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "file" and "closing" in error["message"].lower()

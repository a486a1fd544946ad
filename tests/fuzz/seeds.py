"""Real objects for the fuzzer to aim at, made through the public API.

Random path parameters only ever reach "No such object"; swapping in the id of a real
intent (in each state), refund, method, endpoint, event... sends generated bodies deep
into the handlers. The seeded merchant is the fuzzer's own, so nothing another test
owns is touched; a second merchant's key checks that no object crosses accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from api.keys import issue_key

TEST_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "314"}


@dataclass
class Seeds:
    account_id: str
    keys: dict[str, str]
    """role name -> secret key (``merchant``, ``other_merchant``, ``finance``, ...)."""
    ids: dict[str, list[str]] = field(default_factory=dict)
    """path/body parameter name -> real ids owned by ``account_id``."""


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def seed(service: Any, sink_url: str) -> Seeds:
    admin = httpx.Client(
        base_url=service.base_url, headers={"Authorization": f"Bearer {service.admin_key}"}
    )
    accounts = [
        _ok(
            admin.post(
                "/v1/accounts",
                json={
                    "country": "DE",
                    "default_currency": "eur",
                    "business_profile": {"name": name},
                },
            )
        )["id"]
        for name in ("Fuzz GmbH", "Other Fuzz GmbH")
    ]
    with service.db.transaction() as session:
        keys = {
            "merchant": issue_key(session, "merchant", accounts[0], "fuzz").secret,
            "other_merchant": issue_key(session, "merchant", accounts[1], "fuzz").secret,
            "finance": issue_key(session, "finance", None, "fuzz").secret,
            "compliance": issue_key(session, "compliance", None, "fuzz").secret,
            "admin": issue_key(session, "admin", None, "fuzz").secret,
        }
    merchant = httpx.Client(
        base_url=service.base_url, headers={"Authorization": f"Bearer {keys['merchant']}"}
    )
    method = _ok(merchant.post("/v1/payment_methods", json={"type": "card", "card": TEST_CARD}))
    base = {"amount": 2000, "currency": "eur"}
    created = _ok(merchant.post("/v1/payment_intents", json=base))
    authorised = _ok(
        merchant.post(
            "/v1/payment_intents",
            json={
                **base,
                "payment_method": "pm_card_visa",
                "confirm": True,
                "capture_method": "manual",
            },
        )
    )
    succeeded = _ok(
        merchant.post(
            "/v1/payment_intents",
            json={**base, "payment_method": method["id"], "confirm": True},
        )
    )
    challenged = _ok(
        merchant.post(
            "/v1/payment_intents",
            json={**base, "payment_method": "pm_card_authenticationRequired", "confirm": True},
        )
    )
    canceled = _ok(merchant.post("/v1/payment_intents", json=base))
    _ok(merchant.post(f"/v1/payment_intents/{canceled['id']}/cancel", json={}))
    refund = _ok(
        merchant.post("/v1/refunds", json={"payment_intent": succeeded["id"], "amount": 1})
    )
    endpoint = _ok(
        merchant.post("/v1/webhook_endpoints", json={"url": sink_url, "enabled_events": ["*"]})
    )
    quote = _ok(merchant.post("/v1/fx_quotes", json={"from_currency": "usd", "to_currency": "eur"}))
    events = [e["id"] for e in _ok(merchant.get("/v1/events", params={"limit": 20}))["data"]]
    txns = [t["id"] for t in _ok(merchant.get("/v1/balance_transactions"))["data"]]
    redirect = (challenged.get("next_action") or {}).get("redirect_to_url", {}).get("url", "")
    references = [urlsplit(redirect).path.rsplit("/", 1)[-1]] if redirect else []
    intents = [created, authorised, succeeded, challenged, canceled]
    ids = {
        "account_id": [accounts[0]],
        "intent_id": [i["id"] for i in intents],
        "payment_intent": [i["id"] for i in intents],
        "method_id": [method["id"]],
        "payment_method": [method["id"], "pm_card_visa", "pm_card_chargeDeclined"],
        "charge": [c for c in (succeeded.get("latest_charge"),) if c],
        "refund_id": [refund["id"]],
        "endpoint_id": [endpoint["id"]],
        "event_id": events,
        "txn_id": txns,
        "quote_id": [quote["id"]],
        "fx_quote": [quote["id"]],
        "reference": references,
        "provider": ["alipay", "wechat_pay", "paypal"],
    }
    admin.close()
    merchant.close()
    return Seeds(accounts[0], keys, {name: values for name, values in ids.items() if values})

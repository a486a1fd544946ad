"""FX rates and quotes through the API, and a payment settled at a locked rate."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import stripe
from sqlalchemy import update

from core.database import utcnow
from settlement.fx.quotes import FxQuoteRecord
from tests.http import http


def _get(service, key, path, **params):
    return http.get(
        f"{service.base_url}{path}", params=params, headers={"Authorization": f"Bearer {key}"}
    )


def test_rates_are_exact_decimals(service, merchant):
    response = _get(service, merchant.key, "/v1/fx_rates", base="eur", date="2024-06-14")
    assert response.status_code == 200
    body = json.loads(response.text, parse_float=Decimal)
    assert body["rates"]["jpy"]["rate"] == Decimal("167.8")  # the ECB fixing of that Friday
    assert body["rates"]["jpy"]["source"].lower().startswith("ecb")
    assert body["rates"]["jpy"]["as_of"] == "2024-06-14"
    missing = _get(service, merchant.key, "/v1/fx_rates", base="xyz")
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "base"


def _post(service, key, path, data):
    return http.post(
        f"{service.base_url}{path}", data=data, headers={"Authorization": f"Bearer {key}"}
    )


def test_a_locked_quote_sets_the_settlement_rate(service, make_merchant):
    merchant = make_merchant(country="DE", currency="eur")
    quote = _post(
        service,
        merchant.key,
        "/v1/fx_quotes",
        {"from_currency": "jpy", "to_currency": "eur", "lock_duration": "hour"},
    ).json()
    assert quote["object"] == "fx_quote" and quote["used"] is False
    intent = merchant.client.v1.payment_intents.create(
        params={
            "amount": 12000,
            "currency": "jpy",
            "payment_method": "pm_card_jp",
            "confirm": True,
            "fx_quote": quote["id"],
        }
    )
    assert intent.status == "succeeded"
    txn = merchant.client.v1.balance_transactions.list(params={"source": intent.id}).data[0]
    assert Decimal(str(txn.exchange_rate)) == Decimal(str(quote["rate"]))
    used = _get(service, merchant.key, f"/v1/fx_quotes/{quote['id']}").json()
    assert used["used"] is True
    with pytest.raises(stripe.InvalidRequestError) as again:
        merchant.client.v1.payment_intents.create(
            params={
                "amount": 100,
                "currency": "jpy",
                "payment_method": "pm_card_jp",
                "confirm": True,
                "fx_quote": quote["id"],
            }
        )
    assert again.value.param == "fx_quote" and again.value.code == "fx_quote_used"


def test_an_expired_quote_is_refused_before_money_moves(service, make_merchant):
    merchant = make_merchant(country="DE", currency="eur")
    quote = _post(
        service, merchant.key, "/v1/fx_quotes", {"from_currency": "usd", "to_currency": "eur"}
    ).json()
    with service.db.transaction() as session:
        session.execute(
            update(FxQuoteRecord).where(FxQuoteRecord.id == quote["id"]).values(expires_at=utcnow())
        )
    with pytest.raises(stripe.InvalidRequestError) as expired:
        merchant.client.v1.payment_intents.create(
            params={
                "amount": 1000,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
                "fx_quote": quote["id"],
            }
        )
    assert expired.value.code == "fx_quote_expired"
    # Nothing was created: the whole request rolled back.
    assert merchant.client.v1.payment_intents.list().data == []

"""Merchant pages: balance, payment search and timeline, capture, cancel and refund from the
page, receipts in any language, payouts, webhook endpoints and deliveries, API keys."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from api.keys import ApiKey, authenticate
from compliance import audit
from core import tasks
from payments.intents import PaymentIntent
from payments.refunds import Refund
from payments.webhooks import DeliveryAttempt, WebhookEndpoint
from tests.console.conftest import Console, Merchant
from tests.console.console_world import CLEAN_PAYER, payment, settle_and_pay_out
from tests.webhook_receiver import Receiver


@pytest.fixture
def shop(console: Console, make_merchant: Any) -> tuple[Merchant, Any]:
    merchant = make_merchant()

    def post(path: str, key: str, form: dict[str, Any]) -> dict[str, Any]:
        return console.api("POST", path, key, data=form)

    console.sign_in(merchant.key)
    return merchant, post


def _intent(console: Console, intent_id: str) -> PaymentIntent:
    with console.db.transaction(write=False) as session:
        found = session.get(PaymentIntent, intent_id)
        assert found is not None
        return found


def _refunds(console: Console, intent_id: str) -> list[Refund]:
    with console.db.transaction(write=False) as session:
        return list(session.scalars(select(Refund).where(Refund.intent_id == intent_id)))


def test_balance_shows_pending_available_and_reserve(console, shop):
    merchant, post = shop
    payment(post, merchant.key, amount=10_000)
    page = console.client.get("/console/merchant")
    assert page.status_code == 200
    cards = dict(re.findall(r"<h3>(\w+)</h3>\s*<p class=\"amount\">([^<]+)</p>", page.text))
    assert set(cards) == {"Available", "Pending", "Reserve"}
    assert cards["Pending"].startswith("€") and cards["Pending"] != "€0.00"
    settle_and_pay_out(console.db, merchant.account_id, captured=50_00, payout=10_00)
    again = console.client.get("/console/merchant").text
    available = dict(re.findall(r"<h3>(\w+)</h3>\s*<p class=\"amount\">([^<]+)</p>", again))
    assert available["Available"] != "—"


def test_payment_search_and_filters(console, shop):
    merchant, post = shop
    small = payment(post, merchant.key, amount=1_500, description="Coffee beans", payer=CLEAN_PAYER)
    large = payment(post, merchant.key, amount=90_000, description="Espresso machine")
    yen = payment(post, merchant.key, amount=12_000, currency="jpy", capture_method="manual")
    link = "/console/merchant/payments/{}".format

    def shown(query: str) -> set[str]:
        page = console.client.get(f"/console/merchant/payments?{query}")
        assert page.status_code == 200
        return {p["id"] for p in (small, large, yen) if link(p["id"]) in page.text}

    assert shown("") == {small["id"], large["id"], yen["id"]}
    assert shown("q=espresso") == {large["id"]}
    assert shown("q=hana") == {small["id"]}
    assert shown(f"q={yen['id']}") == {yen["id"]}
    assert shown("status=requires_capture") == {yen["id"]}
    assert shown("currency=eur&amount_min=100.00") == {large["id"]}
    assert shown("currency=eur&amount_max=15") == {small["id"]}
    assert shown("currency=jpy&amount_min=12000") == {yen["id"]}
    assert shown("created_from=2000-01-01&created_to=2000-12-31") == set()
    assert shown("q=%25") == set(), "a % is searched for, not a wildcard"
    fragment = console.client.get(
        "/console/merchant/payments?q=coffee",
        headers={"HX-Request": "true", "HX-Target": "payment-results"},
    )
    assert "<html" not in fragment.text and link(small["id"]) in fragment.text


def test_search_pages_through_older_payments(console, shop):
    merchant, post = shop
    made = [payment(post, merchant.key, amount=100 + n)["id"] for n in range(27)]
    first = console.client.get("/console/merchant/payments").text
    older = re.search(r'href="(/console/merchant/payments\?[^"]*after=[^"]+)" rel="next"', first)
    assert older is not None
    second = console.client.get(older.group(1).replace("&amp;", "&")).text
    on_first = {p for p in made if f'/console/merchant/payments/{p}"' in first}
    on_second = {p for p in made if f'/console/merchant/payments/{p}"' in second}
    assert len(on_first) == 25 and on_first | on_second == set(made) and not on_first & on_second


def test_timeline_and_refunds_from_the_payment_page(console, shop):
    merchant, post = shop
    paid = payment(post, merchant.key, amount=12_345, payer=CLEAN_PAYER, description="Order 7")
    url = f"/console/merchant/payments/{paid['id']}"
    page = console.client.get(url).text
    for event in ("payment_intent.created", "charge.succeeded", "payment_intent.succeeded"):
        assert event in page
    assert "€123.45" in page

    too_much = console.post(f"{url}/refund", {"amount": "200.00"}, token_from=url)
    assert too_much.status_code == 400
    assert "The amount is more than can be refunded." in too_much.text
    bad_digits = console.post(f"{url}/refund", {"amount": "1.234"}, token_from=url)
    assert bad_digits.status_code == 422 and 'aria-invalid="true"' in bad_digits.text
    assert _refunds(console, paid["id"]) == []

    partial = console.post(
        f"{url}/refund", {"amount": "23.45", "reason": "requested_by_customer"}, token_from=url
    )
    assert partial.status_code == 303
    rest = console.post(f"{url}/refund", {}, token_from=url)
    assert rest.status_code == 303
    refunds = _refunds(console, paid["id"])
    assert sorted(r.amount for r in refunds) == [23_45, 100_00]
    assert {r.status for r in refunds} == {"succeeded"}
    final = console.client.get(url).text
    assert "refund.created" in final and "No refund." not in final
    assert 'id="refund-form"' not in final, "nothing left to refund"
    receipt = re.search(r'href="(/console/merchant/refunds/re_\w+/receipt[^"]+)"', final)
    assert receipt is not None
    assert console.client.get(receipt.group(1).replace("&amp;", "&")).status_code == 200


def test_capture_and_cancel_from_the_payment_page(console, shop):
    merchant, post = shop
    held = payment(post, merchant.key, amount=80_00, capture_method="manual")
    url = f"/console/merchant/payments/{held['id']}"
    captured = console.post(f"{url}/capture", {"amount": "50.00"}, token_from=url)
    assert captured.status_code == 303
    intent = _intent(console, held["id"])
    assert (intent.status, intent.amount_received) == ("succeeded", 50_00)
    other = payment(post, merchant.key, amount=10_00, capture_method="manual")
    other_url = f"/console/merchant/payments/{other['id']}"
    canceled = console.post(f"{other_url}/cancel", {}, token_from=other_url)
    assert canceled.status_code == 303
    assert _intent(console, other["id"]).status == "canceled"
    again = console.post(f"{other_url}/capture", {}, token_from=other_url)
    assert again.status_code == 400 and "Nothing was changed." in again.text


@pytest.mark.parametrize(
    ("locale", "fmt", "media", "marker"),
    [
        ("en", "html", "text/html", "€123.45"),
        ("zh_Hans", "html", "text/html", "€123.45"),
        pytest.param("ja", "pdf", "application/pdf", "%PDF", marks=pytest.mark.fonts),
        ("ar", "txt", "text/plain", "123.45"),
    ],
)
def test_receipts_in_any_language(console, shop, locale, fmt, media, marker):
    merchant, post = shop
    paid = payment(post, merchant.key, amount=12_345)
    response = console.client.get(
        f"/console/merchant/payments/{paid['id']}/receipt", params={"locale": locale, "format": fmt}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    assert response.headers["content-language"] == locale.replace("_", "-")
    body = response.content.decode("latin-1") if fmt == "pdf" else response.text
    assert marker in body or marker.replace("€", "\u20ac") in body
    page = console.client.get(f"/console/merchant/payments/{paid['id']}").text
    assert '<option value="ja"' in page and '<option value="ar"' in page
    assert (
        console.client.get(
            f"/console/merchant/payments/{paid['id']}/receipt?locale=xx&format=pdf"
        ).status_code
        == 404
    )


def test_payouts_are_listed_for_their_merchant(console, shop):
    merchant, _ = shop
    settled = settle_and_pay_out(console.db, merchant.account_id, captured=60_00, payout=25_00)
    listing = console.client.get("/console/merchant/payouts").text
    assert f"/console/merchant/payouts/{settled.payout_id}" in listing and "€25.00" in listing
    page = console.client.get(f"/console/merchant/payouts/{settled.payout_id}")
    assert page.status_code == 200 and "in transit" in page.text


def test_webhook_endpoints_their_secret_once_and_delivery_attempts(console, shop):
    merchant, post = shop
    receiver = Receiver(fail_first=1).start()
    try:
        created = console.post(
            "/console/merchant/webhooks",
            {"url": receiver.url, "enabled_events": "payment_intent.succeeded"},
        )
        assert created.status_code == 200
        secret = re.search(r'<code class="copy">(whsec_\w+)</code>', created.text)
        assert secret is not None
        receiver.secret = secret.group(1)
        listing = console.client.get("/console/merchant/webhooks").text
        assert secret.group(1) not in listing
        endpoint_id = re.search(r"/console/merchant/webhooks/(we_\w+)", listing).group(1)  # type: ignore[union-attr]
        payment(post, merchant.key, amount=2_000)
        tasks.run_pending(console.db)
        with console.db.transaction(write=False) as session:
            attempts = list(session.scalars(select(DeliveryAttempt)))
        assert [a.status_code for a in attempts] == [500]
        page = console.client.get(f"/console/merchant/webhooks/{endpoint_id}").text
        assert "HTTP 500" in page and "evt_" in page
        bad = console.post("/console/merchant/webhooks", {"url": "ftp://nope"})
        assert bad.status_code == 400 and "url must be an absolute http(s) URL." in bad.text
        deleted = console.post(
            f"/console/merchant/webhooks/{endpoint_id}/delete",
            {},
            token_from="/console/merchant/webhooks",
        )
        assert deleted.status_code == 303
        with console.db.transaction(write=False) as session:
            assert session.get(WebhookEndpoint, endpoint_id).deleted is True  # type: ignore[union-attr]
        assert console.client.get(f"/console/merchant/webhooks/{endpoint_id}").status_code == 404
    finally:
        receiver.stop()


def test_api_keys_are_created_once_and_revoked(console, shop):
    merchant, _ = shop
    created = console.post("/console/merchant/api-keys", {"description": "checkout server"})
    assert created.status_code == 200
    secret = re.search(r'id="new-secret">(sk_test_\w+)<', created.text).group(1)  # type: ignore[union-attr]
    assert secret not in console.client.get("/console/merchant/api-keys").text
    with console.db.transaction(write=False) as session:
        key = authenticate(session, secret)
        assert key is not None and (key.role, key.account_id) == ("merchant", merchant.account_id)
        key_id = key.id
    assert console.api("GET", "/v1/balance", secret)["object"] == "balance"
    revoked = console.post(
        f"/console/merchant/api-keys/{key_id}/revoke", {}, token_from="/console/merchant/api-keys"
    )
    assert revoked.status_code == 303
    with console.db.transaction(write=False) as session:
        assert session.get(ApiKey, key_id).revoked_at is not None  # type: ignore[union-attr]
        created_entry = audit.list_entries(session, action="api_key.created", ref=key_id)
        revoked_entry = audit.list_entries(session, action="api_key.revoked", ref=key_id)
        assert created_entry and revoked_entry
        assert created_entry[0].payload["account"] == merchant.account_id
    refused = console.client.get("/v1/balance", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401


def test_revoking_the_key_of_this_session_signs_out(console, shop):
    merchant, _ = shop
    with console.db.transaction(write=False) as session:
        key = authenticate(session, merchant.key)
        assert key is not None
    response = console.post(
        f"/console/merchant/api-keys/{key.id}/revoke", {}, token_from="/console/merchant/api-keys"
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?reason=revoked"
    assert console.client.get("/console/merchant", follow_redirects=False).status_code == 303

"""Who may open what: every console route, every role, and one merchant against another.

The policy is written here independently of the code: a section's roles, and the few
routes anyone may open. Every other console route must be admitted by the session check
(fail closed), refuse roles outside its section with 403, and a merchant must get 404
for every object of another account, on pages, downloads and actions alike.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from api.console import signin
from api.keys import ApiKey
from payments.intents import PaymentIntent
from payments.refunds import Refund
from payments.webhooks import WebhookEndpoint
from tests.console.console_world import CLEAN_PAYER, payment, settle_and_pay_out

M, F, C, A = "merchant", "finance", "compliance", "admin"
SECTIONS = {"compliance": {C, A}, "finance": {F, A}, "merchant": {M}}
ANYONE = {
    ("GET", "/console/login"),
    ("POST", "/console/login"),
    ("GET", "/console/language"),
    ("GET", "/console/{rest:path}"),
    ("GET", "/console/static/{file_path:path}"),
    ("HEAD", "/console/static/{file_path:path}"),
}


def console_routes(app: Any) -> list[tuple[str, str, Any]]:
    found = []
    for route in app.routes:
        if not route.path.startswith("/console"):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods:
                if method != "OPTIONS":
                    found.append((method, route.path, handler))
    return found


def test_every_console_route_is_public_by_design_or_behind_the_session_check(console):
    routes = console_routes(console.client.app)
    assert {(m, p) for m, p, _ in routes} >= ANYONE
    for method, path, handler in routes:
        if (method, path) in ANYONE:
            continue
        assert handler.resolve_before_request() is signin.admit, (method, path)
        section = handler.opt.get("section")
        prefix = path.split("/")[2] if path.count("/") >= 2 else ""
        if prefix in SECTIONS:
            assert section == prefix, (method, path, section)
        else:
            assert (method, path) in {("GET", "/console"), ("POST", "/console/logout")}
        assert handler.opt.get("public") and handler.opt.get("console")
        assert not handler.resolve_include_in_schema(), "console pages stay out of OpenAPI"


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "xx_doesnotexist", path.replace("{version:int}", "999"))


def test_role_matrix_over_every_section_route(console, make_merchant, platform_key):
    merchant = make_merchant()
    keys = {M: merchant.key, F: platform_key(F), C: platform_key(C), A: platform_key(A)}
    routes = [
        (method, path)
        for method, path, _ in console_routes(console.client.app)
        if path.split("/")[2:3] and path.split("/")[2] in SECTIONS
    ]
    assert len(routes) > 30
    for role, key in keys.items():
        console.client.cookies.clear()
        assert console.sign_in(key).status_code == 303
        token = console.csrf(
            {M: "/console/merchant", F: "/console/finance", C: "/console/compliance"}.get(
                role, "/console/finance"
            )
        )
        for method, path in routes:
            section = path.split("/")[2]
            url = _concrete(path)
            if method == "GET":
                response = console.client.get(url, follow_redirects=False)
            else:
                response = console.client.post(
                    url, data={"csrf_token": token}, follow_redirects=False
                )
            if role in SECTIONS[section]:
                assert response.status_code not in (401, 403), (role, method, path)
                assert response.status_code < 500, (role, method, path, response.text[-500:])
            else:
                assert response.status_code == 403, (role, method, path, response.status_code)
                assert "No access" in response.text


def test_a_merchant_cannot_reach_another_accounts_objects(console, make_merchant):
    owner = make_merchant("Owner GmbH")
    other = make_merchant("Other GmbH")

    def post(path: str, key: str, form: dict[str, Any]) -> dict[str, Any]:
        return console.api("POST", path, key, data=form)

    paid = payment(post, owner.key, amount=10_000, payer=CLEAN_PAYER, description="owner order")
    held = payment(post, owner.key, amount=4_000, capture_method="manual")
    refund = post("/v1/refunds", owner.key, {"payment_intent": paid["id"], "amount": 1_000})
    endpoint = post(
        "/v1/webhook_endpoints",
        owner.key,
        {"url": "https://example.com/h", "enabled_events[]": "*"},
    )
    settled = settle_and_pay_out(console.db, owner.account_id, captured=20_000, payout=5_000)
    with console.db.transaction(write=False) as session:
        owner_key_id = session.scalar(
            select(ApiKey.id).where(ApiKey.account_id == owner.account_id)
        )

    console.sign_in(other.key)
    token = console.csrf("/console/merchant")
    pages = [
        f"/console/merchant/payments/{paid['id']}",
        f"/console/merchant/payments/{paid['id']}/receipt?locale=en&format=html",
        f"/console/merchant/refunds/{refund['id']}/receipt?locale=en&format=txt",
        f"/console/merchant/payouts/{settled.payout_id}",
        f"/console/merchant/webhooks/{endpoint['id']}",
    ]
    for url in pages:
        response = console.client.get(url)
        assert response.status_code == 404, url
        assert "owner order" not in response.text and "Owner GmbH" not in response.text
    actions = [
        (f"/console/merchant/payments/{paid['id']}/refund", {"amount": "10.00"}),
        (f"/console/merchant/payments/{held['id']}/capture", {}),
        (f"/console/merchant/payments/{held['id']}/cancel", {}),
        (f"/console/merchant/webhooks/{endpoint['id']}/delete", {}),
        (f"/console/merchant/api-keys/{owner_key_id}/revoke", {}),
    ]
    for url, form in actions:
        response = console.client.post(
            url, data={**form, "csrf_token": token}, follow_redirects=False
        )
        assert response.status_code == 404, url
    with console.db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Refund)) == 1
        assert session.get(PaymentIntent, held["id"]).status == "requires_capture"
        assert session.get(WebhookEndpoint, endpoint["id"]).deleted is False
        assert session.get(ApiKey, owner_key_id).revoked_at is None
    # Searching by the other account's id, description or payer finds nothing.
    for query in (paid["id"], "owner order", "Hana Sato"):
        found = console.client.get("/console/merchant/payments", params={"q": query})
        assert f"/console/merchant/payments/{paid['id']}" not in found.text
        assert "No payment matches." in found.text
    own = console.client.get("/console/merchant/payouts")
    assert settled.payout_id not in own.text
    keys = console.client.get("/console/merchant/api-keys")
    assert owner_key_id not in keys.text


@pytest.mark.parametrize("role", [M, C])
def test_money_pages_of_finance_are_closed_to_other_roles(
    console, make_merchant, platform_key, role
):
    key = make_merchant().key if role == M else platform_key(role)
    console.sign_in(key)
    for url in ("/console/finance", "/console/finance/reconciliation/breaks"):
        assert console.client.get(url).status_code == 403

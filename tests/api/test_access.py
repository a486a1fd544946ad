"""Every route × every role: the access policy, written here independently of the code.

The table below is the policy. The test fails if the OpenAPI document lists a route the
table does not (a new route must be given a policy here), and checks each role against
each route over HTTP: a role outside the policy gets 403, a role inside it never does.
"""

from __future__ import annotations

import re

import pytest

from tests.http import http

M, F, C, A = "merchant", "finance", "compliance", "admin"
EVERYONE = {M, F, C, A}
PUBLIC = "public"

ACCESS: dict[tuple[str, str], set[str] | str] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/metrics"): {A},
    ("GET", "/v1/account"): {M, A},
    ("GET", "/v1/accounts"): {A},
    ("POST", "/v1/accounts"): {A},
    ("GET", "/v1/accounts/{account_id}"): {M, A},
    ("POST", "/v1/accounts/{account_id}"): {A},
    ("GET", "/v1/events"): {M, F, A},
    ("GET", "/v1/events/{event_id}"): {M, F, A},
    ("GET", "/v1/webhook_endpoints"): {M, A},
    ("POST", "/v1/webhook_endpoints"): {M, A},
    ("GET", "/v1/webhook_endpoints/{endpoint_id}"): {M, A},
    ("POST", "/v1/webhook_endpoints/{endpoint_id}"): {M, A},
    ("DELETE", "/v1/webhook_endpoints/{endpoint_id}"): {M, A},
    ("POST", "/v1/payment_methods"): {M, A},
    ("GET", "/v1/payment_methods/{method_id}"): {M, A},
    ("GET", "/v1/payment_intents"): {M, F, C, A},
    ("POST", "/v1/payment_intents"): {M, A},
    ("GET", "/v1/payment_intents/{intent_id}"): {M, F, C, A},
    ("POST", "/v1/payment_intents/{intent_id}"): {M, A},
    ("POST", "/v1/payment_intents/{intent_id}/confirm"): {M, A},
    ("POST", "/v1/payment_intents/{intent_id}/capture"): {M, A},
    ("POST", "/v1/payment_intents/{intent_id}/cancel"): {M, A},
    ("GET", "/v1/refunds"): {M, F, A},
    ("POST", "/v1/refunds"): {M, A},
    ("GET", "/v1/refunds/{refund_id}"): {M, F, A},
    ("GET", "/v1/balance"): {M, F, A},
    ("GET", "/v1/balance_transactions"): {M, F, A},
    ("GET", "/v1/balance_transactions/{txn_id}"): {M, F, A},
    # Providers sign their webhooks; payers open the sandbox pages from a redirect.
    ("POST", "/v1/webhooks/stripe"): PUBLIC,
    ("POST", "/v1/webhooks/wallets/{provider}"): PUBLIC,
    ("POST", "/v1/webhooks/bank_transfers"): PUBLIC,
    ("GET", "/v1/test_helpers/three_d_secure/{reference}"): PUBLIC,
    ("POST", "/v1/test_helpers/three_d_secure/{reference}"): PUBLIC,
    ("GET", "/v1/test_helpers/wallets/{provider}/{reference}"): PUBLIC,
    ("POST", "/v1/test_helpers/wallets/{provider}/{reference}"): PUBLIC,
    ("POST", "/v1/test_helpers/bank_transfers/credits"): {M, F, A},
    ("GET", "/v1/payment_intents/{intent_id}/receipt"): {M, F, A},
    ("GET", "/v1/refunds/{refund_id}/receipt"): {M, F, A},
    ("GET", "/v1/fx_rates"): {M, F, C, A},
    ("POST", "/v1/fx_quotes"): {M, A},
    ("GET", "/v1/fx_quotes/{quote_id}"): {M, A},
    ("GET", "/v1/ledger/accounts"): {F, A},
    ("GET", "/v1/ledger/transfers"): {F, A},
    ("GET", "/v1/ledger/verify"): {F, A},
    ("POST", "/v1/fee_schedules"): {F, A},
    ("GET", "/v1/fee_schedules/{owner}"): {F, A},
    ("POST", "/v1/payouts"): {M, A},
    ("GET", "/v1/payouts"): {M, F, A},
    ("GET", "/v1/payouts/{payout_id}"): {M, F, A},
    ("POST", "/v1/payouts/{payout_id}/cancel"): {M, A},
    ("GET", "/v1/payouts/{payout_id}/file"): {M, F, A},
    ("POST", "/v1/test_helpers/payouts/{payout_id}/answer"): {F, A},
    ("POST", "/v1/settlement_runs"): {F, A},
    ("GET", "/v1/settlement_runs"): {M, F, A},
    ("GET", "/v1/settlement_runs/{run_id}"): {M, F, A},
    ("GET", "/v1/settlement_runs/{run_id}/report"): {M, F, A},
    ("POST", "/v1/reconciliation/statements"): {F, A},
    ("GET", "/v1/reconciliation/statements/{statement_id}"): {F, A},
    ("GET", "/v1/reconciliation/breaks"): {F, A},
    ("POST", "/v1/reconciliation/breaks/{break_id}/resolve"): {F, A},
    ("GET", "/v1/reconciliation/report"): {F, A},
    # Reviews admit merchants only to answer 404: a merchant never learns a review exists.
    ("GET", "/v1/reviews"): {M, C, A},
    ("GET", "/v1/reviews/{review_id}"): {M, C, A},
    ("POST", "/v1/reviews/{review_id}/approve"): {M, C, A},
    ("POST", "/v1/reviews/{review_id}/reject"): {M, C, A},
    ("POST", "/v1/reviews/{review_id}/escalate"): {M, C, A},
    ("POST", "/v1/reviews/{review_id}/notes"): {M, C, A},
    ("POST", "/v1/reviews/{review_id}/assign"): {M, C, A},
    ("POST", "/v1/reviews/{review_id}/matches/{match}/false_positive"): {M, C, A},
    ("POST", "/v1/reviews/{review_id}/matches/{match}/true_match"): {M, C, A},
    ("POST", "/v1/compliance/screenings"): {C, A},
    ("GET", "/v1/compliance/lists"): {C, A},
    ("POST", "/v1/compliance/lists"): {C, A},
    ("GET", "/v1/compliance/rules"): {C, A},
    ("POST", "/v1/compliance/rules"): {C, A},
    ("GET", "/v1/compliance/rules/{rule_set_id}"): {C, A},
    ("POST", "/v1/compliance/rules/{rule_set_id}/activate"): {C, A},
    ("POST", "/v1/compliance/rules/{rule_set_id}/dry_run"): {C, A},
    ("GET", "/v1/compliance/audit_log"): {C, A},
    ("GET", "/v1/compliance/audit_log/verify"): {C, A},
}


@pytest.fixture(scope="module")
def routes(service) -> set[tuple[str, str]]:
    schema = http.get(f"{service.base_url}/schema/openapi.json").json()
    return {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "delete", "put", "patch")
    }


def test_every_route_has_a_policy(routes):
    missing = sorted(routes - set(ACCESS))
    assert not missing, f"routes without an access policy in this table: {missing}"
    stale = sorted(set(ACCESS) - routes)
    assert not stale, f"policies for routes that no longer exist: {stale}"


@pytest.fixture(scope="module")
def keys(service) -> dict[str, str]:
    """One key per role; the merchant's is bound to a fresh account."""
    from api.keys import issue_key
    from core.accounts import open_account

    with service.db.transaction() as session:
        account = open_account(
            session, business_name="Access GmbH", country="DE", default_currency="EUR"
        )
        return {
            M: issue_key(session, M, account.id).secret,
            F: issue_key(session, F).secret,
            C: issue_key(session, C).secret,
            A: service.admin_key,
        }


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "xx_doesnotexist", path)


@pytest.mark.parametrize("route", sorted(ACCESS), ids=lambda r: f"{r[0]} {r[1]}")
def test_role_matrix(service, keys, route):
    method, path = route
    policy = ACCESS[route]
    url = service.base_url + _concrete(path)
    if policy == PUBLIC:
        assert http.request(method, url).status_code not in (401, 403)
        return
    assert http.request(method, url).status_code == 401
    for role, key in keys.items():
        response = http.request(method, url, headers={"Authorization": f"Bearer {key}"})
        is_json = "json" in response.headers.get("content-type", "")
        body = response.json() if is_json and response.content else {}
        if role in policy:
            assert response.status_code != 403, (role, response.text)
            assert response.status_code < 500, (role, response.text)
        else:
            assert response.status_code == 403, (role, response.status_code, response.text)
            assert body["error"]["type"] == "invalid_request_error"

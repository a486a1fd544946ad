"""The API frame, through the official stripe SDK against a live server."""

from __future__ import annotations

import concurrent.futures
import hashlib

import pytest
import stripe
from sqlalchemy import select, text

from api.keys import ApiKey
from tests.http import http


def test_error_envelope_names_the_param(service, merchant):
    admin = service.stripe(service.admin_key)
    with pytest.raises(stripe.InvalidRequestError) as bad_country:
        admin.v1.accounts.create(params={"country": "XX", "business_profile": {"name": "x"}})
    assert bad_country.value.param == "country"
    assert bad_country.value.http_status == 400

    with pytest.raises(stripe.InvalidRequestError) as unknown:
        admin.v1.accounts.create(params={"country": "DE", "colour": "blue"})  # type: ignore[typeddict-unknown-key]
    assert unknown.value.param == "colour"
    assert unknown.value.code == "parameter_unknown"

    with pytest.raises(stripe.InvalidRequestError) as currency:
        admin.v1.accounts.create(
            params={"country": "DE", "default_currency": "ZZZ", "business_profile": {"name": "x"}}
        )
    assert currency.value.param == "default_currency"

    with pytest.raises(stripe.InvalidRequestError) as nested:
        admin.v1.accounts.create(
            params={"country": "DE", "business_profile": {"name": "x", "mcc": "12a4"}}
        )
    assert nested.value.param == "business_profile[mcc]"


def test_authentication_errors(service):
    with pytest.raises(stripe.AuthenticationError):
        service.stripe("sk_test_not_a_real_key_at_all_0000000000").v1.accounts.list()
    response = http.get(f"{service.base_url}/v1/accounts")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert response.headers["request-id"].startswith("req_")


def test_idempotent_replay_and_mismatch(service):
    admin = service.stripe(service.admin_key)
    params = {"country": "FR", "business_profile": {"name": "Idempotent SARL"}}
    first = admin.v1.accounts.create(params=params, options={"idempotency_key": "acct-create-1"})
    again = admin.v1.accounts.create(params=params, options={"idempotency_key": "acct-create-1"})
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert again.last_response.body == first.last_response.body
    with pytest.raises(stripe.IdempotencyError):
        admin.v1.accounts.create(
            params={**params, "country": "ES"}, options={"idempotency_key": "acct-create-1"}
        )


def test_form_and_json_bodies_are_the_same_request(service):
    headers = {"Authorization": f"Bearer {service.admin_key}", "Idempotency-Key": "same-either-way"}
    form = http.post(
        f"{service.base_url}/v1/accounts",
        data={"country": "DE", "business_profile[name]": "Form GmbH", "metadata[k]": "v"},
        headers=headers,
    )
    as_json = http.post(
        f"{service.base_url}/v1/accounts",
        json={"country": "DE", "business_profile": {"name": "Form GmbH"}, "metadata": {"k": "v"}},
        headers=headers,
    )
    assert form.status_code == 200
    assert as_json.status_code == 200
    assert as_json.json()["id"] == form.json()["id"]
    assert as_json.headers["idempotent-replayed"] == "true"


def test_concurrent_duplicate_posts_make_one_object(service):
    key = "concurrent-acct"
    params = {"country": "NL", "business_profile": {"name": "Race BV"}}

    def create() -> str:
        client = service.stripe(service.admin_key, max_network_retries=0)
        while True:
            try:
                return client.v1.accounts.create(params=params, options={"idempotency_key": key}).id
            except stripe.APIError as exc:  # 409 while the first is in flight: retry
                assert exc.http_status == 409
                assert exc.json_body["error"]["code"] == "idempotency_key_in_use"

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: create(), range(16)))
    assert len(set(ids)) == 1
    with service.db.transaction(write=False) as session:
        count = session.execute(
            text("SELECT count(*) FROM accounts WHERE business_name = 'Race BV'")
        ).scalar()
    assert count == 1


def test_list_pagination(service):
    admin = service.stripe(service.admin_key)
    created = [
        admin.v1.accounts.create(
            params={
                "country": "AT",
                "business_profile": {"name": f"Page {i}"},
                "metadata": {"batch": "pagination"},
            }
        ).id
        for i in range(7)
    ]
    page = admin.v1.accounts.list(params={"limit": 3})
    assert page.object == "list"
    assert len(page.data) == 3
    assert page.has_more is True
    seen = [a.id for a in admin.v1.accounts.list(params={"limit": 2}).auto_paging_iter()]
    assert len(seen) == len(set(seen))
    positions = [seen.index(i) for i in created]
    assert positions == sorted(positions, reverse=True)  # newest first
    newer = admin.v1.accounts.list(params={"limit": 2, "ending_before": created[2]})
    assert [a.id for a in newer.data] == [created[4], created[3]]
    with pytest.raises(stripe.InvalidRequestError) as bad:
        admin.v1.accounts.list(params={"limit": 101})
    assert bad.value.param == "limit"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        admin.v1.accounts.list(params={"starting_after": "acct_doesnotexist"})
    assert missing.value.param == "starting_after"


def test_merchant_isolation(service, make_merchant):
    one = make_merchant(name="One")
    two = make_merchant(name="Two")
    assert one.client.v1.accounts.retrieve(one.account_id).id == one.account_id
    with pytest.raises(stripe.InvalidRequestError) as hidden:
        one.client.v1.accounts.retrieve(two.account_id)
    assert hidden.value.http_status == 404
    with pytest.raises(stripe.PermissionError):
        service.stripe(one.key, stripe_account=two.account_id).v1.accounts.retrieve(one.account_id)
    with pytest.raises(stripe.PermissionError):
        one.client.v1.accounts.list()


def test_platform_key_acts_for_a_merchant(service, merchant):
    admin = service.stripe(service.admin_key, stripe_account=merchant.account_id)
    response = admin.raw_request("get", "/v1/account")
    assert admin.deserialize(response, api_mode="V1").id == merchant.account_id


def test_keys_are_stored_hashed(service, merchant):
    with service.db.transaction(write=False) as session:
        stored = session.scalars(select(ApiKey)).all()
        dump = "\n".join(str(row) for row in session.execute(text("SELECT * FROM api_keys")))
    assert merchant.key not in dump
    assert service.admin_key not in dump
    digest = hashlib.sha256(merchant.key.encode()).hexdigest()
    assert any(k.secret_hash == digest for k in stored)


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"\xff\xfe", "application/x-www-form-urlencoded"),
        (b"country=DE&country[x]=1", "application/x-www-form-urlencoded"),
        (b"metadata[a][b][c][d][e][f][g]=1", "application/x-www-form-urlencoded"),
        (b'{"country": 12}', "application/json"),
        (b"[1,2]", "application/json"),
        (
            b'{"country": "DE", "business_profile": {"name": "' + b"x" * 5000 + b'"}}',
            "application/json",
        ),
        (b'{"country": "DE", "business_profile": "no"}', "application/json"),
        (b'{"country": "DE", "metadata": {"k": 1}}', "application/json"),
        (b"x" * (2 * 1024 * 1024), "application/x-www-form-urlencoded"),
        (b"{}", "text/csv"),
    ],
)
def test_bad_input_is_a_4xx_in_the_envelope(service, body, content_type):
    response = http.post(
        f"{service.base_url}/v1/accounts",
        content=body,
        headers={"Authorization": f"Bearer {service.admin_key}", "Content-Type": content_type},
    )
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"]


@pytest.mark.parametrize(
    "body, content_type, param",
    [
        (
            b"country=DE&business_profile[name]=A%00B",
            "application/x-www-form-urlencoded",
            "business_profile[name]",
        ),
        (
            b'{"country": "DE", "metadata": {"k\\u0000": "v"}}',
            "application/json",
            "metadata[k\x00]",
        ),
    ],
)
def test_nul_characters_are_refused_by_name(service, body, content_type, param):
    """PostgreSQL cannot store NUL in text: it is refused up front, never a 500."""
    auth = {"Authorization": f"Bearer {service.admin_key}"}
    response = http.post(
        f"{service.base_url}/v1/accounts",
        content=body,
        headers={**auth, "Content-Type": content_type},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    listed = http.get(
        f"{service.base_url}/v1/accounts?limit=3&starting_after=acct%00", headers=auth
    )
    assert listed.status_code == 400 and listed.json()["error"]["param"] == "starting_after"


def test_unknown_route_and_method(service):
    auth = {"Authorization": f"Bearer {service.admin_key}"}
    missing = http.get(f"{service.base_url}/v1/nothing_here", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "invalid_request_error"
    wrong = http.delete(f"{service.base_url}/v1/accounts", headers=auth)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["type"] == "invalid_request_error"


def test_health_and_openapi_are_public(service):
    assert http.get(f"{service.base_url}/health").json() == {"status": "ok", "database": "ok"}
    schema = http.get(f"{service.base_url}/schema/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert "/v1/accounts" in schema["paths"]


def test_missing_required_fields_are_named(service, merchant):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        merchant.client.v1.payment_intents.create(params={"currency": "eur"})
    assert missing.value.param == "amount"
    assert missing.value.code == "parameter_missing"
    admin = service.stripe(service.admin_key)
    with pytest.raises(stripe.InvalidRequestError) as nested:
        admin.v1.accounts.create(
            params={
                "country": "DE",
                "business_profile": {"name": "x"},
                "external_account": {"country": "DE", "currency": "eur"},
            }
        )
    assert nested.value.param == "external_account[account_number]"


def test_a_revoked_key_stops_working(service):
    from api.keys import issue_key, revoke_key

    with service.db.transaction() as session:
        issued = issue_key(session, "finance", None, "soon revoked")
    client = service.stripe(issued.secret)
    client.v1.balance_transactions.list()  # known, and now remembered by the process
    with service.db.transaction() as session:
        revoke_key(session, issued.key.id)
    with pytest.raises(stripe.AuthenticationError):
        client.v1.balance_transactions.list()

"""Compliance end to end on the live service: lists, screening, holds, reviews, rules, audit.

The real OFAC SDN files from ``shared/data/sanctions`` are loaded through the API (the
17-row sample, uploaded) and at the end through the CLI (the full list, as an update of
the sample, which re-screens earlier payers). The checkout is the official ``stripe``
SDK; Corridor's own routes are called with httpx. Tests run in file order: the full list
is loaded once, by the last tests' module fixture.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import select, text

from api import compliance_cli
from api.cli import main as corridor
from compliance.rules.observations import ObservationRow
from compliance.rules.ruleset import DEFAULT_RULES_PATH
from compliance.sanctions import parse_list
from tests.shared_data import locate, shared_data

LISTS = locate("sanctions")


@pytest.fixture(autouse=True, scope="module")
def _the_real_lists_are_here() -> None:
    shared_data("sanctions")


SAMPLE = LISTS / "ofac_sdn_sample"
FULL = LISTS / "ofac_sdn"

# Listed in the sample (entry 29702 "LIFSHITS, Artem Mikhaylovich"; 48603 "KHOROSHEV,
# Dmitry Yuryevich", DOB 17 Apr 1993): probable matches without more data, near-certain
# with country and date of birth.
PROBABLE = {"name": "Artem Lifshits"}
PROBABLE_2 = {"name": "Dmitry Khoroshev"}
CERTAIN = {"name": "Dmitry Khoroshev", "country": "RU", "date_of_birth": "1993-04-17"}
CLEAN = {"name": "Maria Garcia", "country": "ES"}


class Api:
    """Corridor's own routes over httpx, with one key."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {key}"}

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(self.base_url + path, params=params, headers=self.headers, timeout=60)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return httpx.post(
            self.base_url + path, json=json, headers=self.headers, timeout=120, **kwargs
        )


def _upload(api: Api, folder: Path, source: str) -> httpx.Response:
    files = [("file", (p.name, p.read_bytes(), "text/csv")) for p in sorted(folder.iterdir())]
    return api.post("/v1/compliance/lists", data={"source": source}, files=files)


@pytest.fixture(scope="module")
def officer_key(service) -> str:
    from api.keys import issue_key

    with service.db.transaction() as session:
        return issue_key(session, "compliance", None, "compliance officer").secret


@pytest.fixture(scope="module")
def officer(service, officer_key) -> Api:
    return Api(service.base_url, officer_key)


@pytest.fixture(scope="module")
def officer_sdk(service, officer_key) -> Any:
    return service.stripe(officer_key)


@pytest.fixture(scope="module")
def sample_load(officer) -> dict[str, Any]:
    """The SDN sample, uploaded as the active ofac_sdn snapshot."""
    response = _upload(officer, SAMPLE, "ofac_sdn")
    assert response.status_code == 200, response.text
    return response.json()


def pay(client: Any, payer: dict[str, Any], amount: int = 2000, **params: Any) -> Any:
    return client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "eur",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "payer": payer,
            **params,
        }
    )


def held(client: Any, payer: dict[str, Any], **params: Any) -> Any:
    intent = pay(client, payer, **params)
    assert intent.status == "requires_review", intent.status
    assert intent.review and intent.review.startswith("prv_")
    return intent


# --------------------------------------------------------------------------- lists


def test_uploaded_list_becomes_the_active_snapshot(officer, sample_load):
    expected = {entry.entry_id for entry in parse_list(SAMPLE, "ofac_sdn").entries}
    assert sample_load["object"] == "sanctions_list_load"
    assert sample_load["status"] == "loaded"
    snapshot = sample_load["snapshot"]
    assert (snapshot["source"], snapshot["active"], snapshot["entry_count"]) == (
        "ofac_sdn",
        True,
        len(expected),
    )
    assert sample_load["added"]["count"] == len(expected)
    assert set(sample_load["added"]["entry_ids"]) == expected
    assert sample_load["removed"]["count"] == 0
    listed = officer.get("/v1/compliance/lists", source="ofac_sdn", status="active").json()
    assert [s["id"] for s in listed["data"]] == [snapshot["id"]]
    again = _upload(officer, SAMPLE, "ofac_sdn").json()
    assert again["status"] == "unchanged" and again["snapshot"]["id"] == snapshot["id"]
    loads = officer.get("/v1/compliance/audit_log", action="sanctions.list_loaded").json()
    assert [e["payload"]["status"] for e in loads["data"][:2]] == ["unchanged", "loaded"]


def test_server_side_path_loads_are_for_admins(service, officer, sample_load):
    body = {"source": "ofac_sdn", "path": str(SAMPLE)}
    refused = officer.post("/v1/compliance/lists", json=body)
    assert refused.status_code == 403
    admin = Api(service.base_url, service.admin_key)
    same = admin.post("/v1/compliance/lists", json=body)
    assert same.status_code == 200, same.text
    assert same.json()["status"] == "unchanged"
    wrong = admin.post("/v1/compliance/lists", json={"source": "un", "path": str(SAMPLE)})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "list_format_invalid"
    assert officer.post("/v1/compliance/lists", json={"path": "/x"}).json()["error"]["param"] in (
        "source",
        "path",
    )


# --------------------------------------------------------------------------- screenings


def test_screening_returns_ranked_matches(officer, sample_load):
    response = officer.post(
        "/v1/compliance/screenings",
        {"name": "Dmitriy Khoroshev", "type": "person", "country": "RU"},
    )
    assert response.status_code == 200, response.text
    screening = response.json()
    assert screening["object"] == "screening" and screening["id"].startswith("scr_")
    assert screening["decision"] == "block"
    top = screening["matches"][0]
    assert (top["list"], top["entry_id"], top["name"]) == (
        "ofac_sdn",
        "48603",
        "KHOROSHEV, Dmitry Yuryevich",
    )
    assert top["matched_name"] == "KHOROSHEV, Dmitriy Yurevich"  # the alias that matched
    scores = [m["score"] for m in screening["matches"]]
    assert scores == sorted(scores, reverse=True) and 0 <= scores[-1] <= scores[0] <= 1
    cyrillic = officer.post(
        "/v1/compliance/screenings", {"name": "Дмитрий Хорошев", "type": "person"}
    ).json()
    assert cyrillic["decision"] in ("review", "block")
    assert cyrillic["matches"][0]["entry_id"] == "48603"
    clean = officer.post("/v1/compliance/screenings", {**CLEAN, "type": "person"}).json()
    assert (clean["decision"], clean["matches"]) == ("allow", [])
    audited = officer.get("/v1/compliance/audit_log", ref=screening["id"]).json()["data"]
    assert audited[0]["action"] == "screening.performed"
    assert audited[0]["payload"]["decision"] == "block"
    bad = officer.post("/v1/compliance/screenings", {"name": "X", "type": "vessel"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "type"
    bad_date = officer.post(
        "/v1/compliance/screenings", {"name": "X", "type": "person", "date_of_birth": "1990-13-01"}
    )
    assert bad_date.json()["error"]["param"] == "date_of_birth"


# --------------------------------------------------------------------------- holds and reviews


def test_probable_match_is_held_then_approved_after_false_positive(
    service, merchant, officer, officer_sdk, sample_load
):
    intent = held(merchant.client, PROBABLE)
    seen_by_merchant = merchant.client.v1.payment_intents.retrieve(intent.id)
    assert (seen_by_merchant.status, seen_by_merchant.review) == ("requires_review", intent.review)

    review = officer_sdk.v1.reviews.retrieve(intent.review)
    assert (review.object, review.open, review.reason, review.payment_intent) == (
        "review",
        True,
        "rule",
        intent.id,
    )
    match_key = "payer:ofac_sdn:29702"
    assert review.unresolved_matches == [match_key]
    assert review.counterparty["payer"]["name"] == PROBABLE["name"]
    assert "sanctions.payer" in [hit["rule_id"] for hit in review.rule_hits]

    with pytest.raises(stripe.InvalidRequestError) as refused:
        officer_sdk.v1.reviews.approve(intent.review)
    assert refused.value.code == "sanctions_unresolved"
    assert merchant.client.v1.payment_intents.retrieve(intent.id).status == "requires_review"

    path = f"/v1/reviews/{intent.review}/matches/{match_key}/false_positive"
    no_note = officer.post(path, {})
    assert no_note.status_code == 400
    assert no_note.json()["error"]["code"] == "parameter_missing"
    assert no_note.json()["error"]["param"] == "note"
    resolved = officer.post(path, {"note": "payer born 1971 in Spain; listed person born 1992"})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["unresolved_matches"] == []

    approved = officer_sdk.v1.reviews.approve(intent.review)
    assert (approved.open, approved.closed_reason, approved.status) == (
        False,
        "approved",
        "approved",
    )
    assert approved.held_object["status"] == "succeeded"
    final = merchant.client.v1.payment_intents.retrieve(intent.id)
    assert (final.status, final.amount_received) == ("succeeded", 2000)
    actions = [event["action"] for event in approved.history]
    assert actions == ["opened", "match_false_positive", "approved"]


def test_rejected_review_cancels_the_payment(merchant, officer, sample_load):
    intent = held(merchant.client, PROBABLE_2)
    no_note = officer.post(f"/v1/reviews/{intent.review}/reject", {})
    assert no_note.status_code == 400
    assert no_note.json()["error"]["code"] == "parameter_missing"
    assert no_note.json()["error"]["param"] == "note"
    rejected = officer.post(f"/v1/reviews/{intent.review}/reject", {"note": "confirmed listed"})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["held_object"]["status"]) == (
        "rejected",
        "canceled",
    )
    final = merchant.client.v1.payment_intents.retrieve(intent.id)
    assert (final.status, final.cancellation_reason, final.amount_received) == (
        "canceled",
        "failed_review",
        0,
    )
    again = officer.post(f"/v1/reviews/{intent.review}/approve")
    assert again.status_code == 400 and again.json()["error"]["code"] == "review_closed"


def test_near_certain_match_is_a_generic_decline(merchant, officer, sample_load):
    with pytest.raises(stripe.CardError) as declined:
        pay(merchant.client, CERTAIN)
    error = declined.value
    assert (error.code, error.error.decline_code, error.user_message) == (
        "card_declined",
        "generic_decline",
        "Your card was declined.",
    )
    body = str(error.json_body).lower()
    assert "sanction" not in body and "ofac" not in body and "prv_" not in body
    intent = merchant.client.v1.payment_intents.retrieve(error.error.payment_intent["id"])
    assert intent.status == "requires_payment_method" and intent.review is None
    decided = officer.get("/v1/compliance/audit_log", ref=intent.id).json()["data"]
    assert decided[0]["action"] == "screening.decided"
    assert decided[0]["payload"]["decision"] == "block"
    assert decided[0]["payload"]["matches"][0]["entry_id"] == "48603"


def test_case_work_escalate_assign_note_and_listing(merchant, officer, officer_sdk, sample_load):
    intent = held(merchant.client, PROBABLE)
    other = held(merchant.client, PROBABLE_2)
    escalated = officer.post(
        f"/v1/reviews/{intent.review}/escalate",
        {"note": "second opinion", "assignee": "mlro@corridor.example"},
    ).json()
    assert (escalated["status"], escalated["assignee"], escalated["open"]) == (
        "escalated",
        "mlro@corridor.example",
        True,
    )
    noted = officer.post(f"/v1/reviews/{intent.review}/notes", {"note": "called the merchant"})
    assert [e["action"] for e in noted.json()["history"]] == ["opened", "escalated", "note"]
    assert noted.json()["history"][-1]["note"] == "called the merchant"
    assigned = officer.post(f"/v1/reviews/{intent.review}/assign", {"assignee": "ann"}).json()
    assert assigned["assignee"] == "ann"

    by_intent = officer.get("/v1/reviews", payment_intent=intent.id).json()
    assert [r["id"] for r in by_intent["data"]] == [intent.review]
    open_ones = officer.get("/v1/reviews", open="true", limit=100).json()["data"]
    assert intent.review in {r["id"] for r in open_ones} and all(r["open"] for r in open_ones)
    first = officer_sdk.v1.reviews.list(params={"limit": 1})
    assert len(first.data) == 1 and first.has_more
    second = officer_sdk.v1.reviews.list(params={"limit": 1, "starting_after": first.data[0].id})
    assert second.data[0].id != first.data[0].id
    assert {intent.review, other.review} <= {
        r["id"] for r in officer.get("/v1/reviews", limit=100).json()["data"]
    }
    assert second.data[0].created <= first.data[0].created

    # The merchant cancels while the case is open: deciding it later moves nothing.
    merchant.client.v1.payment_intents.cancel(intent.id)
    match_key = escalated["unresolved_matches"][0]
    officer.post(
        f"/v1/reviews/{intent.review}/matches/{match_key}/false_positive", {"note": "namesake"}
    )
    approved = officer_sdk.v1.reviews.approve(intent.review)
    effect = approved.held_object
    assert (effect.type, effect.id, effect.status, effect.changed) == (
        "payment_intent",
        intent.id,
        "canceled",
        False,
    )


def test_merchants_never_see_compliance(service, merchant, platform_key, sample_load):
    intent = held(merchant.client, PROBABLE)
    as_merchant = Api(service.base_url, merchant.key)
    as_finance = Api(service.base_url, platform_key("finance"))
    for api in (as_merchant, as_finance):
        for path in (
            "/v1/compliance/lists",
            "/v1/compliance/rules",
            "/v1/compliance/audit_log",
            "/v1/compliance/audit_log/verify",
        ):
            assert api.get(path).status_code == 403, path
        assert (
            api.post("/v1/compliance/screenings", {"name": "x", "type": "person"}).status_code
            == 403
        )
    with pytest.raises(stripe.InvalidRequestError) as hidden:
        merchant.client.v1.reviews.retrieve(intent.review)
    assert hidden.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as hidden_list:
        merchant.client.v1.reviews.list()
    assert hidden_list.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as no_approval:
        merchant.client.v1.reviews.approve(intent.review)
    assert no_approval.value.http_status == 404
    assert as_merchant.post(f"/v1/reviews/{intent.review}/reject", {"note": "x"}).status_code == 404
    assert as_finance.get(f"/v1/reviews/{intent.review}").status_code == 403
    assert merchant.client.v1.payment_intents.retrieve(intent.id).status == "requires_review"


# --------------------------------------------------------------------------- rules


def _big_payments_rule_set(threshold: str) -> str:
    rules = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    return (
        rules.replace('name = "corridor-default"', 'name = "corridor-big-payments"')
        + f"""
[[rules]]
id = "amount.big"
type = "amount_threshold"
order = 33
decision = "review"
score = 0
description = "Hold payments of USD {threshold} or more (a test policy)."
source = "tests"
params = {{ amount = "{threshold}", comparison = "gte" }}
"""
    )


def test_rule_sets_create_dry_run_activate(service, make_merchant, officer, sample_load):
    shop = make_merchant(name="Rules Shop")
    small = pay(shop.client, CLEAN, amount=500)
    big = pay(shop.client, CLEAN, amount=20_000)
    assert (small.status, big.status) == ("succeeded", "succeeded")

    active = officer.get("/v1/compliance/rules", status="active").json()["data"]
    assert len(active) == 1
    previous = active[0]["id"]

    invalid = officer.post(
        "/v1/compliance/rules", {"toml": 'name = 1\nbase_currency = "USD"\nrules = []'}
    )
    assert invalid.status_code == 400
    error = invalid.json()["error"]
    assert error["code"] == "rule_set_invalid" and {p["path"] for p in error["problems"]} >= {
        "name",
        "rules",
    }

    created = officer.post("/v1/compliance/rules", {"toml": _big_payments_rule_set("100.00")})
    assert created.status_code == 200, created.text
    draft = created.json()
    assert (draft["object"], draft["status"], draft["name"]) == (
        "compliance_rule_set",
        "draft",
        "corridor-big-payments",
    )
    assert "amount.big" in [rule["id"] for rule in draft["rules"]]
    same = officer.post("/v1/compliance/rules", {"toml": _big_payments_rule_set("100.00")})
    assert same.json()["id"] == draft["id"]

    report = officer.post(f"/v1/compliance/rules/{draft['id']}/dry_run", {"flips": 1000}).json()
    assert report["object"] == "compliance_rule_set_dry_run" and report["payments"] >= 2
    flipped = {flip["ref"]: flip for flip in report["flips"]}
    assert flipped[big.id]["before"] == "allow" and flipped[big.id]["after"] == "review"
    assert flipped[big.id]["rules_added"] == ["amount.big"]
    assert small.id not in flipped
    assert report["rule_hits"]["amount.big"] >= 1

    try:
        activated = officer.post(f"/v1/compliance/rules/{draft['id']}/activate").json()
        assert (activated["status"], activated["activated_by"] is not None) == ("active", True)
        retired = officer.get(f"/v1/compliance/rules/{previous}").json()
        assert retired["status"] == "retired"
        now_held = pay(shop.client, CLEAN, amount=20_000)
        assert now_held.status == "requires_review"
        review = officer.get(f"/v1/reviews/{now_held.review}").json()
        assert "amount.big" in [hit["rule_id"] for hit in review["rule_hits"]]
        assert review["unresolved_matches"] == []  # no sanctions match: approvable at once
        assert (
            officer.post(f"/v1/reviews/{now_held.review}/approve").json()["held_object"]["status"]
            == "succeeded"
        )
    finally:
        rolled_back = officer.post(f"/v1/compliance/rules/{previous}/activate").json()
        assert rolled_back["status"] == "active"
    changes = officer.get("/v1/compliance/audit_log", ref=f"rule_set:{draft['version']}").json()
    assert [e["action"] for e in changes["data"]] == ["rule_set.activated", "rule_set.created"]
    assert officer.get("/v1/compliance/rules/crs_999999").status_code == 404


# --------------------------------------------------------------------------- refunds, keys


def test_refunds_are_counted_for_the_refund_abuse_rule(service, merchant, sample_load):
    intent = pay(merchant.client, CLEAN, amount=3000)
    refund = merchant.client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1000})
    with service.db.transaction(write=False) as session:
        row = session.execute(
            select(ObservationRow).where(
                ObservationRow.kind == "refund", ObservationRow.ref == refund.id
            )
        ).scalar_one()
        payment = session.execute(
            select(ObservationRow).where(
                ObservationRow.kind == "payment", ObservationRow.ref == intent.id
            )
        ).scalar_one()
    assert row.payment_ref == intent.id
    assert row.account_key == merchant.account_id == payment.account_key
    assert 0 < row.base_amount < payment.base_amount  # a third of it, in USD


def test_key_creation_is_audited(officer, capsys):
    assert corridor(["keys", "create", "--role", "finance", "--description", "audited"]) == 0
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("sk_test_")
    created = officer.get("/v1/compliance/audit_log", action="api_key.created").json()["data"]
    assert created[0]["actor"] == "cli"
    assert created[0]["payload"] == {"role": "finance", "account": None}
    assert created[0]["ref"].startswith("key_")


# --------------------------------------------------------------------------- audit trail


def test_audit_chain_verifies_and_an_edited_row_breaks_it(service, officer, sample_load, capsys):
    verified = officer.get("/v1/compliance/audit_log/verify").json()
    assert verified["ok"] is True and verified["entries_checked"] >= 5, verified
    target = officer.get("/v1/compliance/audit_log", action="review.approved").json()["data"][-1]
    sequence = target["sequence"]
    assert corridor(["audit", "verify"]) == 0
    with service.db.transaction() as session:
        session.execute(
            text("UPDATE compliance_audit_log SET actor = 'mallory' WHERE sequence = :s"),
            {"s": sequence},
        )
    try:
        broken = officer.get("/v1/compliance/audit_log/verify").json()
        assert (broken["ok"], broken["first_bad_sequence"]) == (False, sequence)
        assert "does not match" in broken["problem"]
        assert corridor(["audit", "verify"]) == 1
        assert f"BROKEN at entry {sequence}" in capsys.readouterr().err
    finally:
        with service.db.transaction() as session:
            session.execute(
                text("UPDATE compliance_audit_log SET actor = :a WHERE sequence = :s"),
                {"a": target["actor"], "s": sequence},
            )
    assert officer.get("/v1/compliance/audit_log/verify").json()["ok"] is True


def test_audit_log_pages_newest_first(officer, sample_load):
    first = officer.get("/v1/compliance/audit_log", limit=3).json()
    assert first["has_more"] and len(first["data"]) == 3
    sequences = [e["sequence"] for e in first["data"]]
    assert sequences == sorted(sequences, reverse=True)
    older = officer.get(
        "/v1/compliance/audit_log", limit=3, starting_after=first["data"][-1]["id"]
    ).json()
    assert older["data"][0]["sequence"] == sequences[-1] - 1
    newer = officer.get(
        "/v1/compliance/audit_log", limit=2, ending_before=older["data"][0]["id"]
    ).json()
    assert [e["sequence"] for e in newer["data"]] == sequences[-2:]
    entry = first["data"][0]
    assert (
        entry["prev_hash"]
        == officer.get("/v1/compliance/audit_log", limit=1, starting_after=entry["id"]).json()[
            "data"
        ][0]["hash"]
    )


# --------------------------------------------------------------------------- full list update


def _module_merchant(service: Any, name: str) -> Any:
    """A merchant for module-scoped fixtures (``make_merchant`` is per test)."""
    from api.keys import issue_key

    account = service.stripe(service.admin_key).v1.accounts.create(
        params={"country": "DE", "default_currency": "eur", "business_profile": {"name": name}}
    )
    with service.db.transaction() as session:
        key = issue_key(session, "merchant", account.id, "tests").secret
    return argparse.Namespace(account_id=account.id, key=key, client=service.stripe(key))


@pytest.fixture(scope="module")
def before_full_list(service, sample_load) -> dict[str, Any]:
    """A payer and a merchant that only the full list names, seen before it is loaded."""
    shop = _module_merchant(service, "AEROCARIBBEAN AIRLINES")
    intent = pay(shop.client, {"name": "Oleg Deripaska"})
    assert intent.status == "succeeded"
    return {"shop": shop, "intent": intent}


@pytest.fixture(scope="module")
def full_list(service, officer, before_full_list) -> dict[str, Any]:
    """The full OFAC SDN list loaded with the CLI, as an update of the sample (once)."""
    args = argparse.Namespace(
        path=str(FULL), source="ofac_sdn", publication_date=None, rescreen_days=30
    )
    assert compliance_cli.cmd_sanctions_load(args, service.settings) == 0
    listed = officer.get("/v1/compliance/lists", source="ofac_sdn", status="active").json()
    return listed["data"][0]


def test_list_update_reports_additions_and_removals(officer, full_list, sample_load):
    sample = {e.entry_id for e in parse_list(SAMPLE, "ofac_sdn").entries}
    full = {e.entry_id for e in parse_list(FULL, "ofac_sdn").entries}
    assert full_list["previous_snapshot"] == sample_load["snapshot"]["id"]
    assert (full_list["added_count"], full_list["removed_count"]) == (
        len(full - sample),
        len(sample - full),
    )
    history = officer.get("/v1/compliance/lists", source="ofac_sdn").json()["data"]
    assert [s["status"] for s in history] == ["active", "superseded"]


def _reviews_of(officer: Api, **params: Any) -> Callable[[], list[dict[str, Any]]]:
    return lambda: officer.get("/v1/reviews", limit=100, **params).json()["data"]


def test_list_update_rescreens_earlier_counterparties(
    service, officer, full_list, before_full_list
):
    intent, shop = before_full_list["intent"], before_full_list["shop"]
    payer_cases = service.wait_for(_reviews_of(officer, payment_intent=intent.id), timeout=180)
    case = payer_cases[0]
    assert case["counterparty"]["rescreen"]["snapshot_id"] == full_list["id"]
    assert "payer:ofac_sdn:24283" in case["unresolved_matches"]  # DERIPASKA, Oleg
    assert case["held_object"] == {"type": "payment_intent", "id": intent.id}

    account_api = Api(service.base_url, service.admin_key)
    account_api.headers["Stripe-Account"] = shop.account_id
    merchant_cases = service.wait_for(
        lambda: [
            r
            for r in account_api.get("/v1/reviews", limit=100).json()["data"]
            if r["held_object"]["type"] == "account"
        ],
        timeout=60,
    )
    assert merchant_cases[0]["held_object"]["id"] == shop.account_id
    assert "merchant:ofac_sdn:36" in merchant_cases[0]["unresolved_matches"]

    # The money moved before the listing: deciding the case records it, moves nothing.
    rejected = officer.post(f"/v1/reviews/{case['id']}/reject", {"note": "exit the customer"})
    assert rejected.json()["held_object"] == {
        "type": "payment_intent",
        "id": intent.id,
        "status": "succeeded",
        "changed": False,
    }
    rescreened = officer.get("/v1/compliance/audit_log", action="sanctions.rescreened").json()
    assert rescreened["data"][0]["ref"] == full_list["id"]


def test_after_the_update_the_newly_listed_payer_never_succeeds(officer, make_merchant, full_list):
    shop = make_merchant(name="Second Shop")
    try:
        intent = pay(shop.client, {"name": "Oleg Deripaska", "country": "RU"})
    except stripe.CardError as declined:
        intent = shop.client.v1.payment_intents.retrieve(declined.error.payment_intent["id"])
    assert intent.status in ("requires_review", "requires_payment_method")
    decided = officer.get("/v1/compliance/audit_log", ref=intent.id).json()["data"][0]
    assert decided["payload"]["decision"] in ("review", "block")
    assert decided["payload"]["matches"][0]["entry_id"] == "24283"

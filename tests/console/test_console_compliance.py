"""Compliance pages: the queue and its filters, a case decided end to end, lists, rules, audit.

The hold is real: the compliance wiring screens the payer against the EU list sample and
the default rule set sends the probable match to review.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from compliance import audit, reviews
from compliance.reviews.tables import ReviewEventRow
from compliance.rules.store import active_rule_set, create_rule_set, ensure_active_rule_set
from payments.intents import PaymentIntent
from tests.console.conftest import Console, Merchant
from tests.console.console_world import (
    HELD_PAYER,
    LISTED_ENTRY,
    compliance_wired,
    load_eu_list,
    payment,
)


@pytest.fixture
def wired() -> Iterator[None]:
    with compliance_wired():
        yield


@pytest.fixture
def held(console: Console, make_merchant: Callable[..., Merchant], wired: None) -> dict[str, Any]:
    """A manual-capture payment the wiring held for review, and its merchant's key."""
    load_eu_list(console.db)
    merchant = make_merchant()

    def post(path: str, key: str, form: dict[str, Any]) -> dict[str, Any]:
        return console.api("POST", path, key, data=form)

    intent = payment(post, merchant.key, amount=25_000, capture_method="manual", payer=HELD_PAYER)
    assert intent["status"] == "requires_review"
    return {"intent": intent, "review": intent["review"], "merchant": merchant, "post": post}


def _intent(console: Console, intent_id: str) -> PaymentIntent:
    with console.db.transaction(write=False) as session:
        found = session.get(PaymentIntent, intent_id)
        assert found is not None
        return found


def _events(console: Console, review_id: str) -> list[str]:
    with console.db.transaction(write=False) as session:
        return list(
            session.scalars(
                select(ReviewEventRow.action)
                .where(ReviewEventRow.review_id == review_id)
                .order_by(ReviewEventRow.id)
            )
        )


def _match_key(html: str) -> str:
    found = re.search(r'name="match" value="([^"]+)"', html)
    assert found, "no unresolved match form on the case page"
    return found.group(1)


def test_the_queue_lists_the_held_case_and_filters_narrow_it(console, platform_key, held):
    console.sign_in(platform_key("compliance"))
    review_link = f"/console/compliance/reviews/{held['review']}"
    assert review_link in console.client.get("/console/compliance").text
    shown = {
        "rule=sanctions.payer": True,
        "rule=velocity.card.hour": False,
        "min_score=1": True,
        "min_score=1000": False,
        "country=DE": True,
        "country=JP": False,
        "assignee=-": True,
        "assignee=someone": False,
        "older_than_hours=2": False,
        "status=approved": False,
        "status=all": True,
    }
    for query, expected in shown.items():
        page = console.client.get(f"/console/compliance?{query}")
        assert page.status_code == 200
        assert (review_link in page.text) is expected, query
    fragment = console.client.get(
        "/console/compliance?country=DE",
        headers={"HX-Request": "true", "HX-Target": "queue-results"},
    )
    assert "<html" not in fragment.text and review_link in fragment.text


def test_the_case_page_shows_the_match_beside_the_list_entry(console, platform_key, held):
    console.sign_in(platform_key("compliance"))
    page = console.client.get(f"/console/compliance/reviews/{held['review']}")
    assert page.status_code == 200
    text = page.text
    assert held["intent"]["id"] in text and "€250.00" in text
    assert HELD_PAYER["name"] in text and "1985-03-01" in text
    assert "sanctions.payer" in text
    assert f"payer against eu entry {LISTED_ENTRY}" in text
    # The list entry as published: name, alias, birth date range, programme, snapshot.
    assert "Ahmed Ibrahim AL-HAMDANI" in text and "Ahmad Ibrahim al-Hamadani" in text
    assert "1960/1962" in text and "TAQA" in text and "sls_" in text
    assert "Approve and release" in text and "Mark false positive" in text


def test_a_held_payment_is_cleared_approved_and_released(console, platform_key, held):
    officer = platform_key("compliance")
    console.sign_in(officer)
    case = f"/console/compliance/reviews/{held['review']}"
    before = _events(console, held["review"])

    refused = console.post(case, {"action": "approve", "note": "looks fine"})
    assert refused.status_code == 409
    assert "cannot be approved while a sanctions match is unresolved" in refused.text
    assert _intent(console, held["intent"]["id"]).status == "requires_review"
    assert _events(console, held["review"]) == before

    key = _match_key(console.client.get(case).text)
    no_note = console.post(case, {"action": "false_positive", "match": key, "note": " "})
    assert no_note.status_code == 409 and "Write a note saying why." in no_note.text

    cleared = console.post(
        case,
        {"action": "false_positive", "match": key, "note": "Born 1985; the listed man 1960-62."},
    )
    assert cleared.status_code == 303
    assert (
        "The match was recorded as a false positive."
        in console.client.get(cleared.headers["location"]).text
    )

    approved = console.post(case, {"action": "approve", "note": "Cleared after DOB check."})
    assert approved.status_code == 303
    page = console.client.get(approved.headers["location"])
    assert "The case was approved and the held money released." in page.text
    assert 'name="action" value="approve"' not in page.text, "a decided case offers no decision"

    intent = _intent(console, held["intent"]["id"])
    assert intent.status == "requires_capture"
    assert intent.amount_capturable == 25_000
    with console.db.transaction(write=False) as session:
        review = reviews.get_review(session, held["review"])
        assert review.status.value == "approved"
        events = reviews.history(session, held["review"])
        entries = audit.list_entries(session, action="review.approved", ref=held["review"])
        assert audit.verify(session).ok
    assert [e.action for e in events][-2:] == ["match_false_positive", "approved"]
    key_id = events[-1].actor
    assert key_id.startswith("key_") and entries[0].actor == key_id

    # The merchant captures what compliance released.
    console.client.cookies.clear()
    console.sign_in(held["merchant"].key)
    payment_page = f"/console/merchant/payments/{held['intent']['id']}"
    captured = console.post(f"{payment_page}/capture", {}, token_from=payment_page)
    assert captured.status_code == 303
    assert _intent(console, held["intent"]["id"]).status == "succeeded"


def test_reject_needs_a_note_and_cancels_the_payment(console, platform_key, held):
    console.sign_in(platform_key("compliance"))
    case = f"/console/compliance/reviews/{held['review']}"
    no_note = console.post(case, {"action": "reject"})
    assert no_note.status_code == 409
    assert _intent(console, held["intent"]["id"]).status == "requires_review"
    assert console.post(case, {"action": "assign", "assignee": "Mei"}).status_code == 303
    assert console.post(case, {"action": "note", "note": "Asked the merchant"}).status_code == 303
    escalated = console.post(
        case, {"action": "escalate", "note": "Needs the MLRO", "assignee": "MLRO"}
    )
    assert escalated.status_code == 303
    queue = console.client.get("/console/compliance?status=escalated&assignee=MLRO")
    assert case in queue.text
    again = console.post(case, {"action": "escalate", "note": "again"})
    assert again.status_code == 409 and "already escalated" in again.text
    rejected = console.post(case, {"action": "reject", "note": "Could not verify the payer."})
    assert rejected.status_code == 303
    intent = _intent(console, held["intent"]["id"])
    assert (intent.status, intent.cancellation_reason) == ("canceled", "failed_review")
    assert _events(console, held["review"])[1:] == ["assigned", "note", "escalated", "rejected"]
    page = console.client.get(case)
    assert "Asked the merchant" in page.text and "Needs the MLRO" in page.text
    assert 'name="action" value="approve"' not in page.text
    closed = console.post(case, {"action": "approve"}, token_from=case)
    assert closed.status_code == 409 and "already been decided" in closed.text


def test_an_unknown_case_or_action_is_a_404(console, platform_key, held):
    console.sign_in(platform_key("admin"))
    assert console.client.get("/console/compliance/reviews/prv_nope").status_code == 404
    case = f"/console/compliance/reviews/{held['review']}"
    assert console.post(case, {"action": "delete"}).status_code == 404


def test_sanctions_lists_show_snapshot_date_additions_and_removals(console, platform_key):
    snapshot = load_eu_list(console.db)
    console.sign_in(platform_key("compliance"))
    page = console.client.get("/console/compliance/sanctions").text
    assert snapshot in page
    row = re.search(rf"<tr><th scope=\"row\">{snapshot}</th>(.*?)</tr>", page, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    assert cells[0] == "Feb 14, 2026"  # publication date of the sample
    assert [cells[2], cells[3], cells[4]] == ["5", "5", "0"]  # entries, added, removed


def test_rule_sets_dry_run_and_activation(console, platform_key, held):
    with console.db.transaction() as session:
        active = ensure_active_rule_set(session)
        body = active.rule_set.to_dict()
        for rule in body["rules"]:
            if rule["id"] == "sanctions.payer":
                rule["params"] = {**rule["params"], "review_at": 0.9, "block_at": 0.97}
        body["name"] = "stricter matching threshold"
        candidate = create_rule_set(session, body, actor="tests").version
    console.sign_in(platform_key("compliance"))
    listing = console.client.get("/console/compliance/rules").text
    assert f"/console/compliance/rules/{candidate}" in listing
    dry = console.client.get(f"/console/compliance/rules/{candidate}?dry_run=1")
    assert dry.status_code == 200
    assert "1 recorded payment replayed." in dry.text
    flip = re.search(
        rf"<th scope=\"row\">{held['intent']['id']}</th><td>(\w+)</td><td>(\w+)</td>", dry.text
    )
    assert flip is not None and flip.groups() == ("review", "allow")
    page = f"/console/compliance/rules/{candidate}"
    activated = console.post(f"{page}/activate", {}, token_from=page)
    assert activated.status_code == 303
    with console.db.transaction(write=False) as session:
        now_active = active_rule_set(session)
        assert now_active is not None and now_active.version == candidate
        assert audit.list_entries(session, action="rule_set.activated")[0].actor.startswith("key_")
    assert "This version is now active." in console.client.get(activated.headers["location"]).text
    assert console.client.get("/console/compliance/rules/999").status_code == 404


def test_the_audit_log_and_its_chain_verification(console, platform_key, held):
    console.sign_in(platform_key("compliance"))
    page = console.client.get("/console/compliance/audit")
    assert "screening.decided" in page.text and "review.opened" in page.text
    assert 'hx-get="/console/compliance/audit/verify"' in page.text
    filtered = console.client.get("/console/compliance/audit?action=review.opened")
    assert (
        "review.opened" in filtered.text and "<code>screening.decided</code>" not in filtered.text
    )
    verify = console.client.get("/console/compliance/audit/verify", headers={"HX-Request": "true"})
    assert "<html" not in verify.text and "Chain verified." in verify.text
    with console.db.transaction() as session:
        row = session.get(audit.AuditLogEntry, 1)
        row.payload = {**row.payload, "tampered": True}
    broken = console.client.get("/console/compliance/audit/verify")
    assert "Chain broken at entry 1." in broken.text


def test_the_queue_and_the_audit_log_page_through_many_cases(console, platform_key):
    with console.db.transaction() as session:
        opened = [
            reviews.open_review(
                session,
                object_type="payment_intent",
                object_id=f"pi_manual{n:04d}",
                account_id=None,
                opened_reason="manual",
                counterparty={"payer": {"name": f"Payer {n}", "country": "FR"}},
                actor="tests",
            ).id
            for n in range(60)
        ]
    console.sign_in(platform_key("compliance"))
    seen: list[str] = []
    url: str | None = "/console/compliance?country=FR"
    pages = 0
    while url:
        page = console.client.get(url).text
        seen += re.findall(r'href="/console/compliance/reviews/(prv_\w+)"', page)
        found = re.search(r'href="([^"]+)" rel="next"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
        pages += 1
    assert pages == 3 and seen == opened, "oldest first, each case once"
    audit_page = console.client.get("/console/compliance/audit").text
    older = re.search(r'href="(/console/compliance/audit\?[^"]*before=\d+)" rel="next"', audit_page)
    assert older is not None
    assert "review.opened" in console.client.get(older.group(1).replace("&amp;", "&")).text

"""Review cases: the state machine, the sanctions guard on approval, history and audit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy.exc import IntegrityError

from compliance import audit, reviews
from compliance.reviews import case as cases
from compliance.reviews.case import (
    MatchResolution,
    NextStep,
    ReviewCase,
    ReviewError,
    ReviewStatus,
    SanctionsMatch,
)
from compliance.rules import Party, PaymentContext, ScreeningSnapshot, evaluate, parse_rule_set
from compliance.rules.screening import MatchSnapshot
from core.database import Database

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
MakeCtx = Callable[..., PaymentContext]

MATCH = SanctionsMatch("payer", "ofac_sdn", "1234", "DOE, John", "John DOE", 0.9)
OTHER = SanctionsMatch("beneficiary", "un", "QDi.9", "ACME", "ACME LTD", 0.88)


# --------------------------------------------------------------------------- pure state machine

ALL = list(ReviewStatus)
OPEN = [ReviewStatus.OPEN, ReviewStatus.ESCALATED]
FINAL = [ReviewStatus.APPROVED, ReviewStatus.REJECTED, ReviewStatus.CLOSED]


@pytest.mark.parametrize("status", OPEN)
def test_decisions_from_undecided_states(status: ReviewStatus) -> None:
    case = ReviewCase(status)
    assert (
        t := cases.approve(case, "ann")
    ).case.status is ReviewStatus.APPROVED and t.next_step is NextStep.RELEASE
    assert (t := cases.reject(case, "ann", "fraud ring")).case.status is ReviewStatus.REJECTED
    assert t.next_step is NextStep.CANCEL
    assert (t := cases.close(case, "system", "canceled")).case.status is ReviewStatus.CLOSED
    assert t.next_step is NextStep.NONE


@pytest.mark.parametrize("status", FINAL)
@pytest.mark.parametrize(
    "action",
    [
        lambda c: cases.approve(c, "ann"),
        lambda c: cases.reject(c, "ann", "n"),
        lambda c: cases.escalate(c, "ann", "n"),
        lambda c: cases.close(c, "ann", "canceled"),
        lambda c: cases.assign(c, "ann", "bob"),
        lambda c: cases.resolve_match(
            c, "ann", MATCH.key, MatchResolution.FALSE_POSITIVE, "n", NOW
        ),
    ],
)
def test_final_states_refuse_every_change(status: ReviewStatus, action) -> None:
    with pytest.raises(ReviewError) as info:
        action(ReviewCase(status, (MATCH,)))
    assert info.value.code == "review_closed"


@pytest.mark.parametrize("status", ALL)
def test_notes_are_always_allowed(status: ReviewStatus) -> None:
    t = cases.add_note(ReviewCase(status), "ann", "SAR filed")
    assert t.case.status is status and t.event.note == "SAR filed"


def test_escalate_once_and_assign() -> None:
    t = cases.escalate(ReviewCase(), "ann", "needs MLRO", assignee="mlro")
    assert (t.case.status, t.case.assignee) == (ReviewStatus.ESCALATED, "mlro")
    with pytest.raises(ReviewError, match="already escalated"):
        cases.escalate(t.case, "ann", "again")
    assert cases.assign(t.case, "mlro", "deputy").case.assignee == "deputy"


@pytest.mark.parametrize(
    ("action", "code"),
    [
        (lambda: cases.reject(ReviewCase(), "ann", "  "), "note_required"),
        (lambda: cases.escalate(ReviewCase(), "ann", None), "note_required"),
        (lambda: cases.add_note(ReviewCase(), "ann", ""), "note_required"),
        (lambda: cases.approve(ReviewCase(), ""), "actor_required"),
        (lambda: cases.close(ReviewCase(), "ann", ""), "reason_required"),
        (
            lambda: cases.resolve_match(
                ReviewCase(matches=(MATCH,)),
                "ann",
                MATCH.key,
                MatchResolution.FALSE_POSITIVE,
                " ",
                NOW,
            ),
            "note_required",
        ),
        (
            lambda: cases.resolve_match(
                ReviewCase(matches=(MATCH,)),
                "ann",
                "payer:ofac_sdn:9",
                MatchResolution.FALSE_POSITIVE,
                "n",
                NOW,
            ),
            "match_not_found",
        ),
    ],
)
def test_required_inputs(action, code: str) -> None:
    with pytest.raises(ReviewError) as info:
        action()
    assert info.value.code == code


def test_approval_waits_for_every_sanctions_match() -> None:
    case = ReviewCase(matches=(MATCH, OTHER))
    with pytest.raises(ReviewError, match=r"payer:ofac_sdn:1234, beneficiary:un:QDi\.9") as info:
        cases.approve(case, "ann")
    assert info.value.code == "sanctions_unresolved"
    case = cases.resolve_match(
        case, "ann", MATCH.key, MatchResolution.FALSE_POSITIVE, "DOB differs", NOW
    ).case
    with pytest.raises(ReviewError, match=r"QDi\.9"):
        cases.approve(case, "ann")
    case = cases.resolve_match(
        case, "ann", OTHER.key, MatchResolution.FALSE_POSITIVE, "other country", NOW
    ).case
    assert cases.approve(case, "ann").next_step is NextStep.RELEASE


def test_a_confirmed_match_can_only_be_rejected() -> None:
    t = cases.resolve_match(
        ReviewCase(matches=(MATCH,)), "ann", MATCH.key, MatchResolution.TRUE_MATCH, "same DOB", NOW
    )
    assert t.event.action == "match_confirmed"
    with pytest.raises(ReviewError) as info:
        cases.approve(t.case, "ann")
    assert info.value.code == "sanctions_unresolved"
    with pytest.raises(ReviewError) as info:
        cases.resolve_match(t.case, "bob", MATCH.key, MatchResolution.FALSE_POSITIVE, "no", NOW)
    assert info.value.code == "match_confirmed"
    assert cases.reject(t.case, "ann", "listed person").next_step is NextStep.CANCEL


# --------------------------------------------------------------------------- service


def _held_payment(db: Database, make_ctx: MakeCtx, score: float = 0.9) -> str:
    rules = parse_rule_set(
        {
            "name": "t",
            "base_currency": "USD",
            "rules": [
                {
                    "id": "sanctions",
                    "type": "sanctions",
                    "decision": "block",
                    "score": 100,
                    "params": {},
                },
                {
                    "id": "big",
                    "type": "amount_threshold",
                    "decision": "review",
                    "params": {"amount": "100"},
                },
            ],
        }
    )
    ctx = make_ctx(
        ref="pi_held",
        amount=50_000,
        beneficiary=Party(name="Acme Ltd", kind="entity", country="GB"),
    )
    screenings = {
        "payer": ScreeningSnapshot(
            "review", (MatchSnapshot(score, "ofac_sdn", "1234", "DOE, John", "John DOE"),)
        ),
        "beneficiary": ScreeningSnapshot("allow"),
    }
    evaluation = evaluate(rules, ctx, screenings=screenings)
    with db.transaction() as s:
        return reviews.open_review_for_payment(s, ctx, evaluation).id


def test_open_review_carries_hits_matches_and_counterparty(db: Database, make_ctx: MakeCtx) -> None:
    review_id = _held_payment(db, make_ctx)
    with db.transaction(write=False) as s:
        review = reviews.get_review(s, review_id)
    assert review.id.startswith("prv_")
    assert (review.object_type, review.object_id, review.account_id) == (
        "payment_intent",
        "pi_held",
        "acct_1",
    )
    assert (review.status, review.opened_reason, review.reason, review.open) == (
        "open",
        "rule",
        "rule",
        True,
    )
    assert [h["rule_id"] for h in review.rule_hits] == ["big", "sanctions"]  # same order: by id
    assert [m.key for m in review.screening_matches] == ["payer:ofac_sdn:1234"]
    assert review.counterparty["beneficiary"]["name"] == "Acme Ltd"
    assert review.decision == "review"


def test_opening_twice_returns_the_open_case(db: Database, make_ctx: MakeCtx) -> None:
    first = _held_payment(db, make_ctx)
    second = _held_payment(db, make_ctx)
    assert first == second


def test_database_allows_one_undecided_case_per_object(db: Database) -> None:
    from compliance.reviews.tables import ReviewRow

    with pytest.raises(IntegrityError), db.transaction() as s:
        for n in range(2):
            s.add(
                ReviewRow(
                    id=f"prv_{n}",
                    object_type="payout",
                    object_id="po_1",
                    status="open",
                    opened_reason="rule",
                    reason="rule",
                    rule_hits=[],
                    screening_matches=[],
                    counterparty={},
                )
            )
            s.flush()


def test_approve_blocked_until_false_positive_with_note(db: Database, make_ctx: MakeCtx) -> None:
    review_id = _held_payment(db, make_ctx)
    with db.transaction() as s, pytest.raises(ReviewError) as info:
        reviews.approve(s, review_id, actor="officer_ann")
    assert info.value.code == "sanctions_unresolved"
    with db.transaction() as s, pytest.raises(ReviewError) as info:
        reviews.mark_false_positive(
            s, review_id, actor="officer_ann", match="payer:ofac_sdn:1234", note=""
        )
    assert info.value.code == "note_required"
    with db.transaction() as s:
        fp = reviews.mark_false_positive(
            s,
            review_id,
            actor="officer_ann",
            match="payer:ofac_sdn:1234",
            note="Listed DOE born 1961 in Havana; payer born 1994 in Ohio (passport checked)",
        )
        assert fp.next_step is NextStep.NONE and fp.review.unresolved_matches == ()
        outcome = reviews.approve(s, review_id, actor="officer_ann", note="cleared")
    assert outcome.next_step is NextStep.RELEASE
    assert (outcome.review.status, outcome.review.reason, outcome.review.closed_reason) == (
        "approved",
    ) * 3
    assert outcome.review.closed_at is not None
    (match,) = outcome.review.screening_matches
    assert (match.resolution, match.resolved_by) == (MatchResolution.FALSE_POSITIVE, "officer_ann")
    with db.transaction() as s, pytest.raises(ReviewError):
        reviews.reject(s, review_id, actor="officer_bob", note="too late")


def test_reject_cancels(db: Database, make_ctx: MakeCtx) -> None:
    review_id = _held_payment(db, make_ctx)
    with db.transaction() as s:
        outcome = reviews.reject(s, review_id, actor="officer_ann", note="confirmed listed person")
    assert outcome.next_step is NextStep.CANCEL
    assert outcome.review.status == "rejected" and not outcome.review.open


def test_escalate_assign_notes_and_history(db: Database, make_ctx: MakeCtx) -> None:
    review_id = _held_payment(db, make_ctx)
    with db.transaction() as s:
        reviews.assign(s, review_id, actor="lead", assignee="officer_ann")
        reviews.add_note(s, review_id, actor="officer_ann", note="called the merchant")
        esc = reviews.escalate(
            s, review_id, actor="officer_ann", note="possible true match", assignee="mlro"
        )
        assert (esc.review.status, esc.review.assignee) == ("escalated", "mlro")
        reviews.confirm_match(
            s, review_id, actor="mlro", match="payer:ofac_sdn:1234", note="DOB and address match"
        )
        done = reviews.reject(s, review_id, actor="mlro", note="blocked; OFAC report to be filed")
        reviews.add_note(s, review_id, actor="mlro", note="report filed")
        events = reviews.history(s, review_id)
        trail = [(e.action, e.actor) for e in reversed(audit.list_entries(s, ref=review_id))]
        assert audit.verify(s).ok
    assert done.next_step is NextStep.CANCEL
    expected = [
        ("opened", "system"),
        ("assigned", "lead"),
        ("note", "officer_ann"),
        ("escalated", "officer_ann"),
        ("match_confirmed", "mlro"),
        ("rejected", "mlro"),
        ("note", "mlro"),
    ]
    assert [(e.action, e.actor) for e in events] == expected
    assert trail == [(f"review.{a}", actor) for a, actor in expected]
    assert events[3].data == {"assignee": "mlro"}
    assert events[4].note == "DOB and address match"


def test_close_when_the_object_goes_away(db: Database, make_ctx: MakeCtx) -> None:
    review_id = _held_payment(db, make_ctx)
    with db.transaction() as s:
        outcome = reviews.close(s, review_id, actor="system", reason="canceled")
    assert outcome.next_step is NextStep.NONE
    assert (outcome.review.status, outcome.review.closed_reason) == ("closed", "canceled")


def test_unknown_review(db: Database) -> None:
    with db.transaction() as s, pytest.raises(reviews.ReviewNotFound):
        reviews.approve(s, "prv_nope", actor="x")


def test_manual_review_of_a_payout(db: Database) -> None:
    with db.transaction() as s:
        review = reviews.open_review(
            s,
            object_type="payout",
            object_id="po_1",
            account_id="acct_9",
            opened_reason="manual",
            actor="officer_ann",
            note="beneficiary bank on watch list",
            screening_matches=[
                {
                    "party": "beneficiary",
                    "list": "bis_dpl",
                    "entry_id": "77",
                    "name": "X",
                    "matched_name": "X",
                    "score": 0.86,
                }
            ],
        )
        assert review.opened_reason == "manual"
        assert reviews.history(s, review.id)[0].note == "beneficiary bank on watch list"
        with pytest.raises(ValueError):
            reviews.open_review(s, object_type="charge", object_id="ch_1", account_id=None)


def test_list_reviews_pages_newest_first(db: Database) -> None:
    with db.transaction() as s:
        ids = [
            reviews.open_review(
                s, object_type="payout", object_id=f"po_{i}", account_id="acct_1"
            ).id
            for i in range(5)
        ]
        reviews.approve(s, ids[1], actor="a")
        page, more = reviews.list_reviews(s, limit=2)
        assert [r.id for r in page] == [ids[4], ids[3]] and more
        page, more = reviews.list_reviews(s, limit=2, starting_after=ids[3])
        assert [r.id for r in page] == [ids[2], ids[1]] and more
        page, more = reviews.list_reviews(s, limit=10, ending_before=ids[2])
        assert [r.id for r in page] == [ids[4], ids[3]] and not more
        page, _ = reviews.list_reviews(s, open_only=True)
        assert ids[1] not in [r.id for r in page] and len(page) == 4
        assert reviews.review_for_object(s, "payout", "po_1").status == "approved"

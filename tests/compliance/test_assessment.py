"""The pre-authorisation check end to end: evaluate, remember, hold, audit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from compliance import audit, reviews
from compliance.assessment import assess
from compliance.rules import Decision, Party, PaymentContext, ScreeningSnapshot
from compliance.rules.observations import past_payments
from compliance.rules.screening import MatchSnapshot
from core.database import Database

T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
MakeCtx = Callable[..., PaymentContext]
CLEAN = {"payer": ScreeningSnapshot("allow"), "merchant": ScreeningSnapshot("allow")}
MERCHANT = Party(name="Corner Shop LLC", country="US", kind="entity", id="acct_1")


def _ctx(make_ctx: MakeCtx, **kw) -> PaymentContext:
    values = {"merchant": MERCHANT, "card_country": "US", "ip_country": "US"}
    values.update(kw)
    return make_ctx(**values)


def _listed(score: float) -> dict[str, ScreeningSnapshot]:
    match = MatchSnapshot(
        score, "ofac_sdn", "36", "AEROCARIBBEAN AIRLINES", "AEROCARIBBEAN AIRLINES"
    )
    return {**CLEAN, "payer": ScreeningSnapshot("block" if score >= 0.95 else "review", (match,))}


def test_clean_payment_is_allowed_recorded_and_audited(db: Database, make_ctx: MakeCtx) -> None:
    with db.transaction() as s:
        result = assess(s, _ctx(make_ctx, ref="pi_ok", amount=2_500), screenings=CLEAN)
        assert (result.decision, result.review, result.rule_set_version) == (
            Decision.ALLOW,
            None,
            1,
        )
        (recorded,) = past_payments(s)
        # The decision's audit entry is appended at commit (the chain head is locked only
        # for the commit): it is not there yet, and is there once committed.
        assert audit.list_entries(s, ref="pi_ok") == []
    with db.transaction() as s:
        entry = audit.list_entries(s, ref="pi_ok")[0]
        assert audit.verify(s).ok
    assert recorded.decision == "allow" and recorded.context.ref == "pi_ok"
    assert entry.action == "screening.decided"
    assert entry.payload["decision"] == "allow" and entry.payload["parties_screened"] == [
        "merchant",
        "payer",
    ]


def test_listed_payer_is_blocked_without_a_review(db: Database, make_ctx: MakeCtx) -> None:
    with db.transaction() as s:
        result = assess(s, _ctx(make_ctx, ref="pi_sdn"), screenings=_listed(0.99))
    with db.transaction() as s:
        entry = audit.list_entries(s, ref="pi_sdn")[0]
    assert result.decision is Decision.BLOCK and result.review is None
    assert entry.payload["matches"] == [
        {"party": "payer", "list": "ofac_sdn", "entry_id": "36", "score": 0.99}
    ]


def test_probable_match_is_held_and_released_only_after_false_positive(
    db: Database, make_ctx: MakeCtx
) -> None:
    with db.transaction() as s:
        held = assess(s, _ctx(make_ctx, ref="pi_maybe"), screenings=_listed(0.9))
    assert held.decision is Decision.REVIEW
    review_id = held.review.id
    with db.transaction() as s:
        try:
            reviews.approve(s, review_id, actor="ann")
            raise AssertionError("approval must be refused")
        except reviews.ReviewError as exc:
            assert exc.code == "sanctions_unresolved"
    with db.transaction() as s:
        reviews.mark_false_positive(
            s,
            review_id,
            actor="ann",
            match="payer:ofac_sdn:36",
            note="payer is a person, listed entry is an airline",
        )
        outcome = reviews.approve(s, review_id, actor="ann")
        assert audit.verify(s).ok
    assert outcome.next_step is reviews.NextStep.RELEASE
    assert outcome.review.object_id == "pi_maybe"


def test_velocity_accumulates_across_payments(db: Database, make_ctx: MakeCtx) -> None:
    decisions = []
    for i in range(7):
        with db.transaction() as s:
            ctx = _ctx(
                make_ctx, ref=f"pi_v{i}", amount=1_000, occurred_at=T0 + dt.timedelta(minutes=i)
            )
            result = assess(s, ctx, screenings=CLEAN)
            decisions.append((result.decision, [h.rule_id for h in result.evaluation.hits]))
    # velocity.card.hour: more than 5 payments with one card within an hour.
    assert decisions[4] == (Decision.ALLOW, [])
    assert decisions[5] == (Decision.REVIEW, ["velocity.card.hour"])
    assert decisions[6][0] is Decision.REVIEW


def test_structuring_across_payments(db: Database, make_ctx: MakeCtx) -> None:
    results = []
    for i, hours in enumerate([0, 5]):
        with db.transaction() as s:
            ctx = _ctx(
                make_ctx,
                ref=f"pi_s{i}",
                amount=900_000,
                card_fingerprint=f"fp_s{i}",
                occurred_at=T0 + dt.timedelta(hours=hours),
            )
            results.append(assess(s, ctx, screenings=CLEAN))
    assert "structuring.day" not in [h.rule_id for h in results[0].evaluation.hits]
    assert "structuring.day" in [h.rule_id for h in results[1].evaluation.hits]
    assert results[1].decision is Decision.REVIEW


def test_ip_country_is_resolved_when_missing(db: Database, make_ctx: MakeCtx) -> None:
    with db.transaction() as s:
        ctx = _ctx(make_ctx, ref="pi_ip", ip="203.0.113.9", ip_country=None)
        result = assess(s, ctx, screenings=CLEAN, ip_resolver=lambda ip: "IR")
    assert result.context.ip_country == "IR"
    assert result.decision is Decision.BLOCK
    assert "country.embargoed" in [h.rule_id for h in result.evaluation.hits]


def test_cross_border_transfer_without_travel_rule_data_is_held(
    db: Database, make_ctx: MakeCtx
) -> None:
    ctx = _ctx(
        make_ctx,
        ref="po_tr",
        object_type="payout",
        method="sepa_credit_transfer",
        amount=250_000,
        currency="EUR",
        base_amount=270_000,
        cross_border=True,
        card_fingerprint=None,
        beneficiary=Party(name="Hans Weber", country="DE", account="DE89370400440532013000"),
    )
    with db.transaction() as s:
        result = assess(s, ctx, screenings={**CLEAN, "beneficiary": ScreeningSnapshot("allow")})
    assert result.decision is Decision.REVIEW
    assert result.review.object_type == "payout"
    hit = next(h for h in result.evaluation.hits if h.rule_id == "travel_rule.cross_border")
    assert (
        "originator account" in hit.reason and "beneficiary address or date of birth" in hit.reason
    )

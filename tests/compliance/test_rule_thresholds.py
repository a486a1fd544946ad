"""Every built-in rule type at, just below and just above its threshold (table-driven)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from compliance.rules import (
    Decision,
    MemoryHistory,
    Observation,
    Party,
    PaymentContext,
    ScreeningSnapshot,
    evaluate,
    parse_rule_set,
)
from compliance.rules.context import history_keys
from compliance.rules.engine import EvaluationError
from compliance.rules.screening import MatchSnapshot

MakeCtx = Callable[..., PaymentContext]


def one_rule(
    type_: str, params: dict[str, Any], *, decision: str = "review", score: int = 10, **top: Any
):
    return parse_rule_set(
        {
            "name": "t",
            "base_currency": "USD",
            "rules": [
                {"id": "r", "type": type_, "decision": decision, "score": score, "params": params}
            ],
            **top,
        }
    )


def past(
    ctx: PaymentContext,
    n: int,
    *,
    amount: int,
    age: dt.timedelta = dt.timedelta(minutes=1),
    kind: str = "payment",
) -> list[Observation]:
    """``n`` earlier observations under the same keys as ``ctx``."""
    keys = history_keys(ctx)
    return [Observation(f"{kind}_{i}", kind, ctx.occurred_at - age, amount, keys) for i in range(n)]


def hit(rule_set, ctx, **kw) -> Decision | None:
    result = evaluate(rule_set, ctx, **kw)
    return result.hits[0].decision if result.hits else None


# --------------------------------------------------------------------------- amount


@pytest.mark.parametrize(
    ("comparison", "amount", "expected"),
    [
        ("gte", 99_999, None),  # just below 1,000.00
        ("gte", 100_000, Decision.REVIEW),  # at
        ("gte", 100_001, Decision.REVIEW),  # just above
        ("gt", 100_000, None),  # "more than": at is not enough
        ("gt", 100_001, Decision.REVIEW),
    ],
)
def test_amount_threshold(make_ctx: MakeCtx, comparison: str, amount: int, expected) -> None:
    rs = one_rule("amount_threshold", {"amount": "1000.00", "comparison": comparison})
    assert hit(rs, make_ctx(amount=amount)) == expected


@pytest.mark.parametrize(
    ("eur_amount", "base_usd", "expected"),
    [
        (99_999, 120_000, None),  # EUR 999.99 is below EUR 1,000 although USD 1,200 is above base
        (100_000, 108_000, Decision.REVIEW),
        (100_001, 108_001, Decision.REVIEW),
    ],
)
def test_amount_threshold_per_currency_override(
    make_ctx: MakeCtx, eur_amount, base_usd, expected
) -> None:
    rs = one_rule("amount_threshold", {"amount": "1100.00", "currencies": {"EUR": "1000.00"}})
    ctx = make_ctx(amount=eur_amount, currency="EUR", base_amount=base_usd)
    assert hit(rs, ctx) == expected


@pytest.mark.parametrize(
    ("base", "expected"), [(109_999, None), (110_000, Decision.REVIEW), (110_001, Decision.REVIEW)]
)
def test_amount_threshold_other_currencies_use_the_base_amount(
    make_ctx: MakeCtx, base, expected
) -> None:
    rs = one_rule("amount_threshold", {"amount": "1100.00", "currencies": {"EUR": "1000.00"}})
    ctx = make_ctx(amount=80_000, currency="GBP", base_amount=base)
    assert hit(rs, ctx) == expected


# --------------------------------------------------------------------------- velocity


@pytest.mark.parametrize(("before", "expected"), [(1, None), (2, None), (3, Decision.REVIEW)])
def test_velocity_count(make_ctx: MakeCtx, before: int, expected) -> None:
    """max_count 3: the 3rd payment in the window passes (at), the 4th hits (above)."""
    rs = one_rule("velocity", {"key": "card", "window": "1h", "max_count": 3})
    ctx = make_ctx()
    assert hit(rs, ctx, history=MemoryHistory(past(ctx, before, amount=100))) == expected


@pytest.mark.parametrize(
    ("current", "expected"), [(29_999, None), (30_000, None), (30_001, Decision.REVIEW)]
)
def test_velocity_amount(make_ctx: MakeCtx, current: int, expected) -> None:
    """max_amount 1,000.00 including this payment: 700.00 before + 299.99 / 300.00 / 300.01."""
    rs = one_rule("velocity", {"key": "email", "window": "24h", "max_amount": "1000.00"})
    ctx = make_ctx(amount=current)
    assert hit(rs, ctx, history=MemoryHistory(past(ctx, 2, amount=35_000))) == expected


@pytest.mark.parametrize(
    ("age", "counted"),
    [
        (dt.timedelta(hours=1) - dt.timedelta(microseconds=1), True),  # just inside the window
        (dt.timedelta(hours=1), False),  # exactly one window old: out
        (dt.timedelta(hours=1, microseconds=1), False),
        (dt.timedelta(0), True),  # same instant as the payment: in
    ],
)
def test_velocity_window_edges(make_ctx: MakeCtx, age: dt.timedelta, counted: bool) -> None:
    rs = one_rule("velocity", {"key": "ip", "window": "1h", "max_count": 1})
    ctx = make_ctx()
    result = hit(rs, ctx, history=MemoryHistory(past(ctx, 1, amount=100, age=age)))
    assert (result is not None) == counted


@pytest.mark.parametrize("key", ["payer", "card", "email", "ip", "account"])
def test_velocity_counts_only_the_same_key(make_ctx: MakeCtx, key: str) -> None:
    rs = one_rule("velocity", {"key": key, "window": "7d", "max_count": 1})
    ctx = make_ctx()
    other = make_ctx(
        payer=Party(name="Other Person", country="US", id="cus_2"),
        email="other@example.com",
        ip="198.51.100.9",
        card_fingerprint="fp_2",
        account_id="acct_2",
    )
    history = MemoryHistory(past(other, 5, amount=100))
    assert hit(rs, ctx, history=history) is None
    history = MemoryHistory(past(ctx, 1, amount=100))
    assert hit(rs, ctx, history=history) == Decision.REVIEW


def test_velocity_ignores_refunds_and_the_payment_itself(make_ctx: MakeCtx) -> None:
    rs = one_rule("velocity", {"key": "card", "window": "1h", "max_count": 1})
    ctx = make_ctx()
    itself = Observation(ctx.ref, "payment", ctx.occurred_at, ctx.base_amount, history_keys(ctx))
    history = MemoryHistory([itself, *past(ctx, 3, amount=100, kind="refund")])
    assert hit(rs, ctx, history=history) is None


def test_velocity_without_history_is_an_error_not_a_pass(make_ctx: MakeCtx) -> None:
    rs = one_rule("velocity", {"key": "card", "window": "1h", "max_count": 1})
    with pytest.raises(EvaluationError, match="pass a history"):
        evaluate(rs, make_ctx())


# --------------------------------------------------------------------------- structuring

STRUCT = {
    "key": "payer",
    "window": "24h",
    "threshold": "10000.00",
    "floor": "4000.00",
    "min_count": 2,
}


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (500_000, None),  # 5,000 + 5,000 = 10,000: at the threshold, not above
        (500_001, Decision.REVIEW),  # just above
        (499_999, None),  # just below
    ],
)
def test_structuring_total_threshold(make_ctx: MakeCtx, current: int, expected) -> None:
    rs = one_rule("structuring", STRUCT)
    ctx = make_ctx(amount=current)
    assert hit(rs, ctx, history=MemoryHistory(past(ctx, 1, amount=500_000))) == expected


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (399_999, None),  # below the band's floor: not "just under"
        (400_000, Decision.REVIEW),  # at the floor: in the band
        (999_999, Decision.REVIEW),  # just under the threshold
        (1_000_000, None),  # at the threshold: reportable anyway, not structuring
    ],
)
def test_structuring_band_edges_for_the_current_payment(
    make_ctx: MakeCtx, current: int, expected
) -> None:
    rs = one_rule("structuring", STRUCT)
    ctx = make_ctx(amount=current)
    assert hit(rs, ctx, history=MemoryHistory(past(ctx, 1, amount=900_000))) == expected


@pytest.mark.parametrize(
    ("prior_amount", "expected"),
    [(399_999, None), (400_000, Decision.REVIEW), (999_999, Decision.REVIEW), (1_000_000, None)],
)
def test_structuring_counts_only_prior_payments_in_the_band(
    make_ctx: MakeCtx, prior_amount, expected
) -> None:
    rs = one_rule("structuring", STRUCT)
    ctx = make_ctx(amount=900_000)
    assert hit(rs, ctx, history=MemoryHistory(past(ctx, 1, amount=prior_amount))) == expected


@pytest.mark.parametrize(
    ("before", "expected"), [(1, None), (2, Decision.REVIEW), (3, Decision.REVIEW)]
)
def test_structuring_min_count(make_ctx: MakeCtx, before: int, expected) -> None:
    """min_count 3: two in-band payments (below), three (at), four (above)."""
    rs = one_rule("structuring", {**STRUCT, "min_count": 3})
    ctx = make_ctx(amount=900_000)
    assert hit(rs, ctx, history=MemoryHistory(past(ctx, before, amount=900_000))) == expected


# --------------------------------------------------------------------------- country mismatch


@pytest.mark.parametrize(
    ("min_distinct", "card", "payer", "ip", "expected"),
    [
        (2, "US", "US", "US", None),  # one country: below
        (2, "US", "US", "GB", Decision.REVIEW),  # two: at
        (2, "US", "DE", "GB", Decision.REVIEW),  # three: above
        (3, "US", "DE", "DE", None),  # two: below 3
        (3, "US", "DE", "GB", Decision.REVIEW),  # three: at
        (2, "US", "US", None, None),  # unknown IP country is ignored
        (2, None, "US", "GB", Decision.REVIEW),
    ],
)
def test_country_mismatch(make_ctx: MakeCtx, min_distinct, card, payer, ip, expected) -> None:
    rs = one_rule("country_mismatch", {"min_distinct": min_distinct})
    ctx = make_ctx(card_country=card, payer=Party(name="J", country=payer), ip_country=ip)
    assert hit(rs, ctx) == expected


# --------------------------------------------------------------------------- travel rule

COMPLETE_PAYER = Party(
    name="Jane Miller", country="US", account="US-ACC-1", address="1 Main St, Springfield"
)
COMPLETE_BENEFICIARY = Party(
    name="Hans Weber",
    country="DE",
    account="DE89370400440532013000",
    date_of_birth=dt.date(1970, 5, 1),
)


def transfer(make_ctx: MakeCtx, **kw: Any) -> PaymentContext:
    values = {
        "payer": COMPLETE_PAYER,
        "beneficiary": COMPLETE_BENEFICIARY,
        "cross_border": True,
        "method": "sepa_credit_transfer",
        "object_type": "payout",
        "card_fingerprint": None,
    }
    values.update(kw)
    return make_ctx(**values)


@pytest.mark.parametrize(
    ("amount", "expected"), [(99_999, None), (100_000, Decision.REVIEW), (100_001, Decision.REVIEW)]
)
def test_travel_rule_threshold_with_missing_data(make_ctx: MakeCtx, amount: int, expected) -> None:
    rs = one_rule("travel_rule", {"amount": "1000.00"})
    incomplete = Party(name="Hans Weber", country="DE", account="DE89370400440532013000")
    assert hit(rs, transfer(make_ctx, amount=amount, beneficiary=incomplete)) == expected


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ({}, []),
        ({"beneficiary": Party(name="Hans Weber", account="DE89", address="Berlin")}, []),
        ({"beneficiary": Party(account="DE89", address="Berlin")}, ["beneficiary name"]),
        ({"payer": Party(name="Jane", address="x")}, ["originator account"]),
        ({"payer": Party(name="Jane", account="1")}, ["originator address or date of birth"]),
        (
            {"beneficiary": None},
            ["beneficiary name", "beneficiary account", "beneficiary address or date of birth"],
        ),
    ],
)
def test_travel_rule_required_fields(make_ctx: MakeCtx, change, missing) -> None:
    rs = one_rule("travel_rule", {"amount": "1000.00"})
    result = evaluate(rs, transfer(make_ctx, amount=500_000, **change))
    assert [m for h in result.hits for m in h.details["missing"]] == missing


def test_travel_rule_scope(make_ctx: MakeCtx) -> None:
    rs = one_rule("travel_rule", {"amount": "1000.00", "currencies": {"EUR": "1000.00"}})
    bare = {"beneficiary": Party(name="X")}
    assert (
        hit(rs, transfer(make_ctx, amount=500_000, cross_border=False, **bare)) is None
    )  # domestic
    assert (
        hit(rs, transfer(make_ctx, amount=500_000, method="card", **bare)) is None
    )  # card purchase: exempt
    # EUR 999.99 is under EUR 1,000 whatever the base amount.
    assert (
        hit(rs, transfer(make_ctx, amount=99_999, currency="EUR", base_amount=110_000, **bare))
        is None
    )
    assert (
        hit(rs, transfer(make_ctx, amount=100_000, currency="EUR", base_amount=108_000, **bare))
        == Decision.REVIEW
    )


# --------------------------------------------------------------------------- refund ratio


@pytest.mark.parametrize(
    ("payments", "refunds", "expected"),
    [
        (10, 2, None),  # 20% < 30%
        (10, 3, None),  # 30% at the limit: allowed
        (10, 4, Decision.REVIEW),  # 40%
        (100, 31, Decision.REVIEW),  # 31%: just above
        (9, 9, None),  # fewer than min_payments: no judgement
    ],
)
def test_refund_ratio_by_count(make_ctx: MakeCtx, payments: int, refunds: int, expected) -> None:
    rs = one_rule("refund_ratio", {"window": "30d", "max_ratio_percent": 30, "min_payments": 10})
    ctx = make_ctx()
    history = MemoryHistory(
        [
            *past(ctx, payments, amount=1000, age=dt.timedelta(days=3)),
            *past(ctx, refunds, amount=1000, kind="refund", age=dt.timedelta(days=2)),
        ]
    )
    assert hit(rs, ctx, history=history) == expected


@pytest.mark.parametrize(
    ("refunded", "expected"), [(29_999, None), (30_000, None), (30_001, Decision.REVIEW)]
)
def test_refund_ratio_by_amount(make_ctx: MakeCtx, refunded: int, expected) -> None:
    rs = one_rule(
        "refund_ratio",
        {"window": "30d", "max_ratio_percent": 30, "min_payments": 1, "measure": "amount"},
    )
    ctx = make_ctx()
    history = MemoryHistory(
        [*past(ctx, 10, amount=10_000), *past(ctx, 1, amount=refunded, kind="refund")]
    )
    assert hit(rs, ctx, history=history) == expected


def test_refunds_outside_the_window_do_not_count(make_ctx: MakeCtx) -> None:
    rs = one_rule("refund_ratio", {"window": "30d", "max_ratio_percent": 10, "min_payments": 1})
    ctx = make_ctx()
    history = MemoryHistory(
        [
            *past(ctx, 10, amount=100),
            *past(ctx, 10, amount=100, kind="refund", age=dt.timedelta(days=31)),
        ]
    )
    assert hit(rs, ctx, history=history) is None


# --------------------------------------------------------------------------- sanctions


def screened(score: float) -> dict[str, ScreeningSnapshot]:
    match = MatchSnapshot(score, "ofac_sdn", "1234", "DOE, John", "John DOE")
    return {"payer": ScreeningSnapshot("review", (match,))}


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0.8499, None),
        (0.85, Decision.REVIEW),  # at the review score
        (0.8501, Decision.REVIEW),
        (0.9499, Decision.REVIEW),  # just below the block score
        (0.95, Decision.BLOCK),  # at
        (0.9501, Decision.BLOCK),  # just above
    ],
)
def test_sanctions_scores(make_ctx: MakeCtx, score: float, expected) -> None:
    rs = one_rule("sanctions", {"block_at": 0.95, "review_at": 0.85}, decision="block")
    assert hit(rs, make_ctx(), screenings=screened(score)) == expected


def test_sanctions_rule_decision_caps_the_outcome(make_ctx: MakeCtx) -> None:
    rs = one_rule("sanctions", {}, decision="review")
    assert hit(rs, make_ctx(), screenings=screened(0.99)) == Decision.REVIEW


def test_sanctions_hit_lists_matches_for_the_review(make_ctx: MakeCtx) -> None:
    rs = one_rule("sanctions", {"parties": ["payer", "beneficiary"]}, decision="block")
    screenings = {
        **screened(0.97),
        "beneficiary": ScreeningSnapshot(
            "review",
            (
                MatchSnapshot(0.88, "un", "QDi.1", "ACME", "ACME LTD"),
                MatchSnapshot(0.5, "un", "QDi.2", "X", "X"),
            ),
        ),
    }
    ctx = make_ctx(beneficiary=Party(name="Acme Ltd", kind="entity"))
    result = evaluate(rs, ctx, screenings=screenings)
    assert result.decision is Decision.BLOCK
    assert [(m["party"], m["entry_id"]) for m in result.sanctions_matches] == [
        ("payer", "1234"),
        ("beneficiary", "QDi.1"),
    ]


def test_unscreened_named_party_is_held(make_ctx: MakeCtx) -> None:
    rs = one_rule("sanctions", {}, decision="block")
    result = evaluate(
        rs,
        make_ctx(merchant=Party(name="Shop", kind="entity")),
        screenings={"payer": ScreeningSnapshot("allow")},
    )
    assert result.decision is Decision.REVIEW
    assert result.hits[0].details["unscreened"] == ["merchant"]
    # Parties without a name (nothing to screen) are fine.
    assert evaluate(rs, make_ctx(payer=Party()), screenings={}).hits == ()


# --------------------------------------------------------------------------- country lists


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, None),
        ({"payer": Party(name="J", country="IR")}, Decision.BLOCK),
        ({"beneficiary": Party(name="J", country="CU")}, Decision.BLOCK),
        ({"card_country": "KP"}, Decision.BLOCK),
        ({"ip_country": "IR"}, Decision.BLOCK),
        ({"payer": Party(name="J", country="UA", region="UA-43")}, Decision.BLOCK),  # Crimea
        ({"payer": Party(name="J", country="UA", region="UA-30")}, None),  # Kyiv
        ({"payer": Party(name="J", country="RU")}, None),
    ],
)
def test_embargoed_countries(make_ctx: MakeCtx, change, expected) -> None:
    rs = one_rule("country_list", {"list": "embargoed"}, decision="block")
    assert hit(rs, make_ctx(**change)) == expected


def test_country_list_hit_quotes_the_list_date(make_ctx: MakeCtx) -> None:
    rs = one_rule("country_list", {"list": "fatf_call_for_action"})
    result = evaluate(rs, make_ctx(payer=Party(name="J", country="MM")))
    assert result.hits[0].details["as_of"] == "2025-06-13"
    assert "as of 2025-06-13" in result.hits[0].reason


def test_country_list_sources_can_be_narrowed(make_ctx: MakeCtx) -> None:
    rs = one_rule("country_list", {"countries": ["NG"], "sources": ["beneficiary"]})
    assert hit(rs, make_ctx(payer=Party(name="J", country="NG"))) is None
    assert hit(rs, make_ctx(beneficiary=Party(name="J", country="NG"))) == Decision.REVIEW


def test_unknown_country_list_is_an_error(make_ctx: MakeCtx) -> None:
    rs = one_rule("country_list", {"list": "no_such_list"})
    with pytest.raises(LookupError, match="no_such_list"):
        evaluate(rs, make_ctx())


# --------------------------------------------------------------------------- scoring


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (59, Decision.ALLOW),
        (60, Decision.REVIEW),
        (61, Decision.REVIEW),
        (99, Decision.REVIEW),
        (100, Decision.BLOCK),
        (101, Decision.BLOCK),
    ],
)
def test_summed_score_thresholds(make_ctx: MakeCtx, score: int, expected: Decision) -> None:
    """An ``allow`` rule only adds points; the total reaching review_at / block_at escalates."""
    rs = one_rule(
        "amount_threshold",
        {"amount": "1.00"},
        decision="allow",
        score=score,
        scoring={"review_at": 60, "block_at": 100},
    )
    result = evaluate(rs, make_ctx())
    assert result.hits[0].decision is Decision.ALLOW
    assert (result.score, result.decision) == (score, expected)


def test_most_severe_hit_wins_and_all_rules_run(make_ctx: MakeCtx) -> None:
    rs = parse_rule_set(
        {
            "name": "t",
            "base_currency": "USD",
            "rules": [
                {
                    "id": "c",
                    "type": "amount_threshold",
                    "order": 3,
                    "decision": "review",
                    "params": {"amount": "1"},
                },
                {
                    "id": "a",
                    "type": "country_list",
                    "order": 1,
                    "decision": "block",
                    "params": {"countries": ["US"]},
                },
                {
                    "id": "b",
                    "type": "amount_threshold",
                    "order": 2,
                    "decision": "allow",
                    "score": 5,
                    "params": {"amount": "1"},
                },
                {
                    "id": "off",
                    "type": "amount_threshold",
                    "order": 0,
                    "enabled": False,
                    "params": {"amount": "1"},
                },
            ],
        }
    )
    result = evaluate(rs, make_ctx(payer=Party(name="J", country="US")))
    assert [h.rule_id for h in result.hits] == ["a", "b", "c"]
    assert result.decision is Decision.BLOCK
    assert result.rules_evaluated == 3


def test_base_currency_must_match(make_ctx: MakeCtx) -> None:
    rs = one_rule("amount_threshold", {"amount": "1"})
    with pytest.raises(ValueError, match="counts in USD"):
        evaluate(rs, make_ctx(currency="EUR", base_currency="EUR"))


def test_default_rule_set_on_an_ordinary_payment_allows(make_ctx: MakeCtx) -> None:
    from compliance.rules import default_rule_set

    ctx = make_ctx(
        amount=4_200,
        merchant=Party(name="Corner Shop LLC", country="US", kind="entity"),
        card_country="US",
        ip_country="US",
    )
    screenings = {"payer": ScreeningSnapshot("allow"), "merchant": ScreeningSnapshot("allow")}
    result = evaluate(default_rule_set(), ctx, screenings=screenings, history=MemoryHistory())
    assert (result.decision, result.hits) == (Decision.ALLOW, ())

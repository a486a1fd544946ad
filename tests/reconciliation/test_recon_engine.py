"""The pure matching engine: each rule, each outcome, tolerance, determinism; and the
ledger legs a match or a write-off produces."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from settlement.reconciliation import (
    Expected,
    ExpectedKind,
    LineItem,
    Outcome,
    SourceRules,
    StatementKind,
    match,
)
from settlement.reconciliation.effects import (
    item_write_off_legs,
    line_write_off_legs,
    match_legs,
    transfers,
)
from settlement.reconciliation.references import References, line_tokens

D = dt.date(2026, 3, 2)
RULES = SourceRules(window_days=3)


def payout(pid: str, amount: int, day: dt.date = D, **kw: object) -> Expected:
    return Expected(
        ExpectedKind.PAYOUT,
        pid,
        -amount,
        "EUR",
        day,
        {"payout_id": pid, "end_to_end_id": pid.replace("_", "-")},
        **kw,
    )


def settlement(sid: str, amount: int, batch: str | None = None, day: dt.date = D) -> Expected:
    return Expected(ExpectedKind.PROVIDER_SETTLEMENT, sid, amount, "EUR", day, {}, batch=batch)


def transfer(pi: str, amount: int, rf: str, day: dt.date = D) -> Expected:
    return Expected(ExpectedKind.BANK_TRANSFER_CREDIT, pi, amount, "EUR", day, {"rf_reference": rf})


def line(lid: str, amount: int, day: dt.date = D, currency: str = "EUR", **refs: str) -> LineItem:
    return LineItem(lid, amount, currency, day, line_tokens(References(**refs)))


def outcome_of(result, line_id: str) -> tuple[Outcome, str | None, tuple[str, ...]]:
    for group in result.groups:
        if any(li.id == line_id for li in group.lines):
            return group.outcome, group.rule, tuple(e.key for e in group.expected)
    raise AssertionError(line_id)


def test_every_rule_and_every_outcome() -> None:
    items = [
        payout("po_A1", 7_500),
        payout("po_B2", 1_000),
        transfer("pi_bt1", 2_000, "RF18539007547034"),
        transfer("pi_bt2", 4_321, "RF11123456789012345678", day=D - dt.timedelta(days=2)),
        settlement("rcl_s1", 9_680, batch="po_stripe"),
        settlement("rcl_s2", 4_825, batch="po_stripe"),
        settlement("rcl_s3", -2_000, batch="po_stripe"),
        transfer("pi_split", 3_000, "RF7812345"),
        payout("po_C3", 900, day=D - dt.timedelta(days=10)),
        payout("po_future", 500, day=D + dt.timedelta(days=5)),
    ]
    lines = [
        line("l1", -7_500, end_to_end_id="po-A1"),
        line("l2", 2_000, remittance_info="Order 42 rf18 5390 0754 7034 thanks"),
        line("l3", 12_505, remittance_info="STRIPE TRANSFER"),
        line("l4", 3_333, remittance_info="who is this"),
        line("l5", -1_200, remittance_info="payout po_B2"),
        line("l6", 4_321, remittance_info="forgot the reference"),
        line("l7", 1_000, remittance_info="part 1 RF7812345"),
        line("l8", 2_000, remittance_info="part 2 RF7812345"),
    ]
    result = match(lines, items, RULES, D)
    assert outcome_of(result, "l1") == (Outcome.MATCHED, "reference", ("payout:po_A1",))
    assert outcome_of(result, "l2") == (
        Outcome.MATCHED,
        "reference",
        ("bank_transfer_credit:pi_bt1",),
    )
    assert outcome_of(result, "l3") == (
        Outcome.MATCHED,
        "batch",
        ("provider_settlement:rcl_s1", "provider_settlement:rcl_s2", "provider_settlement:rcl_s3"),
    )
    assert outcome_of(result, "l4")[0] is Outcome.UNMATCHED
    assert outcome_of(result, "l5") == (Outcome.MISMATCHED, "reference", ("payout:po_B2",))
    assert outcome_of(result, "l6") == (
        Outcome.MATCHED,
        "amount_date",
        ("bank_transfer_credit:pi_bt2",),
    )
    assert (
        outcome_of(result, "l7")
        == outcome_of(result, "l8")
        == (Outcome.MATCHED, "split", ("bank_transfer_credit:pi_split",))
    )
    expected = result.by_outcome(Outcome.EXPECTED)
    assert [(g.expected[0].id, g.overdue) for g in expected] == [("po_C3", True)]  # not future
    assert result.counts() == {"matched": 6, "expected": 1, "mismatched": 1, "unmatched": 1}
    mismatch = result.by_outcome(Outcome.MISMATCHED)[0]
    assert mismatch.difference == -200
    # Suggestions stay on the same side: an incoming line is no candidate for a payout.
    assert result.by_outcome(Outcome.UNMATCHED)[0].candidates == ()
    assert expected[0].candidates == ()


def test_matching_is_deterministic_whatever_the_input_order() -> None:
    items = [payout(f"po_{n}", 1_000, day=D + dt.timedelta(days=n % 3)) for n in range(20)]
    lines = [line(f"l{n:02d}", -1_000, day=D + dt.timedelta(days=n % 4)) for n in range(15)]
    first = match(lines, items, RULES, D + dt.timedelta(days=5))
    shuffled = items[:]
    random.Random(7).shuffle(shuffled)
    again = match(lines, shuffled, RULES, D + dt.timedelta(days=5))
    pairs = [(g.lines[0].id, g.expected[0].id) for g in first.by_outcome(Outcome.MATCHED)]
    assert pairs == [(g.lines[0].id, g.expected[0].id) for g in again.by_outcome(Outcome.MATCHED)]
    assert len(pairs) == 15
    for g in first.by_outcome(Outcome.MATCHED):  # nearest date wins
        assert abs((g.lines[0].date - g.expected[0].date).days) <= 1


def test_the_date_window_and_timing() -> None:
    items = [payout("po_1", 1_000, day=D)]
    late = [line("l1", -1_000, day=D + dt.timedelta(days=4))]
    result = match(late, items, RULES, D + dt.timedelta(days=4))
    assert result.counts() == {"matched": 0, "expected": 1, "mismatched": 0, "unmatched": 1}
    assert result.by_outcome(Outcome.EXPECTED)[0].overdue
    assert result.by_outcome(Outcome.EXPECTED)[0].candidates == ("l1",)
    assert result.by_outcome(Outcome.UNMATCHED)[0].candidates == ("payout:po_1",)
    wider = match(late, items, SourceRules(window_days=5), D + dt.timedelta(days=4))
    assert wider.counts()["matched"] == 1


def test_tolerance_applies_where_the_source_configures_it() -> None:
    items = [settlement("s1", 10_000), payout("po_9", 5_000)]
    lines = [line("l1", 9_998), line("l2", -5_002, end_to_end_id="po-9")]
    strict = match(lines, items, RULES, D)
    assert strict.counts() == {"matched": 0, "expected": 1, "mismatched": 1, "unmatched": 1}
    loose = match(lines, items, SourceRules(tolerance={"eur": 2}), D)
    assert loose.counts()["matched"] == 2
    assert sorted(g.difference for g in loose.by_outcome(Outcome.MATCHED)) == [-2, -2]
    with pytest.raises(ValueError):
        SourceRules(tolerance={"EUR": -1})


def test_a_currency_mismatch_is_a_mismatch() -> None:
    items = [payout("po_1", 1_000)]
    result = match([line("l1", -1_000, currency="USD", end_to_end_id="po-1")], items, RULES, D)
    assert result.counts()["mismatched"] == 1


def test_a_batch_member_never_matches_alone_and_rules_follow_the_source() -> None:
    items = [settlement("s1", 5_000, batch="po_x"), settlement("s2", 7_000, batch="po_x")]
    result = match([line("l1", 5_000)], items, RULES, D)
    assert result.counts() == {"matched": 0, "expected": 2, "mismatched": 0, "unmatched": 1}
    by_reference = match(
        [line("l1", 12_000, remittance_info="STRIPE po_x")],
        items,
        SourceRules(rules=("reference",)),
        D,
    )
    assert by_reference.groups[0].rule == "batch"
    assert by_reference.counts()["matched"] == 1
    no_batch = match([line("l1", 12_000)], items, SourceRules(rules=("reference",)), D)
    assert no_batch.counts()["matched"] == 0


def test_a_second_line_naming_a_matched_item_is_a_mismatch() -> None:
    items = [payout("po_1", 1_000)]
    lines = [line("l1", -1_000, end_to_end_id="po-1"), line("l2", -1_000, end_to_end_id="po-1")]
    result = match(lines, items, SourceRules(rules=("reference",)), D)
    assert outcome_of(result, "l1")[0] is Outcome.MATCHED
    duplicate = result.by_outcome(Outcome.MISMATCHED)[0]
    assert duplicate.lines[0].id == "l2" and duplicate.candidates == ("payout:po_1",)


def test_match_legs_book_every_minor_unit() -> None:
    bank = StatementKind.BANK
    assert match_legs(bank, 10_000, 0, [settlement("s", 10_000)]) == {
        "bank": 10_000,
        "psp_clearing": -10_000,
    }
    # A payout's own leg is the payouts side's: only the difference is reconciliation's.
    assert match_legs(bank, -7_500, 0, [payout("po_1", 7_500)]) == {}
    assert match_legs(bank, -7_502, 0, [payout("po_1", 7_500)]) == {
        "bank": -2,
        "reconciliation_differences": 2,
    }
    provider = match_legs(StatementKind.PROVIDER, 10_000, 320, [settlement("pi_1", 10_000)])
    assert provider == {"psp_clearing": -320, "provider_fees": 320}
    assert line_write_off_legs(bank, 3_333, "reconciliation_suspense") == {
        "bank": 3_333,
        "reconciliation_suspense": -3_333,
    }
    assert line_write_off_legs(StatementKind.PROVIDER, 1_000, "reconciliation_suspense", 50) == {
        "psp_clearing": 950,
        "provider_fees": 50,
        "reconciliation_suspense": -1_000,
    }
    paid = payout("po_2", 900, booked_at_bank=True)
    assert item_write_off_legs(paid, "reconciliation_suspense") == {
        "bank": 900,
        "reconciliation_suspense": -900,
    }
    with pytest.raises(ValueError, match="fail the payout"):
        item_write_off_legs(payout("po_3", 900), "reconciliation_suspense")
    specs = transfers(
        {"bank": 10_000, "psp_clearing": -9_998, "reconciliation_differences": -2},
        {"bank": "B", "psp_clearing": "P", "reconciliation_differences": "D"},
        "EUR",
        id_prefix="recon:x",
        code="c",
        reference="r",
        anchor="bank",
    )
    assert [(s.debit, s.credit, s.amount) for s in specs] == [("B", "P", 9_998), ("B", "D", 2)]

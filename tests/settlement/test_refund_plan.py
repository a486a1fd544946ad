"""Refund posting plans: proportional, cumulative, under both fee policies."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest

from settlement.fees import FeeSchedule, FeeType, RefundFeePolicy
from settlement.fx import LockedRate
from settlement.posting import (
    AccountRef,
    CaptureRequest,
    PostingError,
    RefundRequest,
    plan_capture,
    plan_refund,
)

MERCHANT = "acct_berlin"
RATE = LockedRate("JPY", "EUR", Decimal("0.00595947556615018"), 0, "ecb", dt.date(2024, 6, 14))
KEPT = FeeSchedule(percent_ppm=29_000, fixed={"EUR": 30}, cross_border_ppm=10_000)
RETURNED = FeeSchedule(
    percent_ppm=29_000,
    fixed={"EUR": 30},
    cross_border_ppm=10_000,
    refund_fixed={"EUR": 15},
    refund_fee_policy=RefundFeePolicy.RETURNED,
)


def capture(schedule: FeeSchedule, rate: LockedRate | None = RATE):
    presentment = "JPY" if rate else "EUR"
    return plan_capture(
        CaptureRequest("pi_story", MERCHANT, 12_000, presentment, "EUR", schedule, "DE", "JP", rate)
    )


def refund(captured, schedule, amount, before, refund_id="re_1", residual=Decimal(0)):
    return plan_refund(
        RefundRequest(refund_id, captured.figures(), amount, before, schedule),
        rounding_residual=residual,
    )


def test_half_refund_with_fees_kept() -> None:
    captured = capture(KEPT)
    plan = refund(captured, KEPT, 6_000, 0)
    # 6000 JPY x (1/167.8) = 3575.685339690108 cents -> 3576; the merchant bears the fees
    assert plan.converted == 3576
    assert plan.fees_returned == () and plan.refund_fee is None
    assert plan.merchant_debit == 3576
    balances = plan.journal.balances()
    assert balances == {
        AccountRef("platform", "fx_position", "JPY"): 6_000,
        AccountRef("platform", "psp_clearing", "JPY"): -6_000,
        AccountRef(MERCHANT, "merchant_pending", "EUR"): 3576,
        AccountRef("platform", "fx_position", "EUR"): -3576,
    }
    # The refund carries back the remainder of the refunded half, cumulatively:
    # before = 0 (nothing refunded), after = 3575.685339690108 - 3576 = -0.314660309892
    assert plan.rounding is not None
    assert plan.rounding.remainder == Decimal("0.314660309892")
    bt = plan.balance_transaction()
    assert (bt.amount, bt.fee, bt.net, bt.type) == (-3576, 0, -3576, "refund")


def test_fees_returned_in_proportion_and_refund_fee_charged() -> None:
    captured = capture(RETURNED)
    assert [(line.type, line.amount) for line in captured.fees.lines] == [
        (FeeType.CORRIDOR_FEE, 237),
        (FeeType.CROSS_BORDER_FEE, 72),
    ]
    plan = refund(captured, RETURNED, 6_000, 0)
    # half of 237 = 118.5 -> 119 (half up); half of 72 = 36
    assert [(line.type, line.amount) for line in plan.fees_returned] == [
        (FeeType.CORRIDOR_FEE, 119),
        (FeeType.CROSS_BORDER_FEE, 36),
    ]
    assert plan.refund_fee is not None and plan.refund_fee.amount == 15
    assert plan.merchant_debit == 3576 - 155 + 15
    balances = plan.journal.balances()
    assert balances[AccountRef(MERCHANT, "merchant_pending", "EUR")] == 3576 - 155 + 15
    assert balances[AccountRef("platform", "platform_fees", "EUR")] == 155 - 15
    bt = plan.balance_transaction()
    assert bt.fee == -155 + 15 and bt.net == -3576 + 140
    assert [d["amount"] for d in bt.as_stripe_fields()["fee_details"]] == [-119, -36, 15]


@pytest.mark.parametrize("schedule", [KEPT, RETURNED])
@pytest.mark.parametrize("rate", [RATE, None])
def test_partial_refunds_add_up_to_the_capture(schedule: FeeSchedule, rate) -> None:
    captured = capture(schedule, rate)
    residual = captured.rounding.residual_after if captured.rounding else Decimal(0)
    total: Counter[AccountRef] = Counter(captured.journal.balances())
    refunded, units = 0, captured.rounding.units if captured.rounding else 0
    for number, amount in enumerate([1, 2_999, 7, 4_321, 3_333, 1_339], start=1):
        plan = refund(captured, schedule, amount, refunded, f"re_{number}", residual)
        assert plan.journal.is_balanced()
        total.update(plan.journal.balances())
        refunded += amount
        if plan.rounding:
            residual, units = plan.rounding.residual_after, units + plan.rounding.units
    assert refunded == 12_000
    refund_fees = 6 * schedule.refund_fee("EUR")
    kept = captured.fee if schedule.refund_fee_policy is RefundFeePolicy.KEPT else 0
    presentment = "JPY" if rate else "EUR"
    assert total[AccountRef("platform", "psp_clearing", presentment)] == 0
    assert total[AccountRef(MERCHANT, "merchant_pending", "EUR")] == kept + refund_fees
    assert total[AccountRef("platform", "platform_fees", "EUR")] == -(kept + refund_fees)
    fx_eur = total[AccountRef("platform", "fx_position", "EUR")]
    assert fx_eur + total[AccountRef("platform", "fx_rounding", "EUR")] == 0
    assert total[AccountRef("platform", "fx_position", "JPY")] == 0
    assert units + residual == 0  # every carried fraction came back


def test_refund_beyond_the_capture_is_refused() -> None:
    captured = capture(KEPT)
    with pytest.raises(PostingError, match="exceeds the 12000 JPY captured"):
        refund(captured, KEPT, 6_001, 6_000)
    with pytest.raises(PostingError):
        refund(captured, KEPT, 0, 0)
    with pytest.raises(PostingError):
        refund(captured, KEPT, 10, -1)

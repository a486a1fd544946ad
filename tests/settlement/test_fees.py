"""Fee schedules and their integer arithmetic (half up, per line, in settlement currency)."""

from __future__ import annotations

import pytest

from core.database import Database
from settlement.fees import (
    FeeSchedule,
    FeeScheduleMissing,
    FeeType,
    RefundFeePolicy,
    capture_fees,
    fee_schedule_for,
    is_cross_border,
    payout_fee,
    ppm_of,
    refund_fee,
    save_fee_schedule,
)

STANDARD = FeeSchedule(
    percent_ppm=29_000,  # 2.9 %
    fixed={"EUR": 30, "usd": 30, "JPY": 40},
    cross_border_ppm=10_000,  # 1 %
    fx_markup_ppm=5_000,  # 0.5 %
)


def test_half_up_is_integer_and_exact_at_the_tie() -> None:
    assert ppm_of(7151, 29_000) == 207  # 207.379 -> 207
    assert ppm_of(7151, 10_000) == 72  # 71.51 -> 72
    assert ppm_of(50, 10_000) == 1  # 0.5 -> 1 (half up)
    assert ppm_of(49, 10_000) == 0  # 0.49 -> 0
    assert ppm_of(150, 10_000) == 2  # 1.5 -> 2
    assert ppm_of(250, 10_000) == 3  # 2.5 -> 3 (not banker's)
    assert ppm_of(10**15, 1) == 10**9
    assert ppm_of(0, 29_000) == 0
    with pytest.raises(ValueError):
        ppm_of(-1, 100)


def test_fractional_basis_points() -> None:
    # 1.25 bp = 125 ppm of 1,000,000.00 EUR = 125.00 EUR
    assert ppm_of(100_000_000, 125) == 12_500
    schedule = FeeSchedule(percent_ppm=125)
    assert (
        capture_fees(schedule, 100_000_000, "EUR", cross_border=False, fx_markup_ppm=None).total
        == 12_500
    )


def test_each_component_is_its_own_line() -> None:
    domestic = capture_fees(STANDARD, 10_000, "EUR", cross_border=False, fx_markup_ppm=None)
    assert [(line.type, line.amount) for line in domestic.lines] == [
        (FeeType.CORRIDOR_FEE, 290 + 30)
    ]
    foreign = capture_fees(STANDARD, 10_000, "EUR", cross_border=True, fx_markup_ppm=None)
    assert foreign.amount_of(FeeType.CROSS_BORDER_FEE) == 100
    converted = capture_fees(STANDARD, 10_000, "EUR", cross_border=True, fx_markup_ppm=5_000)
    assert converted.amount_of(FeeType.FX_FEE) == 50
    assert converted.total == 320 + 100 + 50
    assert converted.fee_details() == [
        {
            "amount": 320,
            "application": None,
            "currency": "eur",
            "description": "Corridor processing fees",
            "type": "corridor_fee",
        },
        {
            "amount": 100,
            "application": None,
            "currency": "eur",
            "description": "Cross-border card surcharge",
            "type": "cross_border_fee",
        },
        {
            "amount": 50,
            "application": None,
            "currency": "eur",
            "description": "Currency conversion fee",
            "type": "fx_fee",
        },
    ]


def test_fixed_fee_is_per_currency_and_absent_means_none() -> None:
    jpy = capture_fees(STANDARD, 12_000, "JPY", cross_border=False, fx_markup_ppm=None)
    assert jpy.total == 348 + 40  # 2.9 % of 12,000 JPY = 348 JPY, + 40 JPY
    gbp = capture_fees(STANDARD, 10_000, "GBP", cross_border=False, fx_markup_ppm=None)
    assert gbp.total == 290


def test_minimum_fee_tops_up_the_processing_line() -> None:
    schedule = FeeSchedule(percent_ppm=10_000, cross_border_ppm=5_000, minimum={"EUR": 50})
    small = capture_fees(schedule, 1_000, "EUR", cross_border=True, fx_markup_ppm=None)
    assert small.total == 50
    assert small.amount_of(FeeType.CORRIDOR_FEE) == 45  # 10 + 35 top-up
    assert small.amount_of(FeeType.CROSS_BORDER_FEE) == 5
    large = capture_fees(schedule, 100_000, "EUR", cross_border=True, fx_markup_ppm=None)
    assert large.total == 1_500  # above the minimum: untouched
    # A minimum in another currency does not apply.
    assert capture_fees(schedule, 1_000, "USD", cross_border=False, fx_markup_ppm=None).total == 10


def test_zero_lines_are_left_out() -> None:
    assert (
        capture_fees(FeeSchedule(), 10_000, "EUR", cross_border=True, fx_markup_ppm=0).lines == ()
    )


def test_cross_border_means_card_issued_elsewhere() -> None:
    assert is_cross_border("JP", "DE")
    assert not is_cross_border("de", "DE")
    assert not is_cross_border(None, "DE")  # no card: a wallet or bank transfer


def test_refund_and_payout_fees() -> None:
    schedule = FeeSchedule(refund_fixed={"EUR": 25}, payout_fixed={"USD": 100})
    line = refund_fee(schedule, "EUR")
    assert line is not None and (line.amount, line.type) == (25, FeeType.CORRIDOR_FEE)
    assert refund_fee(schedule, "USD") is None
    payout = payout_fee(schedule, "usd")
    assert payout is not None and (payout.amount, payout.currency) == (100, "USD")
    assert payout_fee(schedule, "EUR") is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"percent_ppm": -1},
        {"percent_ppm": 1_000_001},
        {"cross_border_ppm": 1.5},
        {"fixed": {"EUR": -1}},
        {"fixed": {"EUR": 0.3}},
        {"minimum": {"EURO": 10}},
        {"refund_fee_policy": "sometimes"},
        {"owner": ""},
    ],
)
def test_schedules_are_validated(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        FeeSchedule(**kwargs)


def test_stored_schedules_account_first_then_platform_default(db: Database) -> None:
    with db.transaction() as session:
        with pytest.raises(FeeScheduleMissing):
            fee_schedule_for(session, "acct_1")
        default = save_fee_schedule(session, STANDARD)
        assert default.id is not None and default.id.startswith("fs_")
        assert default.is_default
        special = save_fee_schedule(
            session,
            FeeSchedule(
                owner="acct_vip",
                percent_ppm=14_000,
                fixed={"EUR": 10},
                refund_fixed={"EUR": 0},
                refund_fee_policy=RefundFeePolicy.RETURNED,
            ),
        )
    with db.transaction() as session:
        assert fee_schedule_for(session, "acct_1") == default
        vip = fee_schedule_for(session, "acct_vip")
        assert vip == special
        assert vip.refund_fee_policy is RefundFeePolicy.RETURNED
        assert dict(vip.fixed) == {"EUR": 10}
        # Saving again replaces the account's schedule in place.
        updated = save_fee_schedule(session, FeeSchedule(owner="acct_vip", percent_ppm=15_000))
        assert updated.id == special.id
    with db.transaction() as session:
        vip = fee_schedule_for(session, "acct_vip")
        assert vip.percent_ppm == 15_000 and dict(vip.fixed) == {}
        assert dict(fee_schedule_for(session, "acct_2").fixed) == {"EUR": 30, "JPY": 40, "USD": 30}

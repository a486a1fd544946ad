"""Payout schedules, cut-offs and the rolling reserve: pure arithmetic over settings."""

from __future__ import annotations

import datetime as dt

import pytest

from settlement.reserve import ReserveError, ReservePolicy, reserve_policy
from settlement.schedule import (
    PayoutSchedule,
    ScheduleError,
    cut_off,
    latest_cut_off,
    minimum_payout,
    next_business_day,
    payout_due,
    payout_schedule,
)

MONDAY = dt.date(2025, 3, 3)


def days(start: dt.date, count: int) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range(count)]


def test_defaults_are_stripes_daily_t_plus_two() -> None:
    assert payout_schedule({}) == PayoutSchedule("daily", 2, "monday", 1)
    assert payout_schedule(None) == PayoutSchedule()
    schedule = payout_schedule({"payouts": {"schedule": {"delay_days": "minimum"}}})
    assert schedule.delay_days == 2


def test_daily_weekly_monthly_and_manual() -> None:
    two_weeks = days(MONDAY, 14)
    daily = payout_schedule({"payouts": {"schedule": {"interval": "daily"}}})
    assert all(payout_due(daily, day) for day in two_weeks)
    manual = payout_schedule({"payouts": {"schedule": {"interval": "manual"}}})
    assert not any(payout_due(manual, day) for day in two_weeks)
    assert not manual.automatic
    weekly = payout_schedule(
        {"payouts": {"schedule": {"interval": "weekly", "weekly_anchor": "Friday"}}}
    )
    assert [d for d in two_weeks if payout_due(weekly, d)] == [
        dt.date(2025, 3, 7),
        dt.date(2025, 3, 14),
    ]
    monthly = payout_schedule({"payouts": {"schedule": {"interval": "monthly"}}})
    year = days(dt.date(2025, 1, 1), 365)
    assert [d for d in year if payout_due(monthly, d)] == [
        dt.date(2025, m, 1) for m in range(1, 13)
    ]


def test_monthly_anchor_past_the_month_end_pays_on_its_last_day() -> None:
    schedule = PayoutSchedule(interval="monthly", monthly_anchor=31)
    year = days(dt.date(2024, 1, 1), 366)
    due = [d for d in year if payout_due(schedule, d)]
    assert len(due) == 12
    assert dt.date(2024, 2, 29) in due  # leap year
    assert dt.date(2024, 4, 30) in due
    assert dt.date(2024, 1, 31) in due


@pytest.mark.parametrize(
    ("schedule", "param"),
    [
        ({"interval": "hourly"}, "settings[payouts][schedule][interval]"),
        ({"delay_days": -1}, "settings[payouts][schedule][delay_days]"),
        ({"delay_days": "2"}, "settings[payouts][schedule][delay_days]"),
        (
            {"interval": "weekly", "weekly_anchor": "funday"},
            "settings[payouts][schedule][weekly_anchor]",
        ),
        ({"monthly_anchor": 32}, "settings[payouts][schedule][monthly_anchor]"),
    ],
)
def test_bad_schedules_name_their_setting(schedule: dict, param: str) -> None:
    with pytest.raises(ScheduleError) as raised:
        payout_schedule({"payouts": {"schedule": schedule}})
    assert raised.value.param == param


def test_cut_offs_are_midnight_utc() -> None:
    assert cut_off(MONDAY) == dt.datetime(2025, 3, 3, tzinfo=dt.UTC)
    late_in_tokyo = dt.datetime(2025, 3, 4, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    assert latest_cut_off(late_in_tokyo) == dt.datetime(2025, 3, 3, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="UTC-aware"):
        latest_cut_off(dt.datetime(2025, 3, 3, 12))


def test_minimum_payout_defaults_to_one_major_unit() -> None:
    assert minimum_payout({}, "EUR") == 100
    assert minimum_payout({}, "JPY") == 1
    assert minimum_payout({}, "BHD") == 1000
    assert minimum_payout({"payouts": {"minimum_amount": 5000}}, "EUR") == 5000
    with pytest.raises(ScheduleError):
        minimum_payout({"payouts": {"minimum_amount": 0}}, "EUR")
    with pytest.raises(ScheduleError):
        minimum_payout({"payouts": {"minimum_amount": 1.5}}, "EUR")


def test_business_days_skip_weekends() -> None:
    friday = dt.date(2025, 3, 7)
    assert next_business_day(friday) == dt.date(2025, 3, 10)
    assert next_business_day(MONDAY) == dt.date(2025, 3, 4)
    assert next_business_day(friday, 2) == dt.date(2025, 3, 11)


# -- reserve ------------------------------------------------------------------------------


def test_reserve_from_percent_or_ppm() -> None:
    assert reserve_policy({}) == ReservePolicy(0, 0)
    assert reserve_policy({"reserve": {"percent": 10, "days": 90}}) == ReservePolicy(100_000, 90)
    assert reserve_policy({"reserve": {"ppm": 12_500, "days": 30}}) == ReservePolicy(12_500, 30)
    assert not reserve_policy({"reserve": {"percent": 0, "days": 30}}).active


@pytest.mark.parametrize(
    "reserve",
    [
        {"percent": 101, "days": 1},
        {"percent": 10.5, "days": 1},
        {"percent": 10, "ppm": 100_000, "days": 1},
        {"ppm": 1_000_001, "days": 1},
        {"percent": 10, "days": -1},
        {"percent": 10, "days": 5000},
        "10%",
    ],
)
def test_bad_reserves_are_refused(reserve: object) -> None:
    with pytest.raises(ReserveError):
        reserve_policy({"reserve": reserve})


def test_reserve_rounds_toward_zero_and_the_parts_add_up() -> None:
    ten_percent = ReservePolicy(100_000, 30)
    assert ten_percent.held(6842) == 684  # 684.2 -> 684, 6158 stays available
    assert ten_percent.held(9) == 0
    assert ten_percent.held(10) == 1
    assert ten_percent.held(0) == 0
    assert ten_percent.held(-500) == 0  # a negative run holds nothing
    odd = ReservePolicy(333_333, 1)
    for net in range(0, 2000, 7):
        held = odd.held(net)
        assert 0 <= held <= net
        assert held == (net * 333_333) // 1_000_000
        assert held + (net - held) == net
    everything = ReservePolicy(1_000_000, 1)
    assert everything.held(12_345) == 12_345
    start = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)
    assert ten_percent.release_on(start) == dt.datetime(2025, 4, 2, tzinfo=dt.UTC)

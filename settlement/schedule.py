"""Payout schedules and settlement cut-offs: pure date arithmetic over ``account.settings``.

Two clocks drive a merchant's money, as at Stripe:

* **Availability** (``settings.payouts.schedule.delay_days``, T+N): a capture's
  BalanceTransaction becomes due ``N`` calendar days after capture, at midnight UTC
  (``settlement.booking.available_on``). Settlement runs move what is due from
  ``merchant_pending`` to ``merchant_available`` **every day**, whatever the payout
  interval, because availability does not wait for a payout.
* **Payouts** (``interval``): ``manual`` (the merchant asks, ``POST /v1/payouts``),
  ``daily`` (every calendar day), ``weekly`` (on ``weekly_anchor``, a weekday name) or
  ``monthly`` (on ``monthly_anchor``, 1-31; in a shorter month, on its last day).
  An automatic payout pays out the whole available balance, less the payout fee, when it
  reaches ``settings.payouts.minimum_amount`` (minor units of the settlement currency;
  default one major unit, e.g. 100 for EUR, 1 for JPY).

A **cut-off** is an instant: a run with cut-off ``t`` settles the BalanceTransactions
whose ``available_on <= t``. The daily run of day ``D`` uses midnight UTC at the start
of ``D`` (:func:`cut_off`), which is exactly the ``available_on`` of everything that
became due on ``D``.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from core.money import check_minor, exponent

Interval = Literal["manual", "daily", "weekly", "monthly"]
INTERVALS: Final = ("manual", "daily", "weekly", "monthly")
WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_DELAY_DAYS: Final = 2
MAX_DELAY_DAYS: Final = 365
_PARAM: Final = "settings[payouts][schedule]"


class ScheduleError(ValueError):
    """A payout schedule that cannot be followed; ``param`` names the offending setting."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class PayoutSchedule:
    interval: Interval = "daily"
    delay_days: int = DEFAULT_DELAY_DAYS
    weekly_anchor: str = "monday"
    monthly_anchor: int = 1

    def __post_init__(self) -> None:
        if self.interval not in INTERVALS:
            raise ScheduleError(
                f"interval must be one of {', '.join(INTERVALS)}", f"{_PARAM}[interval]"
            )
        if type(self.delay_days) is not int or not 0 <= self.delay_days <= MAX_DELAY_DAYS:
            raise ScheduleError(
                f"delay_days must be an integer from 0 to {MAX_DELAY_DAYS}",
                f"{_PARAM}[delay_days]",
            )
        if self.weekly_anchor not in WEEKDAYS:
            raise ScheduleError("weekly_anchor must be a weekday name", f"{_PARAM}[weekly_anchor]")
        if type(self.monthly_anchor) is not int or not 1 <= self.monthly_anchor <= 31:
            raise ScheduleError(
                "monthly_anchor must be a day of the month, 1-31", f"{_PARAM}[monthly_anchor]"
            )

    @property
    def automatic(self) -> bool:
        return self.interval != "manual"


def payout_schedule(settings: Mapping[str, Any] | None) -> PayoutSchedule:
    """The schedule in ``account.settings`` (Stripe's ``settings.payouts.schedule``).

    Missing fields take Stripe's defaults (daily, T+2, Monday, the 1st);
    ``delay_days: "minimum"`` means the default delay.
    """
    raw = ((settings or {}).get("payouts") or {}).get("schedule") or {}
    if not isinstance(raw, Mapping):
        raise ScheduleError("the payout schedule must be an object", _PARAM)
    delay = raw.get("delay_days", DEFAULT_DELAY_DAYS)
    if delay == "minimum" or delay is None:
        delay = DEFAULT_DELAY_DAYS
    return PayoutSchedule(
        interval=raw.get("interval") or "daily",
        delay_days=delay,
        weekly_anchor=(raw.get("weekly_anchor") or "monday").lower(),
        monthly_anchor=raw.get("monthly_anchor") or 1,
    )


def payout_due(schedule: PayoutSchedule, day: dt.date) -> bool:
    """Whether an automatic payout is scheduled on ``day``."""
    if schedule.interval == "manual":
        return False
    if schedule.interval == "daily":
        return True
    if schedule.interval == "weekly":
        return day.weekday() == WEEKDAYS.index(schedule.weekly_anchor)
    last = calendar.monthrange(day.year, day.month)[1]
    return day.day == min(schedule.monthly_anchor, last)


def cut_off(day: dt.date) -> dt.datetime:
    """The cut-off of the daily run of ``day``: midnight UTC at its start."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def latest_cut_off(now: dt.datetime) -> dt.datetime:
    """The most recent daily cut-off at or before ``now`` (UTC-aware)."""
    if now.tzinfo is None:
        raise ValueError("cut-offs are computed from UTC-aware datetimes")
    return cut_off(now.astimezone(dt.UTC).date())


def minimum_payout(settings: Mapping[str, Any] | None, currency: str) -> int:
    """The smallest automatic payout, in minor units of ``currency``."""
    raw = ((settings or {}).get("payouts") or {}).get("minimum_amount")
    if raw is None:
        return 10 ** exponent(currency)
    try:
        amount = check_minor(raw)
    except ValueError as exc:
        raise ScheduleError(str(exc), "settings[payouts][minimum_amount]") from exc
    if amount < 1:
        raise ScheduleError(
            "minimum_amount must be a positive amount", "settings[payouts][minimum_amount]"
        )
    return amount


def next_business_day(day: dt.date, business_days: int = 1) -> dt.date:
    """``day`` plus ``business_days`` Monday-to-Friday days (bank holidays are not modelled)."""
    current = day
    remaining = business_days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current

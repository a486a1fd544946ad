"""Fees: schedules (per account, platform default) and their integer arithmetic."""

from settlement.fees.compute import (
    FEE_ROUNDING,
    FeeLine,
    Fees,
    FeeType,
    capture_fees,
    is_cross_border,
    payout_fee,
    ppm_of,
    refund_fee,
)
from settlement.fees.schedule import PLATFORM_OWNER, FeeSchedule, RefundFeePolicy
from settlement.fees.store import (
    FeeScheduleMissing,
    FeeScheduleRecord,
    fee_schedule_for,
    save_fee_schedule,
)

__all__ = [
    "FEE_ROUNDING",
    "PLATFORM_OWNER",
    "FeeLine",
    "FeeSchedule",
    "FeeScheduleMissing",
    "FeeScheduleRecord",
    "FeeType",
    "Fees",
    "RefundFeePolicy",
    "capture_fees",
    "fee_schedule_for",
    "is_cross_border",
    "payout_fee",
    "ppm_of",
    "refund_fee",
    "save_fee_schedule",
]

"""Pure posting plans: what a capture or refund moves in the ledger; its BalanceTransaction."""

from settlement.posting.balance_transaction import BalanceTransactionData
from settlement.posting.capture import (
    CaptureFigures,
    CapturePlan,
    CaptureRequest,
    PostingError,
    capture_rate,
    plan_capture,
)
from settlement.posting.journal import (
    FX_POSITION,
    FX_ROUNDING,
    MERCHANT_PENDING,
    PLATFORM_FEES,
    PSP_CLEARING,
    AccountRef,
    JournalPlan,
    Leg,
    PlannedTransfer,
)
from settlement.posting.refund import RefundPlan, RefundRequest, plan_refund

__all__ = [
    "FX_POSITION",
    "FX_ROUNDING",
    "MERCHANT_PENDING",
    "PLATFORM_FEES",
    "PSP_CLEARING",
    "AccountRef",
    "BalanceTransactionData",
    "CaptureFigures",
    "CapturePlan",
    "CaptureRequest",
    "JournalPlan",
    "Leg",
    "PlannedTransfer",
    "PostingError",
    "RefundPlan",
    "RefundRequest",
    "capture_rate",
    "plan_capture",
    "plan_refund",
]

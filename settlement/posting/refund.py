"""The refund posting plan: reverse a capture in proportion, under the fee policy.

A refund of ``amount`` (presentment currency S) after ``already_refunded`` is priced
**cumulatively** against the capture, so that any sequence of partial refunds adds up
to exactly the capture when the payment is fully refunded:

* settlement amount: ``round(refunded_so_far x capture rate)`` with the capture's own
  rate and rounding mode, minus the same for the refunds before. A full refund returns
  exactly the capture's converted amount; the FX remainder the capture carried to
  ``fx_rounding`` is carried back in the same cumulative way (so it nets to zero);
* fees (policy ``returned``): each capture fee line in proportion,
  ``round_half_up(line x refunded_so_far / gross)`` minus the same before; with policy
  ``kept`` no fee comes back;
* the schedule's refund fee (fixed, settlement currency) is charged on top.

Ledger (cross-currency; without conversion ``psp_clearing(T)`` replaces both
``fx_position`` accounts)::

    S  debit fx_position(S)           credit psp_clearing(S)       amount
    T  debit merchant_pending(acct)   credit fx_position(T)        converted share - fees returned
    T  debit platform_fees            credit fx_position(T)        each fee line returned
    T  debit merchant_pending(acct)   credit platform_fees         refund fee
    T  fx_rounding units as in the capture (see settlement.fx.rounding)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.money import check_minor
from settlement.fees.compute import FeeLine, refund_fee
from settlement.fees.schedule import PLATFORM_OWNER, FeeSchedule, RefundFeePolicy
from settlement.fx.conversion import convert
from settlement.fx.rates import exact_context
from settlement.fx.rounding import RoundingCarry, carry
from settlement.posting.balance_transaction import BalanceTransactionData
from settlement.posting.capture import CaptureFigures, PostingError, book_rounding, decimal_text
from settlement.posting.journal import (
    FX_POSITION,
    MERCHANT_PENDING,
    PLATFORM_FEES,
    PSP_CLEARING,
    AccountRef,
    JournalBuilder,
    JournalPlan,
)


@dataclass(frozen=True)
class RefundRequest:
    refund_id: str
    capture: CaptureFigures
    amount: int
    already_refunded: int
    fee_schedule: FeeSchedule


@dataclass(frozen=True)
class RefundPlan:
    request: RefundRequest
    journal: JournalPlan
    converted: int
    fees_returned: tuple[FeeLine, ...]
    refund_fee: FeeLine | None
    rounding: RoundingCarry | None

    @property
    def fee_lines(self) -> tuple[FeeLine, ...]:
        """As on the BalanceTransaction: returned fees negative, the refund fee positive."""
        returned = tuple(
            FeeLine(line.type, -line.amount, line.currency, line.description)
            for line in self.fees_returned
        )
        return returned + ((self.refund_fee,) if self.refund_fee else ())

    @property
    def fee(self) -> int:
        return sum(line.amount for line in self.fee_lines)

    @property
    def merchant_debit(self) -> int:
        """What leaves ``merchant_pending``: the converted share plus the net fee change."""
        return self.converted + self.fee

    def balance_transaction(self) -> BalanceTransactionData:
        capture = self.request.capture
        return BalanceTransactionData(
            type="refund",
            reporting_category="refund",
            source=self.request.refund_id,
            amount=-self.converted,
            currency=capture.settlement_currency,
            fee=self.fee,
            fee_details=self.fee_lines,
            net=-self.converted - self.fee,
            exchange_rate=capture.rate.mid if capture.rate else None,
        )


def share_half_up(whole: int, part: int, total: int) -> int:
    """``whole * part / total`` rounded half up (all non-negative, ``total`` > 0)."""
    return (2 * whole * part + total) // (2 * total)


def _converted_so_far(capture: CaptureFigures, refunded: int) -> tuple[int, Decimal]:
    """Settlement amount and FX remainder of ``refunded`` presentment units at the capture."""
    if capture.rate is None:
        return refunded, Decimal(0)
    conversion = convert(
        refunded,
        capture.presentment_currency,
        capture.settlement_currency,
        capture.rate,
        capture.rounding,
    )
    return conversion.amount_out, conversion.remainder


def _check(request: RefundRequest) -> None:
    capture = request.capture
    if check_minor(request.amount) <= 0:
        raise PostingError(f"a refund needs a positive amount, got {request.amount}")
    if check_minor(request.already_refunded) < 0:
        raise PostingError("already_refunded cannot be negative")
    if request.already_refunded + request.amount > capture.amount:
        raise PostingError(
            f"refunding {request.amount} after {request.already_refunded} exceeds the "
            f"{capture.amount} {capture.presentment_currency} captured"
        )


def plan_refund(request: RefundRequest, *, rounding_residual: Decimal = Decimal(0)) -> RefundPlan:
    """Plan the refund journal; ``rounding_residual`` as for :func:`plan_capture`."""
    _check(request)
    capture = request.capture
    source, target = capture.presentment_currency, capture.settlement_currency
    before, after = request.already_refunded, request.already_refunded + request.amount
    platform, merchant = PLATFORM_OWNER, capture.account_id

    converted_before, remainder_before = _converted_so_far(capture, before)
    converted_after, remainder_after = _converted_so_far(capture, after)
    converted = converted_after - converted_before

    returned: tuple[FeeLine, ...] = ()
    if request.fee_schedule.refund_fee_policy is RefundFeePolicy.RETURNED:
        shares = (
            (
                line,
                share_half_up(line.amount, after, capture.amount)
                - share_half_up(line.amount, before, capture.amount),
            )
            for line in capture.fee_lines
        )
        returned = tuple(
            FeeLine(line.type, share, line.currency, line.description)
            for line, share in shares
            if share
        )
    charged = refund_fee(request.fee_schedule, target)

    builder = JournalBuilder()
    metadata = {
        "refund_id": request.refund_id,
        "payment_id": capture.payment_id,
        "account_id": merchant,
    }
    rounding = None
    if capture.rate is None:
        funding = AccountRef(platform, PSP_CLEARING, target)
    else:
        funding = AccountRef(platform, FX_POSITION, target)
        builder.move(
            "gross",
            AccountRef(platform, FX_POSITION, source),
            AccountRef(platform, PSP_CLEARING, source),
            request.amount,
            "refund_gross",
        )
        remainder = exact_context().subtract(remainder_before, remainder_after)
        rounding = carry(target, rounding_residual, remainder)
        metadata |= {
            "fx_rate": decimal_text(capture.rate.mid),
            "fx_quote_id": capture.rate.quote_id or "",
            "fx_remainder": decimal_text(rounding.remainder),
            "fx_rounding_units": str(rounding.units),
            "fx_residual_before": decimal_text(rounding.residual_before),
            "fx_residual_after": decimal_text(rounding.residual_after),
        }
    pending = AccountRef(merchant, MERCHANT_PENDING, target)
    fees = AccountRef(platform, PLATFORM_FEES, target)
    builder.move(
        "net", pending, funding, converted - sum(line.amount for line in returned), "refund_net"
    )
    for line in returned:
        builder.move(
            f"fee_returned:{line.type.value}", fees, funding, line.amount, "refund_fee_returned"
        )
    if charged is not None:
        builder.move("refund_fee", pending, fees, charged.amount, "refund_fee")
    if rounding is not None:
        book_rounding(builder, rounding)
    journal = builder.build("refund", request.refund_id, metadata)
    return RefundPlan(request, journal, converted, returned, charged, rounding)

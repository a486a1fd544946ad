"""The capture posting plan: one journal from the payer's gross to the merchant's net.

For a payment of ``gross`` in presentment currency S settled in currency T::

    S  debit psp_clearing(platform, S)   credit fx_position(platform, S)   gross
    T  debit fx_position(platform, T)    credit merchant_pending(acct, T)  net
    T  debit fx_position(platform, T)    credit platform_fees(platform, T) each fee line
    T  debit fx_position(platform, T)    credit fx_rounding(platform, T)   whole rounding units
       (the other way round when the carried remainder is negative)

The rate is a :class:`LockedRate`: a used quote's ``quote.locked()``, or the implicit
one :func:`capture_rate` takes at capture (the schedule's FX markup as spread).
``converted = round(gross x mid rate)`` with the request's named rounding (half-even by
default), ``fee`` is computed on ``converted`` (see :mod:`settlement.fees.compute`),
``net = converted - fee`` (negative if a minimum fee exceeds a tiny payment: then the
merchant is debited). The exact sub-minor remainder is carried on ``fx_rounding`` as
:mod:`settlement.fx.rounding` describes; exactly,
``net + fee + remainder == gross x rate`` in T's minor units.

Without conversion (S == T) the gross goes straight from ``psp_clearing`` to
``merchant_pending`` and ``platform_fees``; there is no FX leg and no rounding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from core.money import check_minor, currency_code
from settlement.fees.compute import FeeLine, Fees, FeeType, capture_fees, is_cross_border
from settlement.fees.schedule import PLATFORM_OWNER, FeeSchedule
from settlement.fx.conversion import Conversion, check_rounding, convert
from settlement.fx.locked_rate import LockedRate
from settlement.fx.rates import RateSource, exact_context
from settlement.fx.rounding import RoundingCarry, carry
from settlement.posting.balance_transaction import BalanceTransactionData
from settlement.posting.journal import (
    FX_POSITION,
    FX_ROUNDING,
    MERCHANT_PENDING,
    PLATFORM_FEES,
    PSP_CLEARING,
    AccountRef,
    JournalBuilder,
    JournalPlan,
)


class PostingError(ValueError):
    """A capture or refund that cannot be planned as asked."""


@dataclass(frozen=True)
class CaptureRequest:
    payment_id: str
    account_id: str
    amount: int
    presentment_currency: str
    settlement_currency: str
    fee_schedule: FeeSchedule
    account_country: str
    card_country: str | None = None
    rate: LockedRate | None = None
    rounding: str = ROUND_HALF_EVEN


@dataclass(frozen=True)
class CaptureFigures:
    """What a later refund needs to know about the capture (store it with the payment)."""

    payment_id: str
    account_id: str
    amount: int
    presentment_currency: str
    settlement_currency: str
    converted: int
    rate: LockedRate | None
    rounding: str
    fee_lines: tuple[FeeLine, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe: decimals and dates as strings."""
        rate = None
        if self.rate is not None:
            rate = {
                "base": self.rate.base,
                "quote": self.rate.quote,
                "mid": str(self.rate.mid),
                "spread_ppm": self.rate.spread_ppm,
                "source": self.rate.source,
                "as_of": self.rate.as_of.isoformat(),
                "quote_id": self.rate.quote_id,
            }
        return {
            "payment_id": self.payment_id,
            "account_id": self.account_id,
            "amount": self.amount,
            "presentment_currency": self.presentment_currency,
            "settlement_currency": self.settlement_currency,
            "converted": self.converted,
            "rate": rate,
            "rounding": self.rounding,
            "fee_lines": [
                {"type": line.type.value, "amount": line.amount, "description": line.description}
                for line in self.fee_lines
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaptureFigures:
        raw_rate = data["rate"]
        rate = None
        if raw_rate is not None:
            rate = LockedRate(
                raw_rate["base"],
                raw_rate["quote"],
                Decimal(raw_rate["mid"]),
                raw_rate["spread_ppm"],
                raw_rate["source"],
                dt.date.fromisoformat(raw_rate["as_of"]),
                raw_rate["quote_id"],
            )
        currency = data["settlement_currency"]
        return cls(
            payment_id=data["payment_id"],
            account_id=data["account_id"],
            amount=data["amount"],
            presentment_currency=data["presentment_currency"],
            settlement_currency=currency,
            converted=data["converted"],
            rate=rate,
            rounding=data["rounding"],
            fee_lines=tuple(
                FeeLine(FeeType(line["type"]), line["amount"], currency, line["description"])
                for line in data["fee_lines"]
            ),
        )


@dataclass(frozen=True)
class CapturePlan:
    request: CaptureRequest
    journal: JournalPlan
    conversion: Conversion | None
    fees: Fees
    rounding: RoundingCarry | None

    @property
    def gross(self) -> int:
        return self.request.amount

    @property
    def converted(self) -> int:
        return self.conversion.amount_out if self.conversion else self.request.amount

    @property
    def fee(self) -> int:
        return self.fees.total

    @property
    def net(self) -> int:
        return self.converted - self.fee

    @property
    def exchange_rate(self) -> Decimal | None:
        return self.conversion.rate if self.conversion else None

    def balance_transaction(self) -> BalanceTransactionData:
        return BalanceTransactionData(
            type="charge",
            reporting_category="charge",
            source=self.request.payment_id,
            amount=self.converted,
            currency=self.request.settlement_currency,
            fee=self.fee,
            fee_details=self.fees.lines,
            net=self.net,
            exchange_rate=self.exchange_rate,
        )

    def figures(self) -> CaptureFigures:
        return CaptureFigures(
            payment_id=self.request.payment_id,
            account_id=self.request.account_id,
            amount=self.request.amount,
            presentment_currency=self.request.presentment_currency,
            settlement_currency=self.request.settlement_currency,
            converted=self.converted,
            rate=self.request.rate,
            rounding=self.request.rounding,
            fee_lines=self.fees.lines,
        )


def decimal_text(value: Decimal) -> str:
    """A decimal as plain text without trailing zeros (``0.370679380216``), never rounded."""
    return format(exact_context().normalize(value), "f") if value else "0"


def capture_rate(
    rates: RateSource,
    schedule: FeeSchedule,
    presentment_currency: str,
    settlement_currency: str,
    on: dt.date,
) -> LockedRate | None:
    """The implicit quote of a capture without an explicit one: today's rate and the
    schedule's FX markup as its spread (None when no conversion is needed)."""
    source, target = currency_code(presentment_currency), currency_code(settlement_currency)
    if source == target:
        return None
    return LockedRate.implicit(rates.rate(source, target, on), schedule.fx_markup_ppm)


def fx_metadata(
    conversion: Conversion, rate: LockedRate, rounding: RoundingCarry
) -> dict[str, str]:
    """What the journal records about its FX legs (rate, quote, exact remainder)."""
    return {
        "fx_rate": decimal_text(conversion.rate),
        "fx_rate_source": rate.source,
        "fx_rate_as_of": rate.as_of.isoformat(),
        "fx_quote_id": rate.quote_id or "",
        "fx_spread_ppm": str(rate.spread_ppm),
        "fx_rounding_mode": conversion.rounding,
        "fx_exact": decimal_text(conversion.exact),
        "fx_remainder": decimal_text(rounding.remainder),
        "fx_rounding_units": str(rounding.units),
        "fx_residual_before": decimal_text(rounding.residual_before),
        "fx_residual_after": decimal_text(rounding.residual_after),
    }


def book_rounding(builder: JournalBuilder, rounding: RoundingCarry) -> None:
    """Whole units shed by the residual: gain to ``fx_rounding``, loss from it."""
    position = AccountRef(PLATFORM_OWNER, FX_POSITION, rounding.currency)
    account = AccountRef(PLATFORM_OWNER, FX_ROUNDING, rounding.currency)
    builder.move("fx_rounding", position, account, rounding.units, "fx_rounding")


def _check(request: CaptureRequest) -> tuple[str, str]:
    source = currency_code(request.presentment_currency)
    target = currency_code(request.settlement_currency)
    if check_minor(request.amount) <= 0:
        raise PostingError(f"a capture needs a positive amount, got {request.amount}")
    check_rounding(request.rounding)
    if source != target and request.rate is None:
        raise PostingError(f"capturing {source} for a {target} settlement needs a rate or quote")
    if source == target and request.rate is not None:
        raise PostingError(f"a {source} capture settled in {source} takes no exchange rate")
    if request.rate is not None and (request.rate.base, request.rate.quote) != (source, target):
        raise PostingError(
            f"the {request.rate.base}/{request.rate.quote} rate cannot convert {source} to {target}"
        )
    return source, target


def plan_capture(
    request: CaptureRequest, *, rounding_residual: Decimal = Decimal(0)
) -> CapturePlan:
    """Plan the capture journal; ``rounding_residual`` is ``lock_residual(settlement currency)``.

    Store ``plan.rounding.residual_after`` back (``save_residual``) in the same
    transaction as the postings when ``plan.rounding`` is not None.
    """
    source, target = _check(request)
    platform, merchant = PLATFORM_OWNER, request.account_id
    cross_border = is_cross_border(request.card_country, request.account_country)
    builder = JournalBuilder()
    metadata = {"payment_id": request.payment_id, "account_id": merchant}

    conversion = rounding = None
    if request.rate is None:
        converted = request.amount
        funding = AccountRef(platform, PSP_CLEARING, target)
        fees = capture_fees(
            request.fee_schedule, converted, target, cross_border=cross_border, fx_markup_ppm=None
        )
    else:
        conversion = convert(request.amount, source, target, request.rate, request.rounding)
        converted = conversion.amount_out
        rounding = carry(target, rounding_residual, conversion.remainder)
        funding = AccountRef(platform, FX_POSITION, target)
        builder.move(
            "gross",
            AccountRef(platform, PSP_CLEARING, source),
            AccountRef(platform, FX_POSITION, source),
            request.amount,
            "capture_gross",
        )
        fees = capture_fees(
            request.fee_schedule,
            converted,
            target,
            cross_border=cross_border,
            fx_markup_ppm=request.rate.spread_ppm,
        )
        metadata |= fx_metadata(conversion, request.rate, rounding)

    builder.move(
        "net",
        funding,
        AccountRef(merchant, MERCHANT_PENDING, target),
        converted - fees.total,
        "capture_net",
    )
    for line in fees.lines:
        builder.move(
            f"fee:{line.type.value}",
            funding,
            AccountRef(platform, PLATFORM_FEES, target),
            line.amount,
            "capture_fee",
        )
    if rounding is not None:
        book_rounding(builder, rounding)
    journal = builder.build("capture", request.payment_id, metadata)
    return CapturePlan(request, journal, conversion, fees, rounding)

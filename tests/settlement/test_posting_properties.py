"""Property tests: for any amounts, currencies, rates and fees, every unit is accounted for."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Context, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.money import exponent
from settlement.fees import FeeSchedule, RefundFeePolicy
from settlement.fx import ROUNDING_MODES, LockedRate
from settlement.posting import (
    AccountRef,
    CaptureRequest,
    RefundRequest,
    plan_capture,
    plan_refund,
)

CURRENCIES = ["JPY", "KRW", "EUR", "USD", "GBP", "CHF", "BHD", "KWD", "JOD"]
MERCHANT = "acct_m"

rates = st.builds(
    lambda mantissa, exp: Decimal(mantissa).scaleb(exp),
    st.integers(1, 999_999_999_999_999),
    st.integers(-20, -5),
).filter(lambda rate: Decimal("0.000001") <= rate <= Decimal("100000"))
residuals = st.integers(-999_999, 999_999).map(lambda n: Decimal(n).scaleb(-6))


@st.composite
def schedules(draw: st.DrawFn) -> FeeSchedule:
    return FeeSchedule(
        owner=MERCHANT,
        percent_ppm=draw(st.integers(0, 100_000)),
        fixed={
            code: draw(st.integers(0, 500)) for code in draw(st.sets(st.sampled_from(CURRENCIES)))
        },
        cross_border_ppm=draw(st.integers(0, 30_000)),
        minimum={
            code: draw(st.integers(0, 2_000)) for code in draw(st.sets(st.sampled_from(CURRENCIES)))
        },
        refund_fixed={
            code: draw(st.integers(0, 100)) for code in draw(st.sets(st.sampled_from(CURRENCIES)))
        },
        refund_fee_policy=draw(st.sampled_from(list(RefundFeePolicy))),
    )


@st.composite
def captures(draw: st.DrawFn) -> CaptureRequest:
    source = draw(st.sampled_from(CURRENCIES))
    target = draw(st.sampled_from(CURRENCIES))
    rate = None
    if source != target:
        rate = LockedRate(
            source,
            target,
            draw(rates),
            draw(st.integers(0, 50_000)),
            "test",
            dt.date(2024, 6, 14),
            draw(st.one_of(st.none(), st.just("fxq_test"))),
        )
    return CaptureRequest(
        payment_id="pi_prop",
        account_id=MERCHANT,
        amount=draw(st.integers(1, 10**10)),
        presentment_currency=source,
        settlement_currency=target,
        fee_schedule=draw(schedules()),
        account_country="DE",
        card_country=draw(st.sampled_from(["DE", "JP", None])),
        rate=rate,
        rounding=draw(st.sampled_from(sorted(ROUNDING_MODES))),
    )


def platform(purpose: str, currency: str) -> AccountRef:
    return AccountRef("platform", purpose, currency)


@settings(max_examples=400, deadline=None)
@given(request=captures(), residual=residuals)
def test_every_capture_plan_balances_and_accounts_for_every_fraction(
    request: CaptureRequest, residual: Decimal
) -> None:
    plan = plan_capture(request, rounding_residual=residual)
    source, target = request.presentment_currency, request.settlement_currency
    journal = plan.journal
    assert journal.is_balanced()
    for debit, credit in journal.currency_totals().values():
        assert debit == credit
    assert all(transfer.amount > 0 for transfer in journal.transfers)

    balances = Counter(journal.balances())
    assert balances[AccountRef(MERCHANT, "merchant_pending", target)] == -plan.net
    assert balances[platform("platform_fees", target)] == -plan.fee
    assert plan.net + plan.fee == plan.converted
    assert plan.fee == sum(line.amount for line in plan.fees.lines)
    assert all(line.amount > 0 and line.currency == target for line in plan.fees.lines)

    bt = plan.balance_transaction()
    assert (bt.amount, bt.fee, bt.net) == (plan.converted, plan.fee, plan.net)

    if request.rate is None:
        assert balances[platform("psp_clearing", target)] == request.amount
        assert plan.conversion is None and plan.rounding is None
        return
    conversion, rounding = plan.conversion, plan.rounding
    assert conversion is not None and rounding is not None
    # Exact value: net + fee + remainder == gross x rate (in target minor units), exactly.
    exact = Context(prec=100)
    expected = exact.multiply(Decimal(request.amount), request.rate.mid).scaleb(
        exponent(target) - exponent(source), exact
    )
    assert conversion.exact == expected
    assert plan.net + plan.fee + conversion.remainder == conversion.exact
    assert abs(conversion.remainder) < 1
    # Source currency: the full gross through fx_position.
    assert balances[platform("psp_clearing", source)] == request.amount
    assert balances[platform("fx_position", source)] == -request.amount
    # Target currency: fx_position pays the rounded amount plus the units shed to fx_rounding.
    assert balances[platform("fx_rounding", target)] == -rounding.units
    assert balances[platform("fx_position", target)] == plan.converted + rounding.units
    assert rounding.units + rounding.residual_after == residual + conversion.remainder
    assert -1 < rounding.residual_after < 1
    # Everything credited in the target currency + what the residual holds = the exact value.
    credited = plan.net + plan.fee + rounding.units + rounding.residual_after - residual
    assert credited == conversion.exact


@settings(max_examples=200, deadline=None)
@given(
    request=captures(),
    residual=residuals,
    cuts=st.lists(st.integers(1, 10**10), min_size=0, max_size=6),
)
def test_refunding_everything_in_pieces_returns_every_unit(
    request: CaptureRequest, residual: Decimal, cuts: list[int]
) -> None:
    captured = plan_capture(request, rounding_residual=residual)
    figures = captured.figures()
    points = [*sorted({cut % request.amount for cut in cuts} - {0}), request.amount]
    totals: Counter[AccountRef] = Counter(captured.journal.balances())
    units = captured.rounding.units if captured.rounding else 0
    carried = captured.rounding.residual_after if captured.rounding else residual
    refunded = 0
    schedule = request.fee_schedule
    for number, point in enumerate(points):
        plan = plan_refund(
            RefundRequest(f"re_{number}", figures, point - refunded, refunded, schedule),
            rounding_residual=carried,
        )
        assert plan.journal.is_balanced()
        bt = plan.balance_transaction()
        assert bt.net == bt.amount - bt.fee == -plan.merchant_debit
        totals.update(plan.journal.balances())
        if plan.rounding:
            units += plan.rounding.units
            carried = plan.rounding.residual_after
        refunded = point

    target, source = request.settlement_currency, request.presentment_currency
    refund_fees = len(points) * schedule.refund_fee(target)
    kept = captured.fee if schedule.refund_fee_policy is RefundFeePolicy.KEPT else 0
    assert totals[AccountRef(MERCHANT, "merchant_pending", target)] == kept + refund_fees
    assert totals[platform("platform_fees", target)] == -(kept + refund_fees)
    assert totals[platform("psp_clearing", source)] == 0
    if request.rate is not None:
        assert totals[platform("fx_position", source)] == 0
        assert totals[platform("fx_position", target)] == units
        assert totals[platform("fx_rounding", target)] == -units
        assert units + carried == residual  # the carried fractions all came back

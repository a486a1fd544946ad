"""Capture posting plans: the issue's JPY -> EUR story and the currency edge cases."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Context, Decimal

import pytest

from core.database import Database
from settlement.fees import FeeSchedule, FeeType
from settlement.fx import (
    EcbRates,
    LockedRate,
    RateBook,
    add_override,
    create_quote,
    default_rate_book,
    use_quote,
)
from settlement.posting import (
    AccountRef,
    CaptureFigures,
    CaptureRequest,
    PostingError,
    capture_rate,
    plan_capture,
)

PLATFORM = "platform"
MERCHANT = "acct_berlin"
SUNDAY = dt.date(2024, 6, 16)  # the ECB fixing in force is Friday 2024-06-14's: 167.8 JPY/EUR
STORY_FEES = FeeSchedule(percent_ppm=29_000, fixed={"EUR": 30}, cross_border_ppm=10_000)


def acct(owner: str, purpose: str, currency: str) -> AccountRef:
    return AccountRef(owner, purpose, currency)


def story_request(rate: LockedRate, **changes: object) -> CaptureRequest:
    fields = dict(
        payment_id="pi_story",
        account_id=MERCHANT,
        amount=12_000,
        presentment_currency="JPY",
        settlement_currency="EUR",
        fee_schedule=STORY_FEES,
        account_country="DE",
        card_country="JP",
        rate=rate,
    )
    fields.update(changes)
    return CaptureRequest(**fields)  # type: ignore[arg-type]


def test_japanese_payer_pays_german_merchant_every_unit_accounted() -> None:
    rate = RateBook([EcbRates.bundled()]).rate("JPY", "EUR", SUNDAY)
    assert (rate.as_of, rate.source) == (dt.date(2024, 6, 14), "ecb")

    # By hand: the ECB published 1 EUR = 167.8 JPY on Friday 2024-06-14.
    jpy_eur = Context(prec=15, rounding=ROUND_HALF_EVEN).divide(Decimal(1), Decimal("167.8"))
    assert rate.value == jpy_eur == Decimal("0.00595947556615018")
    exact_cents = 12_000 * jpy_eur * 100  # 7151.370679380216 cents
    converted = 7151  # half-even to the cent: 71.51 EUR
    remainder = exact_cents - converted  # 0.370679380216 of a cent, carried on fx_rounding
    processing = 207 + 30  # 2.9 % of 7151 = 207.379 -> 207 (half up); + 0.30 EUR fixed
    cross_border = 72  # 1 % of 7151 = 71.51 -> 72 (half up)
    fee = processing + cross_border  # 3.09 EUR
    net = converted - fee  # 68.42 EUR

    plan = plan_capture(story_request(LockedRate.implicit(rate, 0)))

    assert (plan.gross, plan.converted, plan.fee, plan.net) == (12_000, converted, fee, net)
    assert (converted, fee, net) == (7151, 309, 6842)
    assert plan.exchange_rate == jpy_eur
    assert plan.conversion is not None
    assert plan.conversion.exact == exact_cents
    assert plan.conversion.remainder == remainder == Decimal("0.370679380216")
    assert plan.rounding is not None
    assert (plan.rounding.units, plan.rounding.residual_after) == (0, remainder)
    assert plan.fees.amount_of(FeeType.CORRIDOR_FEE) == processing
    assert plan.fees.amount_of(FeeType.CROSS_BORDER_FEE) == cross_border

    journal = plan.journal
    assert journal.is_balanced()
    assert journal.currency_totals() == {"EUR": (7151, 7151), "JPY": (12_000, 12_000)}
    assert journal.balances() == {
        acct(PLATFORM, "psp_clearing", "JPY"): 12_000,
        acct(PLATFORM, "fx_position", "JPY"): -12_000,
        acct(PLATFORM, "fx_position", "EUR"): 7151,
        acct(MERCHANT, "merchant_pending", "EUR"): -6842,
        acct(PLATFORM, "platform_fees", "EUR"): -309,
    }
    # Every minor unit and fraction: net + fees + remainder = the exact converted gross.
    assert net + fee + plan.conversion.remainder == exact_cents
    assert [journal.transfer_id(t) for t in journal.transfers] == [
        "capture:pi_story:gross",
        "capture:pi_story:net",
        "capture:pi_story:fee:corridor_fee",
        "capture:pi_story:fee:cross_border_fee",
    ]
    assert journal.metadata["fx_rate"] == "0.00595947556615018"
    assert journal.metadata["fx_rate_as_of"] == "2024-06-14"
    assert journal.metadata["fx_remainder"] == "0.370679380216"

    bt = plan.balance_transaction().as_stripe_fields()
    assert bt["amount"] == 7151 and bt["currency"] == "eur"
    assert (bt["fee"], bt["net"], bt["exchange_rate"]) == (309, 6842, jpy_eur)
    assert [(d["type"], d["amount"]) for d in bt["fee_details"]] == [
        ("corridor_fee", 237),
        ("cross_border_fee", 72),
    ]
    assert (bt["type"], bt["source"]) == ("charge", "pi_story")


def test_residual_crossing_a_unit_books_fx_rounding() -> None:
    rate = LockedRate("JPY", "EUR", Decimal("0.00595947556615018"), 0, "ecb", SUNDAY)
    plan = plan_capture(story_request(rate), rounding_residual=Decimal("0.75"))
    assert plan.rounding is not None
    # 0.75 + 0.370679380216 = 1.120679380216: one cent of rounding gain leaves for the ledger
    assert (plan.rounding.units, plan.rounding.residual_after) == (1, Decimal("0.120679380216"))
    balances = plan.journal.balances()
    assert balances[acct(PLATFORM, "fx_rounding", "EUR")] == -1
    assert balances[acct(PLATFORM, "fx_position", "EUR")] == 7152
    assert plan.journal.is_balanced()
    loss = plan_capture(story_request(rate, amount=11), rounding_residual=Decimal("-0.8"))
    # 11 JPY = 6.555... cents -> 7, remainder -0.444...; -0.8 - 0.444 crosses -1
    assert loss.rounding is not None and loss.rounding.units == -1
    assert loss.journal.balances()[acct(PLATFORM, "fx_rounding", "EUR")] == 1


def test_quote_spread_is_an_fx_fee_at_the_mid_rate(db: Database) -> None:
    now = dt.datetime(2024, 6, 16, 12, tzinfo=dt.UTC)
    with db.transaction() as session:
        quote = create_quote(
            session, MERCHANT, "JPY", "EUR", 5_000, dt.timedelta(minutes=10), now=now
        )
        used = use_quote(
            session,
            quote.id,
            account_id=MERCHANT,
            from_currency="JPY",
            to_currency="EUR",
            reference="pi_story",
            now=now,
        )
    plan = plan_capture(story_request(used.locked()))
    assert plan.converted == 7151
    assert plan.fees.amount_of(FeeType.FX_FEE) == 36  # 0.5 % of 7151 = 35.755 -> 36
    assert plan.fee == 309 + 36 and plan.net == 7151 - 345
    assert plan.journal.metadata["fx_quote_id"] == quote.id
    assert plan.conversion is not None and plan.conversion.quote_id == quote.id


def test_implicit_quote_uses_the_schedules_fx_markup() -> None:
    book = RateBook([EcbRates.bundled()])
    schedule = FeeSchedule(percent_ppm=29_000, fx_markup_ppm=10_000)
    rate = capture_rate(book, schedule, "JPY", "EUR", SUNDAY)
    assert rate is not None
    assert (rate.mid, rate.spread_ppm, rate.quote_id) == (
        Decimal("0.00595947556615018"),
        10_000,
        None,
    )
    assert capture_rate(book, schedule, "EUR", "eur", SUNDAY) is None
    plan = plan_capture(story_request(rate, fee_schedule=schedule, card_country="DE"))
    assert plan.fees.amount_of(FeeType.FX_FEE) == 72  # 1 % of 7151 = 71.51 -> 72
    assert plan.fee == 207 + 72


def test_eur_payment_settled_in_jpy_zero_decimals() -> None:
    schedule = FeeSchedule(percent_ppm=36_000, fixed={"JPY": 40})
    rate = LockedRate("EUR", "JPY", Decimal("167.8"), 0, "ecb", dt.date(2024, 6, 14))
    plan = plan_capture(
        CaptureRequest("pi_jp", "acct_tokyo", 4_999, "EUR", "JPY", schedule, "JP", "FR", rate)
    )
    # 49.99 EUR x 167.8 = 8388.322 JPY -> 8388 (half even), remainder 0.322 yen
    assert plan.conversion is not None
    assert plan.conversion.exact == Decimal("8388.322")
    assert (plan.converted, plan.conversion.remainder) == (8388, Decimal("0.322"))
    assert plan.fee == 302 + 40  # 3.6 % of 8388 = 301.968 -> 302
    assert plan.net == 8388 - 342
    assert plan.journal.currency_totals() == {"EUR": (4_999, 4_999), "JPY": (8388, 8388)}


def test_bhd_settlement_three_decimals_via_override(db: Database) -> None:
    with db.transaction() as session:
        add_override(session, "EUR", "BHD", "0.4037", dt.date(2024, 6, 1), source="treasury")
        rate = default_rate_book(session).rate("USD", "BHD", dt.date(2024, 6, 14))
    # USD -> EUR (1/1.0686) -> BHD (x 0.4037)
    expected = Context(prec=15).plus(Context(prec=40).divide(Decimal("0.4037"), Decimal("1.0686")))
    assert rate.value == expected == Decimal("0.377784016470148")
    schedule = FeeSchedule(percent_ppm=25_000, fixed={"BHD": 100}, minimum={"BHD": 500})
    plan = plan_capture(
        CaptureRequest(
            "pi_bh",
            "acct_manama",
            2_599,
            "USD",
            "BHD",
            schedule,
            "BH",
            "US",
            LockedRate.implicit(rate, 0),
            ROUND_DOWN,
        )
    )
    # 2599 x 0.377784016470148 = 2600 x r - r = 982.2384428223848 - 0.377784016470148
    #   = 981.860658805914652 cents of USD-value in BHD, i.e. 9818.60658805914652 fils
    assert plan.conversion is not None
    assert plan.conversion.exact == Decimal("9818.60658805914652")
    assert plan.converted == 9818  # rounded down
    assert plan.conversion.remainder == Decimal("0.60658805914652")
    assert plan.conversion.amount_out + plan.conversion.remainder == plan.conversion.exact
    # fee: 2.5 % of 9818 = 245.45 -> 245 fils, + 100 fixed = 345 < 500 minimum -> 500
    assert plan.fee == 500 and plan.net == 9318
    assert plan.journal.currency_totals()["BHD"] == (9818, 9818)


def test_same_currency_capture_has_no_fx_legs() -> None:
    plan = plan_capture(
        CaptureRequest("pi_eu", MERCHANT, 10_000, "EUR", "EUR", STORY_FEES, "DE", "DE")
    )
    assert plan.conversion is None and plan.rounding is None and plan.exchange_rate is None
    assert plan.fee == 320 and plan.net == 9_680
    assert plan.journal.balances() == {
        acct(PLATFORM, "psp_clearing", "EUR"): 10_000,
        acct(MERCHANT, "merchant_pending", "EUR"): -9_680,
        acct(PLATFORM, "platform_fees", "EUR"): -320,
    }


def test_fee_above_a_tiny_payment_debits_the_merchant() -> None:
    plan = plan_capture(CaptureRequest("pi_tiny", MERCHANT, 20, "EUR", "EUR", STORY_FEES, "DE"))
    assert plan.fee == 31 and plan.net == -11  # 0.58 -> 1 cent + 30
    balances = plan.journal.balances()
    assert balances[acct(MERCHANT, "merchant_pending", "EUR")] == 11
    assert plan.journal.is_balanced()
    assert all(transfer.amount > 0 for transfer in plan.journal.transfers)


def test_capture_figures_round_trip_for_refunds() -> None:
    rate = LockedRate("JPY", "EUR", Decimal("0.00595947556615018"), 5_000, "ecb", SUNDAY, "fxq_1")
    figures = plan_capture(story_request(rate)).figures()
    assert CaptureFigures.from_dict(figures.as_dict()) == figures
    assert figures.as_dict()["rate"]["mid"] == "0.00595947556615018"


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": 0},
        {"amount": -5},
        {"rate": None},
        {"settlement_currency": "JPY"},  # same currency with a rate
        {"settlement_currency": "USD"},  # rate for another pair
        {"rounding": "ROUND_05UP"},
    ],
)
def test_inconsistent_requests_are_refused(changes: dict) -> None:
    rate = LockedRate("JPY", "EUR", Decimal("0.006"), 0, "ecb", SUNDAY)
    with pytest.raises(ValueError):
        plan_capture(replace(story_request(rate), **changes))
    assert issubclass(PostingError, ValueError)

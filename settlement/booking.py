"""Booking: turning payment events into ledger journals and BalanceTransactions.

This is the service payments calls (never the ledger's tables): an authorisation
*holds* funds as a pending transfer; a capture posts the hold (the rest is released)
and books the capture plan — gross into clearing, FX legs, fees, net to the merchant's
pending balance — as one journal; a refund books the refund plan against wherever the
captured net now sits (pending, or available once settled). Each booking writes the
merchant's BalanceTransaction in the same transaction, so the merchant's view and the
ledger never disagree.

Accounts (all platform-owned unless marked)::

    psp_clearing         what processors owe us for captured payments
    card_authorizations  authorised, not yet captured (pending transfers only)
    customer_balance     bank-transfer funds received from payers, not yet applied
    merchant_pending     (merchant) captured net, not yet settled
    merchant_available   (merchant) settled, available for payout
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from core.accounts import PLATFORM, Account
from core.database import utcnow
from core.money import currency_code
from settlement import balance_transactions
from settlement.balance_transactions import AVAILABLE, PENDING, BalanceTransaction
from settlement.fees.schedule import FeeSchedule
from settlement.fees.store import FeeScheduleMissing, fee_schedule_for
from settlement.fx.book import default_rate_book
from settlement.fx.quotes import use_quote
from settlement.fx.residuals import lock_residual, save_residual
from settlement.ledger import Journal, Ledger, PostPending, TransferSpec, VoidPending
from settlement.posting.capture import CaptureFigures, CaptureRequest, capture_rate, plan_capture
from settlement.posting.journal import AccountRef, JournalPlan
from settlement.posting.refund import RefundRequest, plan_refund

HOLDS = "card_authorizations"
CUSTOMER_BALANCE = "customer_balance"
PSP_CLEARING = "psp_clearing"
MERCHANT_PENDING = "merchant_pending"
MERCHANT_AVAILABLE = "merchant_available"
DEFAULT_DELAY_DAYS = 2


def _hold_id(intent_id: str) -> str:
    return f"auth:{intent_id}"


def settlement_delay(account: Account) -> int:
    """T+N: the account's ``settings.payouts.schedule.delay_days`` (Stripe's field)."""
    schedule = (account.settings or {}).get("payouts", {}).get("schedule", {})
    try:
        return max(0, int(schedule.get("delay_days", DEFAULT_DELAY_DAYS)))
    except (TypeError, ValueError):
        return DEFAULT_DELAY_DAYS


def available_on(account: Account, at: dt.datetime) -> dt.datetime:
    """Midnight UTC, ``delay_days`` calendar days after ``at``."""
    day = (at.astimezone(dt.UTC) + dt.timedelta(days=settlement_delay(account))).date()
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _schedule(session: Session, account_id: str) -> FeeSchedule:
    try:
        return fee_schedule_for(session, account_id)
    except FeeScheduleMissing:
        return FeeSchedule()  # no schedule configured anywhere: the platform charges nothing


def lock_quote(
    session: Session, account: Account, *, quote_id: str, intent_id: str, currency: str
) -> None:
    """Take an FX quote for a payment before any money moves; the capture uses it later.

    An expired, foreign or already-used quote is refused here, at confirmation, rather
    than after the rail has authorised the payment.
    """
    if currency_code(currency) == account.default_currency:
        return
    use_quote(
        session,
        quote_id,
        account_id=account.id,
        from_currency=currency,
        to_currency=account.default_currency,
        reference=intent_id,
    )


def hold(session: Session, *, intent_id: str, amount: int, currency: str) -> str:
    """Reserve an authorised amount (pending): clearing -> authorisations.

    Both accounts are the platform's, shared by every payment in the currency, and
    neither has a limit the hold could cross: the hold posts as the transaction's last
    step (:meth:`Ledger.post_at_commit`), so concurrent confirmations do not queue on
    those rows for the rest of each other's requests.
    """
    ledger = Ledger(session)
    hold_id = _hold_id(intent_id)
    ledger.post_at_commit(
        [
            TransferSpec(
                id=hold_id,
                debit=ledger.account_id(PLATFORM, PSP_CLEARING, currency),
                credit=ledger.account_id(PLATFORM, HOLDS, currency, normal="credit"),
                amount=amount,
                currency=currency,
                code="authorization",
                reference=intent_id,
                pending=True,
            )
        ]
    )
    return hold_id


def release(session: Session, *, intent_id: str) -> None:
    """Void an uncaptured authorisation's hold (cancel, expiry)."""
    Ledger(session).post_or_raise(
        [
            VoidPending(
                id=f"{_hold_id(intent_id)}:void",
                pending_id=_hold_id(intent_id),
                code="authorization_release",
                reference=intent_id,
            )
        ]
    )


@dataclass(frozen=True)
class Booked:
    balance_transaction: BalanceTransaction
    figures: dict[str, Any]
    """What a later refund of this capture needs (``CaptureFigures.as_dict()``)."""


def _ops(ledger: Ledger, plan: JournalPlan, reference: str, remap: dict[str, str]) -> list[Any]:
    def account(ref: AccountRef) -> str:
        purpose = remap.get(ref.purpose, ref.purpose)
        normal = "credit" if purpose in (HOLDS, CUSTOMER_BALANCE) else None
        return ledger.account_id(ref.owner, purpose, ref.currency, normal=normal)

    return [
        TransferSpec(
            id=plan.transfer_id(t),
            debit=account(t.debit),
            credit=account(t.credit),
            amount=t.amount,
            currency=t.currency,
            code=t.code,
            reference=reference,
        )
        for t in plan.transfers
    ]


def book_capture(
    session: Session,
    account: Account,
    *,
    intent_id: str,
    amount: int,
    currency: str,
    card_country: str | None,
    quote_id: str | None = None,
    from_hold: bool = False,
    from_customer_balance: bool = False,
    arriving: CustomerCredit | None = None,
    at: dt.datetime | None = None,
) -> Booked:
    """Book a capture of ``amount`` (presentment currency) as one journal.

    ``arriving`` is the bank credit that pays for the capture, received in the same
    journal: a transaction must post once, since each posting locks its accounts in one
    ordered statement, and two postings (clearing and the customer balance first, the
    merchant and fee accounts after) deadlocked with concurrent captures on PostgreSQL.
    """
    at = at or utcnow()
    ledger = Ledger(session)
    schedule = _schedule(session, account.id)
    settlement_currency = account.default_currency
    rate = None
    if currency != settlement_currency:
        if quote_id:
            rate = use_quote(
                session,
                quote_id,
                account_id=account.id,
                from_currency=currency,
                to_currency=settlement_currency,
                reference=intent_id,
                now=at,
            ).locked()
        else:
            rate = capture_rate(
                default_rate_book(session), schedule, currency, settlement_currency, at.date()
            )
    residual = lock_residual(session, settlement_currency) if rate else Decimal(0)
    plan = plan_capture(
        CaptureRequest(
            payment_id=intent_id,
            account_id=account.id,
            amount=amount,
            presentment_currency=currency,
            settlement_currency=settlement_currency,
            fee_schedule=schedule,
            account_country=account.country,
            card_country=card_country,
            rate=rate,
        ),
        rounding_residual=residual,
    )
    source = HOLDS if from_hold else CUSTOMER_BALANCE if from_customer_balance else PSP_CLEARING
    ops: list[Any] = [_credit_transfer(ledger, arriving)] if arriving else []
    if from_hold:
        ops.append(
            PostPending(
                id=f"{_hold_id(intent_id)}:post",
                pending_id=_hold_id(intent_id),
                amount=amount,
                code="capture",
                reference=intent_id,
            )
        )
    ops += _ops(ledger, plan.journal, intent_id, {PSP_CLEARING: source})
    header = Journal(
        code="capture",
        reference=intent_id,
        metadata=dict(plan.journal.metadata),
        rate=None if rate is None else plan.exchange_rate,
        quote_id=quote_id,
    )
    # Clearing, FX position and fees are shared by every capture, the merchant's pending
    # balance by all of its captures. The journal only debits accounts without limits
    # (the hold, clearing or the customer balance, FX position) and only credits the
    # merchant, so no limit can refuse it: it posts as the transaction's last step.
    journal_id = ledger.post_at_commit(ops, journal=header)
    if plan.rounding is not None:
        save_residual(session, settlement_currency, plan.rounding.residual_after)
    figures = plan.figures().as_dict()
    row = balance_transactions.record(
        session,
        account.id,
        plan.balance_transaction(),
        status=PENDING,
        available_on=available_on(account, at),
        journal_id=journal_id,
        description=f"Payment {intent_id}",
        details={
            "presentment_amount": amount,
            "presentment_currency": currency,
            "capture": figures,
        },
    )
    return Booked(row, figures)


@dataclass(frozen=True)
class CustomerCredit:
    """A payer's bank transfer that arrived, as :func:`receive_customer_funds` books it."""

    intent_id: str
    credit_id: str
    amount: int
    currency: str


def _credit_transfer(ledger: Ledger, credit: CustomerCredit) -> TransferSpec:
    return TransferSpec(
        id=f"credit:{credit.credit_id}",
        debit=ledger.account_id(PLATFORM, PSP_CLEARING, credit.currency),
        credit=ledger.account_id(PLATFORM, CUSTOMER_BALANCE, credit.currency, normal="credit"),
        amount=credit.amount,
        currency=credit.currency,
        code="bank_transfer_received",
        reference=credit.intent_id,
    )


def receive_customer_funds(
    session: Session, *, intent_id: str, credit_id: str, amount: int, currency: str
) -> None:
    """A payer's bank transfer arrived (in full or in part): clearing -> customer balance."""
    ledger = Ledger(session)
    credit = CustomerCredit(intent_id, credit_id, amount, currency)
    ledger.post_or_raise([_credit_transfer(ledger, credit)])


def book_refund(
    session: Session,
    account: Account,
    *,
    refund_id: str,
    intent_id: str,
    capture: BalanceTransaction,
    amount: int,
    already_refunded: int,
) -> BalanceTransaction:
    """Book a refund against the capture; it draws on the merchant's balance where the
    captured net now is (pending before settlement, available after)."""
    figures = CaptureFigures.from_dict(capture.details["capture"])
    schedule = _schedule(session, account.id)
    converted = figures.settlement_currency != figures.presentment_currency
    residual = lock_residual(session, figures.settlement_currency) if converted else Decimal(0)
    plan = plan_refund(
        RefundRequest(
            refund_id=refund_id,
            capture=figures,
            amount=amount,
            already_refunded=already_refunded,
            fee_schedule=schedule,
        ),
        rounding_residual=residual,
    )
    settled = capture.status == AVAILABLE
    remap = {MERCHANT_PENDING: MERCHANT_AVAILABLE} if settled else {}
    ledger = Ledger(session)
    results = ledger.post_or_raise(
        _ops(ledger, plan.journal, intent_id, remap),
        journal=Journal(code="refund", reference=refund_id, metadata=dict(plan.journal.metadata)),
    )
    if plan.rounding is not None:
        save_residual(session, figures.settlement_currency, plan.rounding.residual_after)
    return balance_transactions.record(
        session,
        account.id,
        plan.balance_transaction(),
        status=AVAILABLE if settled else PENDING,
        available_on=utcnow() if settled else capture.available_on,
        journal_id=results[-1].journal_id,
        description=f"Refund {refund_id} of {intent_id}",
        details={
            "presentment_amount": amount,
            "presentment_currency": figures.presentment_currency,
        },
    )

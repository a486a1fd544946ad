"""Payouts: from the merchant's available balance to its bank, and the bank's answer.

Ledger (all in the payout's currency; ``po`` is the payout id)::

    create   pending  merchant_available(acct) -> payouts_in_transit   amount   payout:po
             pending  merchant_available(acct) -> platform_fees        fee      payout:po:fee
    paid     post both reservations, and payouts_in_transit -> bank  amount   payout:po:bank
    failed   void both (before paid); after paid (the bank sent it back):
             bank -> payouts_in_transit, then reverse both posted transfers
    canceled void both

The reservation counts against ``merchant_available`` at once, so two payouts can never
spend the same money (the ledger's limit decides, under any concurrency). The fee is
charged only if the payout goes through: a failed or canceled payout returns it.

BalanceTransactions: ``payout`` (``amount = -amount``, ``fee``, ``net = -(amount + fee)``)
at creation; ``payout_failure`` or ``payout_cancel`` (the opposite) when it fails or is
canceled. All are ``available`` at once, so the sum of ``available`` rows keeps equal to
``merchant_available``'s available balance.

Every state change goes through :func:`settlement.payouts.state.transition` on the row
locked ``FOR UPDATE``; a repeated answer or cancel is a no-op that returns the payout.
Events: ``payout.created``, ``payout.updated`` (sent after a review), ``payout.paid``,
``payout.failed``, ``payout.canceled``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Final, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Account
from core.database import utcnow
from core.events import emit
from core.ids import new_id
from core.money import AmountError, CurrencyError, check_minor, currency_code
from core.vault import VaultError
from settlement import balance_transactions
from settlement.balance_transactions import AVAILABLE
from settlement.bankfiles import BankAccountError, BankFileError, BankFileInvalid
from settlement.fees.compute import FeeLine, FeeType, payout_fee
from settlement.fees.schedule import FeeSchedule
from settlement.fees.store import FeeScheduleMissing, fee_schedule_for
from settlement.ledger import (
    Journal,
    Ledger,
    LedgerError,
    PostPending,
    Reversal,
    TransferSpec,
    VoidPending,
)
from settlement.payout_screening import PayoutScreening, ScreeningDecision, screen_payout
from settlement.payouts.bank import PayoutBank, issue_bank_file
from settlement.payouts.failures import BLOCKED, DEFAULT_FAILURE, FAILURE_MESSAGES
from settlement.payouts.render import render_payout
from settlement.payouts.state import (
    Action,
    Effect,
    PayoutStateError,
    State,
    Status,
    Transition,
    transition,
)
from settlement.payouts.tables import Payout
from settlement.posting.balance_transaction import BalanceTransactionData
from settlement.schedule import next_business_day

log = logging.getLogger("corridor.payouts")

MERCHANT_AVAILABLE: Final = "merchant_available"
IN_TRANSIT: Final = "payouts_in_transit"
PLATFORM_FEES: Final = "platform_fees"
BANK: Final = "bank"
METHODS: Final = ("standard",)


class PayoutError(ValueError):
    """A payout request refused; ``code`` and ``param`` follow Stripe's error objects."""

    def __init__(self, message: str, *, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.param = param


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _fee_schedule(session: Session, account_id: str) -> FeeSchedule:
    try:
        return fee_schedule_for(session, account_id)
    except FeeScheduleMissing:
        return FeeSchedule()


def payout_fee_line(session: Session, account_id: str, currency: str) -> FeeLine | None:
    """The fee a payout costs the account (its fee schedule, else the platform default)."""
    return payout_fee(_fee_schedule(session, account_id), currency)


def available_balance(session: Session, account_id: str, currency: str) -> int:
    """What the merchant may pay out now: ``merchant_available`` less its reservations."""
    ledger = Ledger(session)
    account = ledger.account(account_id, MERCHANT_AVAILABLE, currency)
    return ledger.balance(account.id).available


def get_payout(session: Session, payout_id: str, *, lock: bool = False) -> Payout | None:
    query = select(Payout).where(Payout.id == payout_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).one_or_none()


# -- create --------------------------------------------------------------------------------


def create_payout(
    session: Session,
    account_id: str,
    *,
    amount: int,
    currency: str | None = None,
    description: str | None = None,
    statement_descriptor: str | None = None,
    metadata: dict[str, str] | None = None,
    method: str = "standard",
    automatic: bool = False,
    schedule_key: str | None = None,
    bank: PayoutBank | None = None,
    now: dt.datetime | None = None,
) -> Payout:
    """Reserve ``amount`` (+ the payout fee) of the available balance, screen, and send.

    Returns the payout ``in_transit`` (sent, with its validated bank file), ``pending``
    with ``review_hold`` (compliance review), or ``failed`` (blocked, or a bank file
    that could not be built; the funds are back).
    """
    now = now or utcnow()
    account = session.get(Account, account_id)
    if account is None:
        raise PayoutError(f"No such account: '{account_id}'", code="resource_missing")
    if account.status != "active":
        raise PayoutError(
            f"Payouts are not enabled for this account (it is {account.status}).",
            code="payouts_not_allowed",
        )
    try:
        currency = currency_code(currency or account.default_currency)
        amount = check_minor(amount)
    except CurrencyError as exc:
        raise PayoutError(str(exc), code="parameter_invalid", param="currency") from exc
    except AmountError as exc:
        raise PayoutError(str(exc), code="parameter_invalid_integer", param="amount") from exc
    if currency != account.default_currency:
        raise PayoutError(
            f"The account's balance is kept in {account.default_currency.lower()}; "
            f"it cannot pay out {currency.lower()}.",
            code="parameter_invalid",
            param="currency",
        )
    if amount < 1:
        raise PayoutError("Payouts must be for a positive amount.", code="amount_too_small")
    if statement_descriptor is not None and len(statement_descriptor) > 22:
        raise PayoutError(
            "The statement descriptor is at most 22 characters.",
            code="parameter_invalid",
            param="statement_descriptor",
        )
    if method not in METHODS:
        raise PayoutError(
            f"Payout method {method!r} is not supported; use 'standard'.",
            code="parameter_invalid",
            param="method",
        )
    destination = account.external_account
    if not destination or destination.get("currency") != currency.lower():
        raise PayoutError(
            f"The account has no bank account for {currency.lower()} payouts.",
            code="resource_missing",
            param="destination",
        )
    fee_line = payout_fee_line(session, account_id, currency)
    fee = fee_line.amount if fee_line else 0
    available = available_balance(session, account_id, currency)
    if amount + fee > available:
        raise _insufficient(amount, fee, available, currency)

    payout = Payout(
        id=new_id("po"),
        account_id=account_id,
        amount=amount,
        fee=fee,
        currency=currency,
        status=Status.PENDING.value,
        method=method,
        description=description,
        statement_descriptor=statement_descriptor,
        metadata_=dict(metadata or {}),
        automatic=automatic,
        destination=dict(destination),
        arrival_date=_midnight(next_business_day(now.astimezone(dt.UTC).date())),
        review_hold=False,
        schedule_key=schedule_key,
        created=now,
        updated=now,
    )
    session.add(payout)
    session.flush()
    # Compliance before the ledger, as in every money flow: screening locks compliance's
    # rows (the audit chain's head, the history buckets), payments take those before the
    # ledger's accounts, and taking them in the other order here deadlocked concurrent
    # payments and payouts on PostgreSQL. If the reservation then fails, the screening
    # rolls back with it.
    outcome = screen_payout(
        session,
        PayoutScreening(
            payout_id=payout.id,
            account_id=account_id,
            amount=amount,
            currency=currency,
            automatic=automatic,
            beneficiary_name=destination.get("account_holder_name") or "",
            beneficiary_country=destination.get("country") or "",
            merchant_country=account.country,
            bank_name=destination.get("bank_name"),
        ),
    )
    journal_id = _reserve(session, payout, available)
    row = balance_transactions.record(
        session,
        account_id,
        _bt_data(payout, "payout", "payout", -amount, fee, "Payout fee"),
        status=AVAILABLE,
        available_on=now,
        journal_id=journal_id,
        description=description or "Payout",
    )
    payout.balance_transaction_id = row.id
    session.flush()
    emit(session, account_id, "payout.created", render_payout(payout))

    if outcome.decision is ScreeningDecision.ALLOW:
        _send(session, payout, bank, now)
    elif outcome.decision is ScreeningDecision.REVIEW:
        _apply(payout, transition(_state(payout), Action.HOLD), now)
        payout.review_reference = outcome.reference
        session.flush()
    else:
        _fail(session, payout, BLOCKED, FAILURE_MESSAGES[BLOCKED], now)
    return payout


def _insufficient(amount: int, fee: int, available: int, currency: str) -> PayoutError:
    needed = f"{amount} + {fee} fee" if fee else f"{amount}"
    return PayoutError(
        f"The available balance ({available} {currency.lower()}) cannot cover this payout "
        f"({needed}).",
        code="balance_insufficient",
        param="amount",
    )


def _reserve(session: Session, payout: Payout, available: int) -> str | None:
    ledger = Ledger(session)
    source = ledger.account(payout.account_id, MERCHANT_AVAILABLE, payout.currency).id
    ops = [
        TransferSpec(
            id=f"payout:{payout.id}",
            debit=source,
            credit=ledger.platform_account(IN_TRANSIT, payout.currency).id,
            amount=payout.amount,
            currency=payout.currency,
            code="payout",
            reference=payout.id,
            pending=True,
        )
    ]
    if payout.fee:
        ops.append(
            TransferSpec(
                id=f"payout:{payout.id}:fee",
                debit=source,
                credit=ledger.platform_account(PLATFORM_FEES, payout.currency).id,
                amount=payout.fee,
                currency=payout.currency,
                code="payout_fee",
                reference=payout.id,
                pending=True,
            )
        )
    header = Journal(code="payout", reference=payout.id, metadata={"account_id": payout.account_id})
    try:
        return ledger.post_or_raise(ops, journal=header)[0].journal_id
    except LedgerError as exc:
        if exc.code == "exceeds_credits":  # a concurrent payout took the money first
            raise _insufficient(payout.amount, payout.fee, available, payout.currency) from exc
        raise


def _bt_data(
    payout: Payout, kind: str, category: str, amount: int, fee: int, fee_description: str
) -> BalanceTransactionData:
    details = (FeeLine(FeeType.CORRIDOR_FEE, fee, payout.currency, fee_description),) if fee else ()
    return BalanceTransactionData(
        type=kind,
        reporting_category=category,
        source=payout.id,
        amount=amount,
        currency=payout.currency,
        fee=fee,
        fee_details=details,
        net=amount - fee,
        exchange_rate=None,
    )


# -- transitions ---------------------------------------------------------------------------


def _state(payout: Payout) -> State:
    return State(Status(payout.status), held=payout.review_hold)


def _apply(payout: Payout, move: Transition, now: dt.datetime) -> None:
    payout.status = move.after.status.value
    payout.review_hold = move.after.held
    if move.changed:
        payout.updated = now


def _send(session: Session, payout: Payout, bank: PayoutBank | None, now: dt.datetime) -> None:
    move = transition(_state(payout), Action.SEND)
    if not move.changed:
        return
    bank = bank or PayoutBank.from_settings()
    try:
        built = issue_bank_file(session, payout, bank, now)
    except BankAccountError as exc:
        log.warning("payout %s: beneficiary account refused: %s", payout.id, exc)
        _fail(session, payout, "invalid_account_number", None, now)
        return
    except (BankFileError, BankFileInvalid, VaultError) as exc:
        log.error("payout %s: no valid bank file could be built: %s", payout.id, exc)
        _fail(session, payout, DEFAULT_FAILURE, None, now)
        return
    previous = {"status": payout.status, "arrival_date": int(payout.arrival_date.timestamp())}
    _apply(payout, move, now)
    execution = dt.date.fromisoformat(payout.bank_file["execution_date"])
    payout.arrival_date = _midnight(next_business_day(execution))
    session.flush()
    log.info("payout %s sent in bank message %s", payout.id, built.message_id)
    emit(
        session,
        payout.account_id,
        "payout.updated",
        render_payout(payout),
        previous_attributes=previous,
    )


def _void_ops(payout: Payout) -> list[Any]:
    ops: list[Any] = [
        VoidPending(
            id=f"payout:{payout.id}:void",
            pending_id=f"payout:{payout.id}",
            code="payout_void",
            reference=payout.id,
        )
    ]
    if payout.fee:
        ops.append(
            VoidPending(
                id=f"payout:{payout.id}:fee:void",
                pending_id=f"payout:{payout.id}:fee",
                code="payout_fee_void",
                reference=payout.id,
            )
        )
    return ops


def _return_ops(ledger: Ledger, payout: Payout) -> list[Any]:
    """A paid payout sent back by the bank: the money comes back the way it went."""
    ops: list[Any] = [
        TransferSpec(
            id=f"payout:{payout.id}:return",
            debit=ledger.platform_account(BANK, payout.currency).id,
            credit=ledger.platform_account(IN_TRANSIT, payout.currency).id,
            amount=payout.amount,
            currency=payout.currency,
            code="payout_return",
            reference=payout.id,
        ),
        Reversal(
            id=f"payout:{payout.id}:reversal",
            reverses=f"payout:{payout.id}:post",
            code="payout_return",
        ),
    ]
    if payout.fee:
        ops.append(
            Reversal(
                id=f"payout:{payout.id}:fee:reversal",
                reverses=f"payout:{payout.id}:fee:post",
                code="payout_fee_return",
            )
        )
    return ops


def _fail(
    session: Session,
    payout: Payout,
    code: str,
    message: str | None,
    now: dt.datetime,
) -> None:
    move = transition(_state(payout), Action.FAIL)
    if not move.changed:
        return
    ledger = Ledger(session)
    ops = _return_ops(ledger, payout) if move.effect is Effect.RETURN else _void_ops(payout)
    results = ledger.post_or_raise(
        ops, journal=Journal(code="payout_failed", reference=payout.id, metadata={"code": code})
    )
    _reverse_balance(session, payout, "payout_failure", now, results[0].journal_id)
    _apply(payout, move, now)
    payout.failure_code = code
    payout.failure_message = message or FAILURE_MESSAGES[code]
    session.flush()
    emit(session, payout.account_id, "payout.failed", render_payout(payout))


def _reverse_balance(
    session: Session, payout: Payout, kind: str, now: dt.datetime, journal_id: str | None
) -> None:
    row = balance_transactions.record(
        session,
        payout.account_id,
        _bt_data(
            payout, kind, "payout_reversal", payout.amount, -payout.fee, "Payout fee returned"
        ),
        status=AVAILABLE,
        available_on=now,
        journal_id=journal_id,
        description=f"{'Failed' if kind == 'payout_failure' else 'Canceled'} payout {payout.id}",
    )
    payout.failure_balance_transaction_id = row.id


def _locked(session: Session, payout_id: str, account_id: str | None) -> Payout:
    payout = get_payout(session, payout_id, lock=True)
    if payout is None or (account_id is not None and payout.account_id != account_id):
        raise PayoutError(f"No such payout: '{payout_id}'", code="resource_missing", param="id")
    return payout


def cancel_payout(
    session: Session,
    payout_id: str,
    *,
    account_id: str | None = None,
    now: dt.datetime | None = None,
) -> Payout:
    """Cancel a pending payout (also one held for review); its funds and fee come back.

    Canceling a canceled payout returns it unchanged; any other state raises
    :class:`~settlement.payouts.state.PayoutStateError`.
    """
    now = now or utcnow()
    payout = _locked(session, payout_id, account_id)
    move = transition(_state(payout), Action.CANCEL)
    if not move.changed:
        return payout
    results = Ledger(session).post_or_raise(
        _void_ops(payout), journal=Journal(code="payout_canceled", reference=payout.id)
    )
    _reverse_balance(session, payout, "payout_cancel", now, results[0].journal_id)
    _apply(payout, move, now)
    session.flush()
    emit(session, payout.account_id, "payout.canceled", render_payout(payout))
    return payout


def release_payout_review(
    session: Session,
    payout_id: str,
    *,
    approve: bool,
    bank: PayoutBank | None = None,
    now: dt.datetime | None = None,
) -> Payout:
    """Compliance decided a held payout: approve sends it, reject cancels it."""
    now = now or utcnow()
    payout = _locked(session, payout_id, None)
    if not approve:
        return cancel_payout(session, payout_id, now=now)
    move = transition(_state(payout), Action.RELEASE)
    _apply(payout, move, now)
    session.flush()
    _send(session, payout, bank, now)
    return payout


def answer_payout(
    session: Session,
    payout_id: str,
    outcome: Literal["paid", "failed"],
    *,
    failure_code: str | None = None,
    now: dt.datetime | None = None,
) -> Payout:
    """Apply the bank's answer: ``paid`` posts the reservation (the money left our bank);
    ``failed`` (a Stripe ``failure_code``, default ``could_not_process``) voids it, or, for
    a payout already paid, returns the money. A repeated answer is a no-op."""
    now = now or utcnow()
    payout = _locked(session, payout_id, None)
    if payout.status == Status.PENDING.value:
        raise PayoutStateError(
            _state(payout),
            Action.PAID if outcome == "paid" else Action.FAIL,
            "The bank cannot answer a payout that was not sent to it.",
        )
    if outcome == "failed":
        code = failure_code or DEFAULT_FAILURE
        if code not in FAILURE_MESSAGES:
            raise PayoutError(
                f"Unknown failure code {code!r}; use one of {', '.join(sorted(FAILURE_MESSAGES))}.",
                code="parameter_invalid",
                param="failure_code",
            )
        _fail(session, payout, code, None, now)
        return payout
    if outcome != "paid":
        raise PayoutError(
            "outcome must be 'paid' or 'failed'", code="parameter_invalid", param="outcome"
        )
    move = transition(_state(payout), Action.PAID)
    if not move.changed:
        return payout
    ledger = Ledger(session)
    ops: list[Any] = [
        PostPending(id=f"payout:{payout.id}:post", pending_id=f"payout:{payout.id}"),
        TransferSpec(
            id=f"payout:{payout.id}:bank",
            debit=ledger.platform_account(IN_TRANSIT, payout.currency).id,
            credit=ledger.platform_account(BANK, payout.currency).id,
            amount=payout.amount,
            currency=payout.currency,
            code="payout_paid",
            reference=payout.id,
        ),
    ]
    if payout.fee:
        ops.append(
            PostPending(id=f"payout:{payout.id}:fee:post", pending_id=f"payout:{payout.id}:fee")
        )
    ledger.post_or_raise(ops, journal=Journal(code="payout_paid", reference=payout.id))
    _apply(payout, move, now)
    session.flush()
    emit(session, payout.account_id, "payout.paid", render_payout(payout))
    return payout

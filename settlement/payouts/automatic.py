"""Automatic payouts: on each schedule date, the whole available balance goes to the bank.

For an account whose payout interval is not ``manual`` and whose schedule falls on
``day`` (:func:`settlement.schedule.payout_due`), one payout of the available balance
less the payout fee, if that reaches the account's minimum
(:func:`settlement.schedule.minimum_payout`). It waits until the day's settlement run
has happened (no due, unsettled BalanceTransactions up to the day's cut-off), so the
payout includes what became available that day. ``schedule_key``
(``auto:<account>:<currency>:<day>``, unique) makes it happen at most once per date,
however many sweeps and workers ask.

The periodic job ``payouts.automatic`` (hourly) walks the accounts in id order (keyset
pages) and makes each account's payout in its own transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Final

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core import jobs
from core.accounts import Account
from core.database import Database, utcnow
from core.tasks import periodic
from settlement.balance_transactions import BalanceTransaction
from settlement.payouts.bank import PayoutBank
from settlement.payouts.service import available_balance, create_payout, payout_fee_line
from settlement.payouts.tables import Payout
from settlement.runs.tables import unsettled
from settlement.schedule import (
    ScheduleError,
    cut_off,
    minimum_payout,
    payout_due,
    payout_schedule,
)

log = logging.getLogger("corridor.payouts")

JOB: Final = "payouts.automatic"
EVERY: Final = dt.timedelta(hours=1)
PAGE: Final = 200


def schedule_key(account_id: str, currency: str, day: dt.date) -> str:
    return f"auto:{account_id}:{currency}:{day.isoformat()}"


def _unsettled(session: Session, account_id: str, currency: str, day: dt.date) -> bool:
    bt = BalanceTransaction
    return bool(
        session.scalar(
            select(
                exists().where(
                    bt.account_id == account_id,
                    bt.currency == currency,
                    unsettled(bt),
                    bt.available_on <= cut_off(day),
                )
            )
        )
    )


def automatic_payout(
    session: Session,
    account: Account,
    day: dt.date,
    *,
    bank: PayoutBank | None = None,
    now: dt.datetime | None = None,
) -> Payout | None:
    """The account's automatic payout for ``day``: the existing one, a new one, or None."""
    try:
        schedule = payout_schedule(account.settings)
        if not payout_due(schedule, day):
            return None
        currency = account.default_currency
        minimum = minimum_payout(account.settings, currency)
    except ScheduleError as exc:
        log.warning("account %s: payout schedule not followed: %s", account.id, exc)
        return None
    destination = account.external_account
    if account.status != "active" or not destination:
        return None
    if destination.get("currency") != currency.lower():
        return None
    key = schedule_key(account.id, currency, day)
    existing = session.scalars(select(Payout).where(Payout.schedule_key == key)).one_or_none()
    if existing is not None:
        return existing
    if _unsettled(session, account.id, currency, day):
        return None  # the day's settlement run has not happened yet
    line = payout_fee_line(session, account.id, currency)
    amount = available_balance(session, account.id, currency) - (line.amount if line else 0)
    if amount < minimum:
        return None
    descriptor = ((account.settings or {}).get("payouts") or {}).get("statement_descriptor")
    return create_payout(
        session,
        account.id,
        amount=amount,
        currency=currency,
        statement_descriptor=descriptor[:22] if descriptor else None,
        automatic=True,
        schedule_key=key,
        bank=bank,
        now=now,
    )


def run_automatic_payouts(
    db: Database, day: dt.date | None = None, *, bank: PayoutBank | None = None
) -> int:
    """Make every account's automatic payout for ``day`` (today, UTC); returns how many
    payouts exist for the day after the walk (made now or earlier)."""
    day = day or utcnow().date()
    made = 0
    after = ""
    while True:
        with db.transaction(write=False) as session:
            ids = list(
                session.scalars(
                    select(Account.id).where(Account.id > after).order_by(Account.id).limit(PAGE)
                )
            )
        for account_id in ids:

            def work(session: Session, account_id: str = account_id) -> bool:
                account = session.get(Account, account_id)
                return account is not None and (
                    automatic_payout(session, account, day, bank=bank) is not None
                )

            made += db.run(work)
        if len(ids) < PAGE:
            return made
        after = ids[-1]


@jobs.job_handler(JOB)
def _automatic_payouts(db: Database) -> None:
    run_automatic_payouts(db)


periodic(JOB, EVERY)

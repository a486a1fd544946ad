"""Automatic payouts per schedule, once per date, after the day's settlement run."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.accounts import Account
from core.database import Database
from core.keyring import Keyring
from settlement.fees import FeeSchedule, save_fee_schedule
from settlement.payouts import Payout, PayoutBank
from settlement.payouts.automatic import automatic_payout, run_automatic_payouts
from settlement.runs import run_settlement
from settlement.schedule import cut_off
from tests.settlement.settlement_world import (
    T0,
    assert_books_agree,
    balances,
    capture,
    ledger_verified,  # noqa: F401  (fixture)
    make_bank,
    make_keyring,
    merchant,
)

pytestmark = pytest.mark.usefixtures("ledger_verified")

WEDNESDAY = dt.date(2025, 3, 5)
FRIDAY = dt.date(2025, 3, 7)


@pytest.fixture
def keyring() -> Keyring:
    return make_keyring()


@pytest.fixture
def bank(keyring: Keyring) -> PayoutBank:
    return make_bank(keyring)


def schedule(**fields: object) -> dict:
    return {"payouts": {"schedule": {"delay_days": 2, **fields}}}


def test_a_daily_payout_pays_the_available_balance_once_per_date(
    db: Database, keyring: Keyring, bank: PayoutBank
) -> None:
    with db.transaction() as session:
        account = merchant(session, keyring, settings=schedule(interval="daily"))
        save_fee_schedule(session, FeeSchedule(owner=account.id, payout_fixed={"EUR": 25}))
        capture(session, account, 8_000)
        account_id = account.id
    at = cut_off(WEDNESDAY) + dt.timedelta(hours=3)
    with db.transaction() as session:
        account = session.get(Account, account_id)
        assert automatic_payout(session, account, WEDNESDAY, bank=bank, now=at) is None  # not run

    run_settlement(db, account_id, "EUR", cut_off(WEDNESDAY))
    with db.transaction() as session:
        account = session.get(Account, account_id)
        payout = automatic_payout(session, account, WEDNESDAY, bank=bank, now=at)
        assert payout is not None
        assert (payout.automatic, payout.amount, payout.fee, payout.status) == (
            True,
            7_975,
            25,
            "in_transit",
        )
        assert payout.schedule_key == f"auto:{account_id}:EUR:2025-03-05"
        first_id = payout.id
    with db.transaction() as session:
        account = session.get(Account, account_id)
        again = automatic_payout(session, account, WEDNESDAY, bank=bank, now=at)
        assert again is not None and again.id == first_id
        # The next day there is nothing left to pay out.
        assert (
            automatic_payout(session, account, WEDNESDAY + dt.timedelta(days=1), bank=bank) is None
        )
        assert balances(session, account_id)["spendable"] == 0
        assert_books_agree(session, account_id)


def test_weekly_monthly_manual_and_minimum(
    db: Database, keyring: Keyring, bank: PayoutBank
) -> None:
    with db.transaction() as session:
        weekly = merchant(
            session, keyring, settings=schedule(interval="weekly", weekly_anchor="friday")
        )
        monthly = merchant(
            session, keyring, settings=schedule(interval="monthly", monthly_anchor=31)
        )
        manual = merchant(session, keyring, settings=schedule(interval="manual"))
        small = merchant(
            session, keyring, settings={**schedule(), "payouts": {"minimum_amount": 100_000}}
        )
        ids = [a.id for a in (weekly, monthly, manual, small)]
        for account in (weekly, monthly, manual, small):
            capture(session, account, 5_000)
    for account_id in ids:
        run_settlement(db, account_id, "EUR", cut_off(WEDNESDAY))

    assert run_automatic_payouts(db, WEDNESDAY, bank=bank) == 0
    assert run_automatic_payouts(db, FRIDAY, bank=bank) == 1  # the weekly merchant
    assert run_automatic_payouts(db, FRIDAY, bank=bank) == 1  # the same payout, not another
    assert run_automatic_payouts(db, dt.date(2025, 3, 31), bank=bank) == 1  # monthly, on the 31st
    with db.transaction() as session:
        payouts = session.scalars(select(Payout).order_by(Payout.created)).all()
        assert [(p.account_id, p.amount) for p in payouts] == [(ids[0], 5_000), (ids[1], 5_000)]
        assert session.scalar(select(func.count()).select_from(Payout)) == 2
        for account_id in ids:
            assert_books_agree(session, account_id)


def test_accounts_without_a_bank_account_are_skipped(db: Database, bank: PayoutBank) -> None:
    with db.transaction() as session:
        account = merchant(session, settings=schedule())
        capture(session, account, 5_000, at=T0)
        account_id = account.id
    run_settlement(db, account_id, "EUR", cut_off(WEDNESDAY))
    assert run_automatic_payouts(db, WEDNESDAY, bank=bank) == 0

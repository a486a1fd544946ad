"""The beat: due settlement runs are created for every account, and reserves released."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import settlement.payouts.automatic  # noqa: F401  (registers payouts.automatic)
from core import jobs
from core.database import Database, utcnow
from core.tasks import run_pending, sweep
from settlement.balance_transactions import AVAILABLE, PENDING, BalanceTransaction
from settlement.runs import SettlementRun
from settlement.runs.jobs import RELEASE_RESERVES, schedule_runs
from settlement.schedule import latest_cut_off
from tests.settlement.settlement_world import (
    assert_books_agree,
    balances,
    capture,
    ledger_verified,  # noqa: F401  (fixture)
    merchant,
)

pytestmark = pytest.mark.usefixtures("ledger_verified")


def test_the_beat_settles_every_due_account_once_and_releases_reserves(db: Database) -> None:
    now = utcnow()
    with db.transaction() as session:
        euro = merchant(session, settings={"reserve": {"percent": 10, "days": 0}})
        capture(session, euro, 5_000, at=now - dt.timedelta(days=3))
        capture(session, euro, 700, at=now)  # not due for two more days
        yen = merchant(session, country="JP", currency="JPY")
        capture(session, yen, 12_000, at=now - dt.timedelta(days=3))
        idle = merchant(session)
        capture(session, idle, 1_000, at=now)
        ids = (euro.id, yen.id, idle.id)

    # The first sweep enqueues the periodic jobs stamped a moment after its own "now", so
    # they are due from the next sweep on (as in the embedded worker's loop).
    sweep(db)
    assert run_pending(db) >= 5  # three periodic jobs, then one run per due account
    with db.transaction() as session:
        runs = session.scalars(select(SettlementRun).order_by(SettlementRun.currency)).all()
        assert [(r.account_id, r.currency, r.net, r.status) for r in runs] == [
            (ids[0], "EUR", 5_000, "succeeded"),
            (ids[1], "JPY", 12_000, "succeeded"),
        ]
        assert {r.cut_off for r in runs} == {latest_cut_off(now)}
        assert schedule_runs(session, now) == 0  # nothing due any more
        statuses = {
            (row.account_id, row.type, row.status)
            for row in session.scalars(select(BalanceTransaction))
        }
        assert (ids[2], "charge", PENDING) in statuses
        assert (ids[1], "charge", AVAILABLE) in statuses
        assert balances(session, ids[0])["reserve"] == 500

    jobs.handler_for(RELEASE_RESERVES).run(db)  # the reserve held 0 days is due
    with db.transaction() as session:
        assert balances(session, ids[0]) == {
            "pending": 700,
            "available": 5_000,
            "reserve": 0,
            "spendable": 5_000,
        }
        for account_id in ids:
            assert_books_agree(session, account_id, "JPY" if account_id == ids[1] else "EUR")

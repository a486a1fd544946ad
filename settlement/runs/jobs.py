"""Background work of settlement: daily runs for every account with due rows, and releases.

Registered with :mod:`core.jobs` when this module is imported (the worker and the app
import it), and scheduled by :func:`core.tasks.periodic` on whatever runs the sweep:

* ``settlement.schedule_runs`` (hourly): for the latest daily cut-off, one
  ``settlement.run`` job per (account, currency) that has due, unsettled rows, keyed on
  the cut-off so a job exists once however often the sweep enqueues;
* ``settlement.run``: one run (:func:`settlement.runs.service.run_settlement`), its own
  transaction, retried with backoff by the job queue;
* ``settlement.release_reserves`` (hourly): releases every reserve that fell due.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import jobs
from core.database import Database, utcnow
from core.tasks import periodic
from settlement.balance_transactions import BalanceTransaction
from settlement.runs.reserves import release_all_due_reserves
from settlement.runs.service import run_settlement
from settlement.runs.tables import unsettled
from settlement.schedule import latest_cut_off

SCHEDULE_RUNS: Final = "settlement.schedule_runs"
RUN: Final = "settlement.run"
RELEASE_RESERVES: Final = "settlement.release_reserves"
EVERY: Final = dt.timedelta(hours=1)


def due_pairs(session: Session, cut_off: dt.datetime) -> list[tuple[str, str]]:
    """(account, currency) pairs with pending, unsettled rows due by ``cut_off``."""
    bt = BalanceTransaction
    query = (
        select(bt.account_id, bt.currency)
        .where(unsettled(bt), bt.available_on <= cut_off)
        .distinct()
        .order_by(bt.account_id, bt.currency)
    )
    return [(row.account_id, row.currency) for row in session.execute(query)]


def schedule_runs(session: Session, now: dt.datetime | None = None) -> int:
    """Enqueue the runs of the latest cut-off; returns how many pairs were due."""
    cut_off = latest_cut_off(now or utcnow())
    pairs = due_pairs(session, cut_off)
    for account_id, currency in pairs:
        jobs.enqueue(
            session,
            RUN,
            f"{RUN}:{account_id}:{currency}:{int(cut_off.timestamp())}",
            {"account_id": account_id, "currency": currency, "cut_off": cut_off.isoformat()},
        )
    return len(pairs)


@jobs.job_handler(SCHEDULE_RUNS)
def _schedule_runs(db: Database) -> None:
    db.run(schedule_runs)


@jobs.job_handler(RUN)
def _run(db: Database, account_id: str, currency: str, cut_off: str) -> None:
    run_settlement(db, account_id, currency, dt.datetime.fromisoformat(cut_off))


@jobs.job_handler(RELEASE_RESERVES)
def _release_reserves(db: Database) -> None:
    release_all_due_reserves(db)


periodic(SCHEDULE_RUNS, EVERY)
periodic(RELEASE_RESERVES, EVERY)

"""Background re-runs: what was not matched yesterday may match today.

A payout the bank books a day late, a provider report imported after the bank statement,
an intent created after its transfer arrived: each leaves a line or an item open until
the next run of its source. This periodic job re-runs every source that has open lines
or open breaks, one transaction per source (a run is idempotent, so a job repeated after
a crash changes nothing twice).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from core import jobs
from core.database import Database
from core.tasks import periodic

from .service import reconcile
from .tables import BreakRow, LineRow

JOB: Final = "reconciliation.rerun_open_sources"
EVERY: Final = dt.timedelta(hours=1)


def sources_with_open_work(session: Session) -> list[str]:
    query = union(
        select(LineRow.source).where(LineRow.status == "open").distinct(),
        select(BreakRow.source).where(BreakRow.status == "open").distinct(),
    )
    return sorted(session.scalars(select(query.subquery().c[0])))


def rerun_open_sources(db: Database, as_of: dt.date | None = None) -> dict[str, dict[str, int]]:
    """Re-run every source with open work; returns each source's outcome counts."""
    sources = db.run(sources_with_open_work, write=False)
    return {
        source: db.run(lambda session, s=source: reconcile(session, s, as_of=as_of)).counts
        for source in sources
    }


@jobs.job_handler(JOB)
def _rerun(db: Database) -> None:
    rerun_open_sources(db)


periodic(JOB, EVERY)

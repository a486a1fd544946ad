"""Settlement runs: due balances made available, the rolling reserve, and run reports.

Service functions (what the API and jobs call)::

    run_settlement(db_or_session, account_id, currency, as_of) -> SettlementRun
    get_run(session, run_id) -> SettlementRun | None
    release_due_reserves(session, now=None) -> int
    settlement_report(session, run_id) -> Iterator[dict]   # also report_csv / report_json
    render_settlement_run(run) -> dict

Background jobs live in :mod:`settlement.runs.jobs` (import it to register them).
"""

from settlement.runs.render import render_settlement_run
from settlement.runs.report import (
    COLUMNS,
    ReportNotFound,
    report_csv,
    report_json,
    settlement_report,
)
from settlement.runs.reserves import release_all_due_reserves, release_due_reserves
from settlement.runs.service import (
    DEFAULT_BATCH_SIZE,
    RunTotals,
    SettlementRunError,
    cut_off_instant,
    get_run,
    run_settlement,
)
from settlement.runs.tables import FAILED, SUCCEEDED, SettlementRun

__all__ = [
    "COLUMNS",
    "DEFAULT_BATCH_SIZE",
    "FAILED",
    "SUCCEEDED",
    "ReportNotFound",
    "RunTotals",
    "SettlementRun",
    "SettlementRunError",
    "cut_off_instant",
    "get_run",
    "release_all_due_reserves",
    "release_due_reserves",
    "render_settlement_run",
    "report_csv",
    "report_json",
    "run_settlement",
    "settlement_report",
]

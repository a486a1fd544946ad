"""The SettlementRun object as the API shows it (Corridor's own resource, Stripe's conventions)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from settlement.runs.tables import SettlementRun


def _ts(value: dt.datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def render_settlement_run(run: SettlementRun) -> dict[str, Any]:
    """``available + reserved == net``; amounts in minor units of ``currency``."""
    return {
        "id": run.id,
        "object": "settlement_run",
        "account": run.account_id,
        "available": run.available,
        "counts": dict(run.counts or {}),
        "created": _ts(run.created),
        "currency": run.currency.lower(),
        "cut_off": _ts(run.cut_off),
        "failure_code": run.failure_code,
        "failure_message": run.failure_message,
        "fee": run.fee,
        "finished": _ts(run.finished),
        "gross": run.gross,
        "journal": run.journal_id,
        "livemode": False,
        "net": run.net,
        "reserve": {
            "amount": run.reserved,
            "rate_ppm": run.reserve_ppm,
            "release_on": _ts(run.reserve_release_on),
        },
        "reserved": run.reserved,
        "status": run.status,
        "transaction_count": run.transaction_count,
    }

"""Reconciliation objects in the API's Stripe-style JSON shapes.

``object`` names the type, ids carry their prefix (``stmt_``, ``rcl_``, ``brk_``,
``rcm_``), ``created`` is Unix seconds, amounts are integer minor units and currency
codes are lower case, as in Stripe's API. The API layer only serialises these.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.database import utcnow

from .breaks import age_days
from .service import statement_counts, statement_lines
from .tables import BreakRow, LineRow, StatementRow


def _balance(amount: int | None, day: dt.date | None) -> dict[str, Any] | None:
    if amount is None:
        return None
    return {"amount": amount, "date": day.isoformat() if day else None}


def render_line(row: LineRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "reconciliation.statement_line",
        "statement": row.statement_id,
        "line_number": row.line_no,
        "booking_date": row.booking_date.isoformat(),
        "value_date": row.value_date.isoformat(),
        "amount": row.amount,
        "currency": row.currency.lower(),
        "direction": row.direction,
        "fee": row.fee,
        "category": row.category,
        "references": {
            "end_to_end_id": row.end_to_end_id,
            "provider_id": row.provider_id,
            "bank_reference": row.bank_reference,
            "batch_id": row.batch_id,
            "remittance_info": row.remittance_info,
            "counterparty_name": row.counterparty_name,
            "counterparty_account": row.counterparty_account,
        },
        "status": row.status,
        "outcome": row.outcome,
        "match": row.match_id,
    }


def render_statement(
    session: Session, row: StatementRow, *, lines_limit: int = 100
) -> dict[str, Any]:
    lines, has_more = statement_lines(session, row.id, limit=lines_limit)
    matched_amount = session.scalar(
        select(func.coalesce(func.sum(LineRow.amount), 0)).where(
            LineRow.statement_id == row.id, LineRow.status == "matched"
        )
    )
    return {
        "id": row.id,
        "object": "reconciliation.statement",
        "created": int(row.imported_at.timestamp()),
        "livemode": False,
        "source": row.source,
        "format": row.format,
        "kind": row.kind,
        "account": row.account,
        "currency": row.currency.lower(),
        "statement_reference": row.statement_ref,
        "file_sha256": row.file_sha256,
        "opening_balance": _balance(row.opening_balance, row.opening_date),
        "closing_balance": _balance(row.closing_balance, row.closing_date),
        "period": {
            "start": row.first_date.isoformat() if row.first_date else None,
            "end": row.last_date.isoformat() if row.last_date else None,
        },
        "counts": statement_counts(session, row),
        "totals": {
            "lines": row.line_count,
            "credits": row.credit_total,
            "debits": row.debit_total,
            "net": row.credit_total - row.debit_total,
            "matched": int(matched_amount or 0),
        },
        "lines": {
            "object": "list",
            "data": [render_line(line) for line in lines],
            "has_more": has_more,
            "url": f"/v1/reconciliation/statements/{row.id}/lines",
        },
    }


def render_break(row: BreakRow, today: dt.date | None = None) -> dict[str, Any]:
    today = today or utcnow().date()
    resolution = None
    if row.status == "resolved":
        resolution = {
            "action": row.resolution,
            "note": row.note,
            "account": row.write_off_account,
            "resolved_by": row.resolved_by,
            "resolved_at": int(row.resolved_at.timestamp()) if row.resolved_at else None,
            "transfers": list(row.transfer_ids or []),
        }
    return {
        "id": row.id,
        "object": "reconciliation.break",
        "created": int(row.created.timestamp()),
        "livemode": False,
        "source": row.source,
        "kind": row.kind,
        "status": row.status,
        "amount": row.amount,
        "currency": row.currency.lower(),
        "difference": row.difference,
        "occurred_on": row.occurred_on.isoformat(),
        "age_days": age_days(row, today),
        "overdue": row.overdue,
        "line": row.line_id,
        "expected": [
            {**item, "currency": str(item["currency"]).lower()} for item in row.expected or []
        ],
        "candidates": list(row.candidates or []),
        "resolution": resolution,
    }

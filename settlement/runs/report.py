"""The settlement report of one run: every row it settled, streamed, as JSON or CSV.

One line per BalanceTransaction the run claimed (payments, refunds, and the run's own
reserve hold and release), with its gross (``amount``), each fee component, the net,
the exchange rate and the presentment amount when the payment was converted. Amounts are
integer minor units of ``currency``; the exchange rate is an exact decimal string (never
a float). Rows are read in keyset pages of ``batch_size`` with plain column selects, so
neither the report nor the session grows with the run.

For every run: the ``net`` of its payment and refund rows sums to ``run.net``, and the
reserve rows to ``-run.reserved`` and ``+run.reserved``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from settlement.balance_transactions import BalanceTransaction
from settlement.fees.compute import FeeType
from settlement.runs.render import render_settlement_run
from settlement.runs.tables import SettlementRun

FEE_COLUMNS: Final = tuple(f"{fee_type.value}" for fee_type in FeeType)
COLUMNS: Final = (
    "balance_transaction",
    "type",
    "reporting_category",
    "source",
    "created",
    "available_on",
    "currency",
    "amount",
    "fee",
    *FEE_COLUMNS,
    "other_fee",
    "net",
    "exchange_rate",
    "presentment_amount",
    "presentment_currency",
    "description",
)
DEFAULT_BATCH: Final = 1000


class ReportNotFound(LookupError):
    pass


def _row(record: Any) -> dict[str, Any]:
    fees = dict.fromkeys(FEE_COLUMNS, 0)
    other = 0
    for detail in record.fee_details or []:
        if detail.get("type") in fees:
            fees[detail["type"]] += int(detail["amount"])
        else:
            other += int(detail["amount"])
    details = record.details or {}
    presentment_currency = details.get("presentment_currency")
    return {
        "balance_transaction": record.id,
        "type": record.type,
        "reporting_category": record.reporting_category,
        "source": record.source,
        "created": int(record.created.timestamp()),
        "available_on": int(record.available_on.timestamp()),
        "currency": record.currency.lower(),
        "amount": record.amount,
        "fee": record.fee,
        **fees,
        "other_fee": other,
        "net": record.net,
        "exchange_rate": record.exchange_rate,
        "presentment_amount": details.get("presentment_amount"),
        "presentment_currency": presentment_currency.lower() if presentment_currency else None,
        "description": record.description,
    }


def settlement_report(
    session: Session, run_id: str, *, batch_size: int = DEFAULT_BATCH
) -> Iterator[dict[str, Any]]:
    """The run's rows as JSON-ready dicts (keys :data:`COLUMNS`), in id order.

    Raises :class:`ReportNotFound` at once (not on first iteration) for an unknown run.
    """
    if session.get(SettlementRun, run_id) is None:
        raise ReportNotFound(run_id)
    return _rows(session, run_id, batch_size)


def _rows(session: Session, run_id: str, batch_size: int) -> Iterator[dict[str, Any]]:
    bt = BalanceTransaction
    columns = select(
        bt.id,
        bt.type,
        bt.reporting_category,
        bt.source,
        bt.created,
        bt.available_on,
        bt.currency,
        bt.amount,
        bt.fee,
        bt.fee_details,
        bt.net,
        bt.exchange_rate,
        bt.details,
        bt.description,
    ).where(bt.settlement_run_id == run_id)
    after: str | None = None
    while True:
        page = columns if after is None else columns.where(bt.id > after)
        records = session.execute(page.order_by(bt.id).limit(batch_size)).all()
        for record in records:
            yield _row(record)
        if len(records) < batch_size:
            return
        after = records[-1].id


def report_csv(session: Session, run_id: str, *, batch_size: int = DEFAULT_BATCH) -> Iterator[str]:
    """The report as CSV text chunks: a header line, then one line per row (ISO dates)."""
    return _csv(settlement_report(session, run_id, batch_size=batch_size))


def _csv(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writeheader()
    yield take()
    for row in rows:
        for name in ("created", "available_on"):
            row[name] = dt.datetime.fromtimestamp(row[name], dt.UTC).isoformat()
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
        yield take()


def report_json(session: Session, run_id: str, *, batch_size: int = DEFAULT_BATCH) -> Iterator[str]:
    """The report as one JSON document, streamed: the run object, then ``data`` row by row."""
    run = session.get(SettlementRun, run_id)
    if run is None:
        raise ReportNotFound(run_id)
    rows = settlement_report(session, run_id, batch_size=batch_size)
    head = {"object": "settlement_run_report", "settlement_run": render_settlement_run(run)}
    return _json(json.dumps(head), rows)


def _json(head: str, rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    yield head[:-1] + ', "data": ['
    first = True
    for row in rows:
        yield ("" if first else ",") + json.dumps(row)
        first = False
    yield "]}"

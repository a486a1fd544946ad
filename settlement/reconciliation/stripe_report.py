"""Stripe's itemized reconciliation reports (CSV) as a provider statement.

Stripe's ``payout_reconciliation.itemized.*`` and ``balance_change_from_activity.itemized.*``
reports are CSV files with one balance transaction a row: ``balance_transaction_id``,
``created_utc``, ``available_on_utc``, ``currency`` (lower case), ``gross``, ``fee``,
``net`` (decimal major units, ``net = gross - fee``), ``reporting_category``,
``source_id``, ``description``, ``automatic_payout_id``,
``automatic_payout_effective_at_utc``, optionally ``payment_intent_id``/``charge_id``.
Columns may come in any order (Stripe lets a report choose and order its columns);
the required ones must be there.

Each row becomes a line: ``amount``/``direction`` from ``gross``, ``fee`` kept, the
provider id is the payment intent (else charge, else source), the bank reference is the
balance transaction, the batch is the automatic payout. The value date is the day the
payout carrying the row is effective (else the day the funds became available): that is
when its money is due at the bank. A file holds one currency (run the report per
currency); ``gross - fee != net`` or an unparseable field refuses the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Final

from core.money import AmountError, CurrencyError, currency_code, parse_major

from .statement import (
    Direction,
    ParsedStatement,
    References,
    StatementKind,
    StatementLine,
    StatementRefused,
)

REQUIRED: Final = (
    "balance_transaction_id",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
)
SIGNATURE: Final = frozenset({"balance_transaction_id", "reporting_category", "gross", "net"})
"""Header columns that tell a Stripe report from any other CSV."""


def _stamp(value: str, column: str, line: int) -> dt.date:
    text = value.strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError as exc:
        raise StatementRefused(f"{column} {text!r} is not a date", line) from exc


def _amount(row: dict[str, str], column: str, currency: str, line: int) -> int:
    text = (row.get(column) or "").strip().replace(",", "")
    try:
        return parse_major(text or "0", currency)
    except (AmountError, CurrencyError) as exc:
        raise StatementRefused(f"{column}: {exc}", line) from exc


def is_stripe_report(header: list[str]) -> bool:
    return {h.strip() for h in header} >= SIGNATURE


def parse_stripe_report(text: str) -> ParsedStatement:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing or not ({"created_utc", "created"} & set(header)):
        missing += [] if {"created_utc", "created"} & set(header) else ["created_utc"]
        raise StatementRefused(f"not a Stripe itemized report: missing {', '.join(missing)}", 1)
    reader.fieldnames = header
    currency: str | None = None
    lines: list[StatementLine] = []
    for row in reader:
        line = reader.line_num
        if None in row or any(v is None for v in row.values()):
            raise StatementRefused("row has a different number of fields than the header", line)
        try:
            row_currency = currency_code(row["currency"].strip())
        except CurrencyError as exc:
            raise StatementRefused(str(exc), line) from exc
        if currency is None:
            currency = row_currency
        elif row_currency != currency:
            raise StatementRefused(
                f"{row_currency} row in a {currency} report (run the report per currency)", line
            )
        gross = _amount(row, "gross", currency, line)
        fee = _amount(row, "fee", currency, line)
        net = _amount(row, "net", currency, line)
        if gross - fee != net:
            raise StatementRefused(f"gross - fee != net ({gross} - {fee} != {net})", line)
        txn = row["balance_transaction_id"].strip()
        if not txn:
            raise StatementRefused("balance_transaction_id is empty", line)
        created = _stamp(row.get("created_utc") or row.get("created") or "", "created_utc", line)
        effective = row.get("automatic_payout_effective_at_utc") or row.get(
            "automatic_payout_effective_at"
        )
        available = row.get("available_on_utc") or row.get("available_on")
        if effective and effective.strip():
            value = _stamp(effective, "automatic_payout_effective_at_utc", line)
        elif available and available.strip():
            value = _stamp(available, "available_on_utc", line)
        else:
            value = created
        provider_id = next(
            (
                v.strip()
                for key in ("payment_intent_id", "charge_id", "source_id")
                if (v := row.get(key)) and v.strip()
            ),
            None,
        )
        lines.append(
            StatementLine(
                line_no=line,
                booking_date=created,
                value_date=value,
                amount=abs(gross),
                currency=currency,
                direction=Direction.CREDIT if gross >= 0 else Direction.DEBIT,
                refs=References(
                    provider_id=provider_id,
                    bank_reference=txn,
                    batch_id=(row.get("automatic_payout_id") or "").strip() or None,
                    remittance_info=(row.get("description") or "").strip() or None,
                ),
                raw=",".join(row.get(h) or "" for h in header),
                fee=fee,
                category=row["reporting_category"].strip() or None,
            )
        )
    if currency is None:
        raise StatementRefused("the report has no rows", 1)
    return ParsedStatement(
        format="stripe_report",
        kind=StatementKind.PROVIDER,
        account="stripe",
        currency=currency,
        lines=tuple(lines),
    )

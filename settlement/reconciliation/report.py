"""The daily reconciliation report: per currency, the bank as the statements say it and as
the ledger says it, and every minor unit of difference explained.

For a day ``D`` and a currency:

- ``statement_balance``: the sum, over the platform's bank accounts in that currency, of
  the closing balance of the latest statement closing on or before ``D``;
- ``ledger_balance``: the ledger's ``bank`` account as of ``D``: its posted balance now,
  less what reconciliation posted for statement lines booked after ``D``;
- reconciling items, each a list of breaks:
  ``unposted_lines`` (open line breaks: on the statement, not yet in the ledger),
  ``ignored_lines`` (lines resolved as ``ignore``: accepted, never posted),
  ``booked_not_on_statement`` (items in the ledger's bank account the statement does
  not show yet, e.g. payouts the bank answered ``paid``) and ``ignored_booked``;
- ``unexplained = statement_balance - ledger_balance - unposted - ignored lines
  + booked_not_on_statement + ignored_booked``: zero when every difference is a known
  break. After all breaks are resolved it must be zero.

Also listed, not part of the balance: items still ``expected`` that nothing has booked
(timing), as a count and an amount.

Only statements that carry balances (camt.053, MT940) make the comparison. Lines of
bank files without balances (camt.054 notifications, CSV exports) are matched and posted
like any other, but are left out of both sides here and shown apart
(``postings_without_balance``); a camt.054 and the camt.053 that later repeats the same
entries would be two imports of the same movements, so import one or the other per
account.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import asdict, dataclass
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.database import utcnow
from settlement.ledger import PLATFORM, Ledger

from .statement import StatementKind
from .tables import BreakRow, LineRow, StatementRow

CSV_COLUMNS: Final = (
    "date",
    "currency",
    "statement_balance",
    "ledger_balance",
    "difference",
    "unposted_lines",
    "ignored_lines",
    "booked_not_on_statement",
    "ignored_booked",
    "unexplained",
    "open_breaks",
    "expected_not_booked_count",
    "expected_not_booked_amount",
    "postings_without_balance",
)


@dataclass(frozen=True, slots=True)
class CurrencyLine:
    date: dt.date
    currency: str
    statement_balance: int
    ledger_balance: int
    difference: int
    unposted_lines: int
    ignored_lines: int
    booked_not_on_statement: int
    ignored_booked: int
    unexplained: int
    open_breaks: int
    expected_not_booked_count: int
    expected_not_booked_amount: int
    postings_without_balance: int


def _statement_balance(session: Session, currency: str, day: dt.date) -> int | None:
    rows = session.execute(
        select(
            StatementRow.account,
            StatementRow.closing_balance,
            StatementRow.closing_date,
            StatementRow.imported_at,
        )
        .where(
            StatementRow.kind == StatementKind.BANK.value,
            StatementRow.currency == currency,
            StatementRow.closing_balance.is_not(None),
            StatementRow.closing_date <= day,
        )
        .order_by(StatementRow.closing_date, StatementRow.imported_at)
    ).all()
    if not rows:
        return None
    latest: dict[str, int] = {}
    for row in rows:
        latest[row.account] = row.closing_balance
    return sum(latest.values())


def _without_balance(session: Session, currency: str) -> int:
    """What reconciliation posted for lines of bank files that carry no balances."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(LineRow.posted_amount), 0))
            .join(StatementRow, StatementRow.id == LineRow.statement_id)
            .where(
                LineRow.kind == StatementKind.BANK.value,
                LineRow.currency == currency,
                StatementRow.closing_balance.is_(None),
            )
        )
        or 0
    )


def _ledger_balance(session: Session, currency: str, day: dt.date) -> int:
    ledger = Ledger(session)
    page = ledger.accounts(owner=PLATFORM, purpose="bank", currency=currency, limit=1)
    now = ledger.balance(page.data[0].id).posted if page.data else 0
    later_lines = session.scalar(
        select(func.coalesce(func.sum(LineRow.posted_amount), 0))
        .join(StatementRow, StatementRow.id == LineRow.statement_id)
        .where(
            LineRow.kind == StatementKind.BANK.value,
            LineRow.currency == currency,
            LineRow.booking_date > day,
            StatementRow.closing_balance.is_not(None),
        )
    )
    later_openings = session.scalar(
        select(func.coalesce(func.sum(StatementRow.opening_posted), 0)).where(
            StatementRow.kind == StatementKind.BANK.value,
            StatementRow.currency == currency,
            StatementRow.opening_date > day,
        )
    )
    return now - int(later_lines or 0) - int(later_openings or 0)


def _bank_sources(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(StatementRow.source)
            .where(StatementRow.kind == StatementKind.BANK.value)
            .distinct()
        )
    )


def currency_line(session: Session, currency: str, day: dt.date) -> CurrencyLine | None:
    statement = _statement_balance(session, currency, day)
    if statement is None:
        return None
    without_balance = _without_balance(session, currency)
    ledger = _ledger_balance(session, currency, day) - without_balance
    sources = _bank_sources(session)
    breaks = session.execute(
        select(
            BreakRow.kind,
            BreakRow.status,
            BreakRow.resolution,
            BreakRow.amount,
            BreakRow.expected,
            BreakRow.occurred_on,
        )
        .outerjoin(LineRow, LineRow.id == BreakRow.line_id)
        .outerjoin(StatementRow, StatementRow.id == LineRow.statement_id)
        .where(
            BreakRow.currency == currency,
            BreakRow.source.in_(sources),
            BreakRow.occurred_on <= day,
            (BreakRow.line_id.is_(None)) | StatementRow.closing_balance.is_not(None),
        )
    ).all()
    unposted = ignored = booked = ignored_booked = open_count = 0
    expected_count = expected_amount = 0
    for row in breaks:
        is_line = row.kind != "expected"
        is_booked = (not is_line) and bool(row.expected and row.expected[0].get("booked_at_bank"))
        if row.status == "open":
            open_count += 1
            if is_line:
                unposted += row.amount
            elif is_booked:
                booked += row.amount
            else:
                expected_count += 1
                expected_amount += row.amount
        elif row.resolution == "ignore":
            if is_line:
                ignored += row.amount
            elif is_booked:
                ignored_booked += row.amount
    difference = statement - ledger
    unexplained = difference - unposted - ignored + booked + ignored_booked
    return CurrencyLine(
        day,
        currency,
        statement,
        ledger,
        difference,
        unposted,
        ignored,
        booked,
        ignored_booked,
        unexplained,
        open_count,
        expected_count,
        expected_amount,
        without_balance,
    )


def daily_report(session: Session, day: dt.date | None = None) -> list[CurrencyLine]:
    """One line per currency with a bank statement on or before ``day`` (default today)."""
    day = day or utcnow().date()
    currencies = sorted(
        set(
            session.scalars(
                select(StatementRow.currency).where(StatementRow.kind == StatementKind.BANK.value)
            )
        )
    )
    return [line for c in currencies if (line := currency_line(session, c, day)) is not None]


def render_report(lines: list[CurrencyLine], day: dt.date) -> dict[str, Any]:
    """The JSON shape: a Stripe-style object with one entry per currency (minor units,
    lower-case currency codes as Stripe writes them)."""
    return {
        "object": "reconciliation.report",
        "date": day.isoformat(),
        "created": int(utcnow().timestamp()),
        "livemode": False,
        "balanced": all(line.unexplained == 0 for line in lines),
        "currencies": [
            {
                **{k: v for k, v in asdict(line).items() if k != "date"},
                "currency": line.currency.lower(),
            }
            for line in lines
        ],
    }


def report_csv(lines: list[CurrencyLine]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        values = asdict(line)
        values["date"] = line.date.isoformat()
        writer.writerow([values[c] for c in CSV_COLUMNS])
    return out.getvalue()

"""An account's statement: its transfers in ``seq`` order, each with the balance after it.

Pages are cut by transfer id (``starting_after``), like every list in the API. The
opening balance of a page is summed from the transfers up to the cursor, so any page
can be read on its own and the running balance always agrees with the totals. The
order is the database's ``seq``, which is deterministic; with concurrent writers it is
the order in which transfers were *inserted*, which can differ slightly from the order
their transactions committed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import accounts
from .balances import side_sums
from .codes import LedgerError
from .purposes import Side
from .records import Balance, Statement, StatementLine
from .storage.rows import TRANSFER_COLUMNS, transfer_from_row
from .tables import transfers

_COLUMNS = [transfers.columns[name] for name in TRANSFER_COLUMNS]


def statement(
    session: Session, account_id: str, *, limit: int = 100, starting_after: str | None = None
) -> Statement:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    account = accounts.get(session, account_id)
    if account is None:
        raise LedgerError("account_not_found", message=f"no ledger account {account_id!r}")
    t = transfers.c
    after = 0
    if starting_after is not None:
        row = session.execute(
            select(t.seq, t.debit_account_id, t.credit_account_id).where(t.id == starting_after)
        ).first()
        if row is None or account_id not in (row[1], row[2]):
            raise LedgerError(
                "cursor_not_found",
                message=f"transfer {starting_after!r} is not on account {account_id}",
            )
        after = row[0]
    opening = Balance(
        account.id, account.currency, account.normal, side_sums(session, account_id, max_seq=after)
    )
    # Two index range scans (debit side, credit side), merged: cheaper than an OR.
    rows = []
    for column in (t.debit_account_id, t.credit_account_id):
        query = (
            select(*_COLUMNS)
            .where(column == account_id, t.seq > after)
            .order_by(t.seq)
            .limit(limit + 1)
        )
        rows.extend(session.execute(query))
    page = sorted((transfer_from_row(r) for r in rows), key=lambda tr: tr.seq or 0)
    has_more = len(page) > limit
    posted, pending = opening.posted, opening.pending
    lines: list[StatementLine] = []
    for transfer in page[:limit]:
        side = Side.DEBIT if transfer.debit_account_id == account_id else Side.CREDIT
        sign = 1 if side is account.normal else -1
        posted_change = sign * transfer.posted_amount
        pending_change = sign * transfer.pending_change
        posted += posted_change
        pending += pending_change
        lines.append(StatementLine(transfer, side, posted_change, pending_change, posted, pending))
    return Statement(account, opening.posted, opening.pending, lines, has_more)

"""List reads with Stripe's cursor pagination (``limit``, ``starting_after``, ``ending_before``).

Transfers list newest first (``seq`` descending), as Stripe lists objects; accounts list
in id order, which is stable because accounts are never deleted. ``starting_after``
continues after the named object in list order, ``ending_before`` pages back towards
the start; ``has_more`` says whether the list continues in the direction of travel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from .codes import LedgerError
from .records import Account, Page, Transfer
from .storage.rows import ACCOUNT_COLUMNS, TRANSFER_COLUMNS, account_from_row, transfer_from_row
from .tables import accounts, transfers

T = TypeVar("T")

_TRANSFER_COLUMNS = [transfers.columns[name] for name in TRANSFER_COLUMNS]
_ACCOUNT_COLUMNS = [accounts.columns[name] for name in ACCOUNT_COLUMNS]


def _page(
    session: Session,
    query: Select[Any],
    key: ColumnElement[Any],
    cursor_of: Callable[[str], Any],
    *,
    descending: bool,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
    build: Callable[[Any], T],
) -> Page[T]:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if starting_after is not None and ending_before is not None:
        raise ValueError("starting_after and ending_before are mutually exclusive")
    forward = ending_before is None
    if starting_after is not None:
        cursor = cursor_of(starting_after)
        query = query.where(key < cursor if descending else key > cursor)
    if ending_before is not None:
        cursor = cursor_of(ending_before)
        query = query.where(key > cursor if descending else key < cursor)
    # Read in the direction of travel, then present in list order.
    ascending = descending != forward
    query = query.order_by(key.asc() if ascending else key.desc()).limit(limit + 1)
    rows = list(session.execute(query))
    has_more = len(rows) > limit
    rows = rows[:limit]
    if not forward:
        rows.reverse()
    return Page([build(r) for r in rows], has_more)


def list_transfers(
    session: Session,
    *,
    account_id: str | None = None,
    reference: str | None = None,
    code: str | None = None,
    currency: str | None = None,
    journal_id: str | None = None,
    kind: str | None = None,
    limit: int = 100,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> Page[Transfer]:
    t = transfers.c
    query = select(*_TRANSFER_COLUMNS)
    if account_id is not None:
        query = query.where(
            (t.debit_account_id == account_id) | (t.credit_account_id == account_id)
        )
    for column, value in (
        (t.reference, reference),
        (t.code, code),
        (t.currency, currency.upper() if currency else None),
        (t.journal_id, journal_id),
        (t.kind, kind),
    ):
        if value is not None:
            query = query.where(column == value)

    def seq_of(transfer_id: str) -> int:
        seq = session.execute(select(t.seq).where(t.id == transfer_id)).scalar()
        if seq is None:
            raise LedgerError("cursor_not_found", message=f"no transfer {transfer_id!r}")
        return seq

    return _page(
        session,
        query,
        t.seq,
        seq_of,
        descending=True,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
        build=transfer_from_row,
    )


def list_accounts(
    session: Session,
    *,
    owner: str | None = None,
    purpose: str | None = None,
    currency: str | None = None,
    limit: int = 100,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> Page[Account]:
    a = accounts.c
    query = select(*_ACCOUNT_COLUMNS)
    for column, value in (
        (a.owner, owner),
        (a.purpose, purpose),
        (a.currency, currency.upper() if currency else None),
    ):
        if value is not None:
            query = query.where(column == value)
    return _page(
        session,
        query,
        a.id,
        lambda account_id: account_id,
        descending=False,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
        build=account_from_row,
    )

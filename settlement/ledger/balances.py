"""Balances now (from the account row) and as of a past moment (from the transfers).

The stored totals are the fast path and what postings lock; ``as_of`` recomputes the
same four totals from the insert-only history, counting the transfers stamped at or
before that moment. A reservation counts as pending from its timestamp until the
transfer that resolved it (post, void or expiry), which carries the released amount.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from . import accounts
from .codes import LedgerError
from .records import Balance, Totals, TransferKind
from .tables import transfers

_t = transfers.c
POSTED_EFFECT: ColumnElement[int] = case(
    (_t.kind == TransferKind.PENDING.value, 0), else_=_t.amount
)
"""What a transfer adds to posted totals: its amount, unless it is a reservation."""
PENDING_EFFECT: ColumnElement[int] = case(
    (_t.kind == TransferKind.PENDING.value, _t.amount), else_=-_t.released
)
"""What a transfer adds to pending totals: a reservation adds, a resolution releases."""


def side_sums(
    session: Session,
    account_id: str,
    *,
    as_of: dt.datetime | None = None,
    max_seq: int | None = None,
) -> Totals:
    """The account's four totals summed from its transfers, optionally cut off."""
    sums: dict[str, tuple[int, int]] = {}
    for side, column in (("debit", _t.debit_account_id), ("credit", _t.credit_account_id)):
        query = select(
            func.coalesce(func.sum(PENDING_EFFECT), 0), func.coalesce(func.sum(POSTED_EFFECT), 0)
        ).where(column == account_id)
        if as_of is not None:
            query = query.where(_t.timestamp <= as_of)
        if max_seq is not None:
            query = query.where(_t.seq <= max_seq)
        pending, posted = session.execute(query).one()
        sums[side] = (int(pending), int(posted))
    return Totals(sums["debit"][0], sums["debit"][1], sums["credit"][0], sums["credit"][1])


def balance(session: Session, account_id: str, as_of: dt.datetime | None = None) -> Balance:
    account = accounts.get(session, account_id)
    if account is None:
        raise LedgerError("account_not_found", message=f"no ledger account {account_id!r}")
    if as_of is None:
        return account.balance
    if as_of.tzinfo is None:
        raise ValueError("as_of must be a timezone-aware (UTC) datetime")
    totals = side_sums(session, account_id, as_of=as_of)
    return Balance(account.id, account.currency, account.normal, totals, as_of=as_of)

"""Converting between stored rows and the ledger's records, shared by every backend."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ..engine import AccountState
from ..purposes import Side
from ..records import Account, JournalRecord, Totals, Transfer, TransferKind

TRANSFER_COLUMNS = (
    "seq",
    "id",
    "kind",
    "debit_account_id",
    "credit_account_id",
    "currency",
    "amount",
    "released",
    "pending_id",
    "reverses_id",
    "timeout_seconds",
    "timeout_at",
    "code",
    "reference",
    "journal_id",
    "timestamp",
    "metadata",
    "checksum",
)
"""Column order of every transfer row a backend returns to :func:`transfer_from_row`."""

ACCOUNT_STATE_COLUMNS = (
    "id",
    "currency",
    "debits_must_not_exceed_credits",
    "credits_must_not_exceed_debits",
    "debits_pending",
    "debits_posted",
    "credits_pending",
    "credits_posted",
)

ACCOUNT_COLUMNS = (
    "id",
    "owner",
    "purpose",
    "currency",
    "normal",
    "debits_must_not_exceed_credits",
    "credits_must_not_exceed_debits",
    "debits_pending",
    "debits_posted",
    "credits_pending",
    "credits_posted",
    "created",
)


def utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def transfer_from_row(row: Sequence[Any]) -> Transfer:
    (
        seq,
        id_,
        kind,
        debit,
        credit,
        currency,
        amount,
        released,
        pending_id,
        reverses_id,
        timeout_seconds,
        timeout_at,
        code,
        reference,
        journal_id,
        timestamp,
        metadata,
        checksum,
    ) = row
    return Transfer(
        id=id_,
        seq=seq,
        kind=TransferKind(kind),
        debit_account_id=debit,
        credit_account_id=credit,
        currency=currency,
        amount=amount,
        released=released,
        pending_id=pending_id,
        reverses_id=reverses_id,
        timeout_seconds=timeout_seconds,
        timeout_at=utc(timeout_at),
        code=code,
        reference=reference,
        journal_id=journal_id,
        timestamp=utc(timestamp),  # type: ignore[arg-type]
        metadata=dict(metadata or {}),
        checksum=checksum,
    )


def account_state_from_row(row: Sequence[Any]) -> AccountState:
    return AccountState(
        id=row[0],
        currency=row[1],
        debits_must_not_exceed_credits=bool(row[2]),
        credits_must_not_exceed_debits=bool(row[3]),
        debits_pending=row[4],
        debits_posted=row[5],
        credits_pending=row[6],
        credits_posted=row[7],
    )


def account_from_row(row: Sequence[Any]) -> Account:
    return Account(
        id=row[0],
        owner=row[1],
        purpose=row[2],
        currency=row[3],
        normal=Side(row[4]),
        debits_must_not_exceed_credits=bool(row[5]),
        credits_must_not_exceed_debits=bool(row[6]),
        totals=Totals(row[7], row[8], row[9], row[10]),
        created=utc(row[11]),  # type: ignore[arg-type]
    )


def journal_from_row(row: Sequence[Any]) -> JournalRecord:
    id_, code, reference, rate, quote_id, metadata, created = row
    return JournalRecord(
        id=id_,
        code=code,
        reference=reference,
        rate=rate,
        quote_id=quote_id,
        metadata=dict(metadata or {}),
        created=utc(created),  # type: ignore[arg-type]
    )

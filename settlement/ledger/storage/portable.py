"""The portable backend, in SQLAlchemy Core: the embedded SQLite default.

SQLite has one writer at a time (the session starts with ``BEGIN IMMEDIATE``), so the
"lock" step only reads the accounts; ``FOR UPDATE`` is rendered on databases that have
it. Statements run in-process, so issuing one ``UPDATE`` per touched account costs no
round trips. Multi-row inserts go through SQLAlchemy's ``insertmanyvalues``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.database import RetryableConflict

from ..engine import AccountState, Outcome
from ..records import Transfer
from ..tables import accounts, failed_transfers, journals, transfers
from .rows import ACCOUNT_STATE_COLUMNS, TRANSFER_COLUMNS, account_state_from_row, transfer_from_row

_TRANSFER_COLS = [transfers.columns[name] for name in TRANSFER_COLUMNS]
_ACCOUNT_STATE_COLS = [accounts.columns[name] for name in ACCOUNT_STATE_COLUMNS]
_CHUNK = 500
"""Ids per ``IN (...)`` list, well under SQLite's bound-parameter limit."""


def _chunks(values: Collection[str]) -> list[list[str]]:
    items = list(values)
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


_UPDATE_TOTALS = (
    update(accounts)
    .where(accounts.c.id == bindparam("a_id"))
    .values(
        debits_pending=accounts.c.debits_pending + bindparam("a_dpe"),
        debits_posted=accounts.c.debits_posted + bindparam("a_dpo"),
        credits_pending=accounts.c.credits_pending + bindparam("a_cpe"),
        credits_posted=accounts.c.credits_posted + bindparam("a_cpo"),
    )
)


class PortableStore:
    def __init__(self, session: Session) -> None:
        self._connection = session.connection()

    def read_transfers(self, ids: Collection[str]) -> list[Transfer]:
        out: list[Transfer] = []
        for chunk in _chunks(ids):
            rows = self._connection.execute(
                select(*_TRANSFER_COLS).where(transfers.c.id.in_(chunk))
            )
            out.extend(transfer_from_row(r) for r in rows)
        return out

    def lock_accounts(self, ids: Collection[str]) -> dict[str, AccountState]:
        found: dict[str, AccountState] = {}
        for chunk in _chunks(sorted(ids)):
            query = (
                select(*_ACCOUNT_STATE_COLS)
                .where(accounts.c.id.in_(chunk))
                .order_by(accounts.c.id)
                .with_for_update(key_share=True)
            )
            for row in self._connection.execute(query):
                found[row[0]] = account_state_from_row(row)
        return found

    def lock_and_probe(
        self, account_ids: Collection[str], ids: Collection[str], targets: Collection[str]
    ) -> tuple[dict[str, AccountState], list[Transfer], dict[str, str]]:
        locked = self.lock_accounts(account_ids)
        found, failed = self.probe(ids, targets)
        return locked, found, failed

    def probe(
        self, ids: Collection[str], targets: Collection[str]
    ) -> tuple[list[Transfer], dict[str, str]]:
        found: dict[str, Transfer] = {}
        for chunk in _chunks(set(ids) | set(targets)):
            for row in self._connection.execute(
                select(*_TRANSFER_COLS).where(transfers.c.id.in_(chunk))
            ):
                found[row[1]] = transfer_from_row(row)
        for chunk in _chunks(targets):
            query = select(*_TRANSFER_COLS).where(
                or_(transfers.c.pending_id.in_(chunk), transfers.c.reverses_id.in_(chunk))
            )
            for row in self._connection.execute(query):
                found[row[1]] = transfer_from_row(row)
        failed: dict[str, str] = {}
        for chunk in _chunks(ids):
            query = select(failed_transfers.c.id, failed_transfers.c.code).where(
                failed_transfers.c.id.in_(chunk)
            )
            failed.update({row[0]: row[1] for row in self._connection.execute(query)})
        return list(found.values()), failed

    def prepare(self, transfers: Iterable[Transfer]) -> None:
        """Nothing to prepare: rows are bound as parameters at write time."""

    def try_lone(self, transfer: Transfer) -> int | None:
        """No shortcut in-process: the engine's path costs no round trips here."""
        return None

    def try_lone_and_commit(self, transfer: Transfer) -> bool:
        """Nothing to save in-process: the caller posts and commits as usual."""
        return False

    def write(self, outcome: Outcome) -> dict[str, int]:
        conn = self._connection
        try:
            if outcome.journals:
                conn.execute(
                    insert(journals),
                    [
                        {
                            "id": j.id,
                            "code": j.code,
                            "reference": j.reference,
                            "rate": j.rate,
                            "quote_id": j.quote_id,
                            "metadata": j.metadata,
                            "created": j.created,
                        }
                        for j in outcome.journals
                    ],
                )
            if outcome.failed:
                known = {
                    row[0]
                    for row in conn.execute(
                        select(failed_transfers.c.id).where(
                            failed_transfers.c.id.in_([f[0] for f in outcome.failed])
                        )
                    )
                }
                fresh = [f for f in outcome.failed if f[0] not in known]
                if fresh:
                    conn.execute(
                        insert(failed_transfers),
                        [{"id": i, "code": str(c), "timestamp": outcome.now} for i, c in fresh],
                    )
            if outcome.deltas:
                conn.execute(
                    _UPDATE_TOTALS,
                    [
                        {
                            "a_id": account_id,
                            "a_dpe": d.debits_pending,
                            "a_dpo": d.debits_posted,
                            "a_cpe": d.credits_pending,
                            "a_cpo": d.credits_posted,
                        }
                        for account_id, d in sorted(outcome.deltas.items())
                    ],
                )
            if not outcome.transfers:
                return {}
            rows = conn.execute(
                insert(transfers).returning(
                    transfers.c.id, transfers.c.seq, sort_by_parameter_order=True
                ),
                [_transfer_params(t) for t in outcome.transfers],
            )
            return {row[0]: row[1] for row in rows}
        except IntegrityError as exc:
            if "UNIQUE" in str(exc.orig) or getattr(exc.orig, "sqlstate", None) == "23505":
                raise RetryableConflict("a concurrent posting used the same id") from exc
            raise


def _transfer_params(t: Transfer) -> dict[str, Any]:
    return {
        "id": t.id,
        "kind": str(t.kind),
        "debit_account_id": t.debit_account_id,
        "credit_account_id": t.credit_account_id,
        "currency": t.currency,
        "amount": t.amount,
        "released": t.released,
        "pending_id": t.pending_id,
        "reverses_id": t.reverses_id,
        "timeout_seconds": t.timeout_seconds,
        "timeout_at": t.timeout_at,
        "code": t.code,
        "reference": t.reference,
        "journal_id": t.journal_id,
        "timestamp": t.timestamp,
        "metadata": t.metadata,
        "checksum": t.checksum,
    }

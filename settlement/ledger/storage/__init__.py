"""Where postings are read and written: one small interface, one backend per database.

A posting needs three things from storage, in this order, all inside the caller's
transaction: read the transfers its operations refer to (to learn which accounts a
post-pending or reversal touches; skipped when there are none), lock those accounts in
a fixed order while looking up which operation ids already exist or already failed,
and finally write the engine's outcome. :class:`Store` is that interface; the
PostgreSQL backend does each step in one round trip, the portable backend (SQLite)
with SQLAlchemy Core. A different engine (TigerBeetle, a sharded PostgreSQL) would be
another implementation of the same three calls.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Protocol

from sqlalchemy.orm import Session

from ..engine import AccountState, Outcome
from ..records import Transfer


class Store(Protocol):
    def read_transfers(self, ids: Collection[str]) -> list[Transfer]:
        """Stored transfers with these ids, without locking (a hint for what to lock)."""
        ...

    def prepare(self, transfers: Iterable[Transfer]) -> None:
        """Do, before any lock is taken, whatever encoding of these candidate rows the
        backend can (most of them will be written). Optional work: may do nothing."""
        ...

    def lock_and_probe(
        self, account_ids: Collection[str], ids: Collection[str], targets: Collection[str]
    ) -> tuple[dict[str, AccountState], list[Transfer], dict[str, str]]:
        """Lock the accounts (in id order, until the transaction ends) and return them;
        with the stored transfers whose id is in ``ids`` or ``targets`` or that resolve
        or reverse a target, and the recorded failures among ``ids`` (id -> code)."""
        ...

    def try_lone(self, transfer: Transfer) -> int | None:
        """Apply one single-phase or pending transfer (no journal) if every state rule
        holds, in as few round trips as the backend can; return its sequence number, or
        ``None`` having written nothing, so the engine decides (and records) the outcome.
        Must lock the two accounts exactly as :meth:`lock_and_probe` would."""
        ...

    def try_lone_and_commit(self, transfer: Transfer) -> bool:
        """As :meth:`try_lone`, as the transaction's last statement, committing it in the
        same round trip; or, where the backend cannot or a rule failed, return False
        having written nothing and left the transaction open as it was."""
        ...

    def write(self, outcome: Outcome) -> dict[str, int]:
        """Insert journals, transfers and failures, apply the account deltas; return
        each new transfer's sequence number. A lost race on a unique key raises
        :class:`core.database.RetryableConflict`."""
        ...


_STORE = "ledger_store"


def store_for(session: Session) -> Store:
    """The backend for the session's current connection.

    The PostgreSQL store holds nothing but a cursor on its connection, so one is kept
    per pooled connection (in the pool's ``info`` for it) rather than built, with a new
    cursor, for every posting; the portable one works through the session itself.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        from .postgres import PostgresStore

        info = connection.connection.info
        store = info.get(_STORE)
        if store is None:
            store = info[_STORE] = PostgresStore(session)
        return store
    from .portable import PortableStore

    return PortableStore(session)

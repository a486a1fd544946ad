"""The PostgreSQL backend: a posting of any size in two statements plus its commit.

0. **One transfer, no journal** (the commonest posting): :meth:`PostgresStore.try_lone`
   calls the server-side function ``ledger_post_lone`` (:mod:`.procedure`), one
   statement; if any rule fails it writes nothing and the general path below runs.
1. **Lock and look up.** One statement locks the accounts the posting touches
   (``SELECT ... ORDER BY id FOR NO KEY UPDATE`` in a materialised CTE, so rows are
   locked in id order and two postings over the same accounts queue rather than
   deadlock), and in the same round trip returns the stored transfers and recorded
   failures its operation ids and targets name.
2. **Write.** One statement of data-modifying CTEs inserts the journal headers,
   transfers and failures and applies each touched account's aggregated delta
   (``UPDATE ... FROM``), whatever the batch size.

Rows travel as one JSON document per table (encoded by the C JSON encoder, read with
``jsonb_array_elements``; integers are cast from their exact decimal text, never via a
float), so the SQL text does not depend on the batch size. Small postings reuse
prepared statements; large ones are planned for their actual size (see ``_rows``), and
queue on an advisory lock before locking their rows (see ``LARGE_POSTING_ACCOUNTS``).

The look-up part of statement 1 reads the snapshot taken when the statement started,
so it can miss a transfer committed by a posting it then waited on for a lock. Nothing
is lost by that, because the database has the last word: the unique indexes on
transfer ``id``, ``pending_id`` and ``reverses_id`` refuse a duplicate, a transfer is
only inserted if its id has no recorded failure (checked by the write statement, with
a fresh snapshot), and either case raises :class:`~core.database.RetryableConflict`.
The retried transaction then sees the winner and answers ``exists``,
``id_already_failed`` or ``pending_transfer_already_*`` as it should.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable
from functools import cache, lru_cache
from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.database import RetryableConflict
from core.money import MAX_MINOR_AMOUNT

from ..engine import AccountState, Outcome
from ..records import Transfer, TransferKind
from . import procedure
from .rows import utc

PREPARED_UP_TO = 16
"""Postings of up to this many operations use prepared statements (see ``_rows``)."""

_IDS = "ARRAY(SELECT json_array_elements_text(%({name})s::json))"

_LOCK_AND_PROBE = f"""
WITH locked AS MATERIALIZED (
  SELECT id, currency, debits_must_not_exceed_credits, credits_must_not_exceed_debits,
         debits_pending, debits_posted, credits_pending, credits_posted
  FROM ledger_accounts WHERE id = ANY({_IDS.format(name="accounts")})
  ORDER BY id FOR NO KEY UPDATE
)
SELECT json_build_array(
  (SELECT coalesce(json_agg(json_build_array(
     id, currency, debits_must_not_exceed_credits, credits_must_not_exceed_debits,
     debits_pending, debits_posted, credits_pending, credits_posted)), '[]') FROM locked),
  (SELECT coalesce(json_agg(json_build_array(f.id, f.code)), '[]')
   FROM ledger_failed_transfers f WHERE f.id = ANY({_IDS.format(name="ids")})),
  (SELECT coalesce(json_agg(t), '[]') FROM ledger_transfers t WHERE {{where}})
)::text
"""
"""Locks the accounts in id order and, in the same round trip, returns them with the
recorded failures and stored transfers the posting names: one JSON document."""

_PROBE_IDS = f"t.id = ANY({_IDS.format(name='ids')})"
# The explicit IS NOT NULL lets the planner use the partial unique indexes.
_PROBE_TARGETS = f"""t.id = ANY({_IDS.format(name="ids")})
     OR t.id = ANY({_IDS.format(name="targets")})
     OR (t.pending_id IS NOT NULL AND t.pending_id = ANY({_IDS.format(name="targets")}))
     OR (t.reverses_id IS NOT NULL AND t.reverses_id = ANY({_IDS.format(name="targets")}))"""

_LOCK_AND_PROBE_IDS = _LOCK_AND_PROBE.format(where=_PROBE_IDS)
_LOCK_AND_PROBE_TARGETS = _LOCK_AND_PROBE.format(where=_PROBE_TARGETS)

LARGE_POSTING_LANE = 0x4C45_4447_4552_4C4E  # "LEDGERLN": the advisory lock key
LARGE_POSTING_ACCOUNTS = 64
"""A posting locking more accounts than this first queues on one advisory lock.

Row locks are taken one at a time, so two large postings over overlapping accounts
would each hold part of their set while waiting for the rest, and every other writer
queues behind those partial sets. Large postings serialise anyway; queueing them on a
single transaction lock first keeps their row locking short. It is its own statement,
so that the row-locking statement that follows takes its snapshot after the wait:
otherwise each of its rows, updated by the posting it waited for, would need a
re-check (EvalPlanQual) and thousands of those made four batch writers slower than
one. Small postings never take the lane, so the lock order (lane, then rows by id)
cannot deadlock.
"""
_LANE = f"SELECT pg_advisory_xact_lock({LARGE_POSTING_LANE})"


_READ = f"""
SELECT row_to_json(t)::text FROM ledger_transfers t WHERE t.id = ANY({_IDS.format(name="ids")})
"""

_JOURNALS = """journals AS (
  INSERT INTO ledger_journals (id, code, reference, rate, quote_id, metadata, created)
  SELECT j->>0, j->>1, j->>2, j->>3, j->>4, (j->5)::json, (j->>6)::timestamptz
  FROM jsonb_array_elements(%(journals)s::jsonb) AS j
)"""

_FAILED = """failed AS (
  INSERT INTO ledger_failed_transfers (id, code, "timestamp")
  SELECT f->>0, f->>1, (f->>2)::timestamptz
  FROM jsonb_array_elements(%(failed)s::jsonb) AS f
  ON CONFLICT (id) DO NOTHING
)"""

_TOTALS = """totals AS (
  UPDATE ledger_accounts a SET
    debits_pending = a.debits_pending + (d->>1)::bigint,
    debits_posted = a.debits_posted + (d->>2)::bigint,
    credits_pending = a.credits_pending + (d->>3)::bigint,
    credits_posted = a.credits_posted + (d->>4)::bigint
  FROM jsonb_array_elements(%(totals)s::jsonb) AS d
  WHERE a.id = d->>0
    -- lets the planner fetch the accounts by primary key instead of scanning them all
    AND a.id = ANY(ARRAY(SELECT d->>0 FROM jsonb_array_elements(%(totals)s::jsonb) d))
)"""

_TRANSFERS = """known_failed AS MATERIALIZED (
  SELECT x.id FROM ledger_failed_transfers x
  WHERE x.id = ANY(ARRAY(SELECT v->>0 FROM jsonb_array_elements(%(transfers)s::jsonb) v))
), inserted AS (
  INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id, currency,
    amount, released, pending_id, reverses_id, timeout_seconds, timeout_at, code, reference,
    journal_id, "timestamp", metadata, checksum)
  SELECT v->>0, v->>1, v->>2, v->>3, v->>4, (v->>5)::bigint, (v->>6)::bigint, v->>7, v->>8,
    (v->>9)::integer, (v->>10)::timestamptz, v->>11, v->>12, v->>13, (v->>14)::timestamptz,
    (v->15)::json, v->>16
  FROM jsonb_array_elements(%(transfers)s::jsonb) WITH ORDINALITY AS e(v, n)
  WHERE NOT EXISTS (SELECT 1 FROM known_failed k WHERE k.id = v->>0)
  ORDER BY n
  RETURNING id, seq
)"""


@cache
def _write_sql(journals: bool, failed: bool, totals: bool, transfers: bool) -> str:
    """The write statement with only the parts this posting needs (fewer tables opened)."""
    parts = [
        part
        for part, wanted in (
            (_JOURNALS, journals),
            (_FAILED, failed),
            (_TOTALS, totals),
            (_TRANSFERS, transfers),
        )
        if wanted
    ]
    final = "SELECT id, seq FROM inserted" if transfers else "SELECT NULL, NULL WHERE false"
    return "WITH " + ",\n".join(parts) + "\n" + final


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_dumps = _ENCODER.encode


@lru_cache(maxsize=64)
def _time(value: dt.datetime | None) -> str | None:
    """ISO text of a timestamp (cached: every row of a posting shares one)."""
    return value.isoformat() if value is not None else None


def _parse_time(value: str | None) -> dt.datetime | None:
    return utc(dt.datetime.fromisoformat(value)) if value is not None else None


def transfer_from_row(row: dict[str, Any]) -> Transfer:
    """A transfer from its ``row_to_json`` form (exact integers, ISO timestamps)."""
    return Transfer(
        id=row["id"],
        seq=row["seq"],
        kind=TransferKind(row["kind"]),
        debit_account_id=row["debit_account_id"],
        credit_account_id=row["credit_account_id"],
        currency=row["currency"],
        amount=row["amount"],
        released=row["released"],
        pending_id=row["pending_id"],
        reverses_id=row["reverses_id"],
        timeout_seconds=row["timeout_seconds"],
        timeout_at=_parse_time(row["timeout_at"]),
        code=row["code"],
        reference=row["reference"],
        journal_id=row["journal_id"],
        timestamp=_parse_time(row["timestamp"]),  # type: ignore[arg-type]
        metadata=row["metadata"] or {},
        checksum=row["checksum"],
    )


def _wire(t: Transfer) -> list[Any]:
    """A transfer as the write statement's JSON reads it (positions, not names)."""
    return [
        t.id,
        t.kind.value,
        t.debit_account_id,
        t.credit_account_id,
        t.currency,
        t.amount,
        t.released,
        t.pending_id,
        t.reverses_id,
        t.timeout_seconds,
        _time(t.timeout_at),
        t.code,
        t.reference,
        t.journal_id,
        _time(t.timestamp),
        t.metadata,
        t.checksum,
    ]


def _lone_params(transfer: Transfer) -> dict[str, Any]:
    """The arguments of ``ledger_post_lone`` for one transfer."""
    posted = transfer.posted_amount
    return {
        "id": transfer.id,
        "kind": transfer.kind.value,
        "debit": transfer.debit_account_id,
        "credit": transfer.credit_account_id,
        "currency": transfer.currency,
        "amount": transfer.amount,
        "pending": transfer.amount - posted,
        "posted": posted,
        "timeout_seconds": transfer.timeout_seconds,
        "timeout_at": transfer.timeout_at,
        "code": transfer.code,
        "reference": transfer.reference,
        "timestamp": transfer.timestamp,
        "metadata": _dumps(transfer.metadata),
        "checksum": transfer.checksum,
        "max": MAX_MINOR_AMOUNT,
    }


def _driver_error(sql: str, exc: psycopg.Error) -> Exception:
    """A driver error as the caller should see it: a lost race on a unique key is
    retryable; the rest are presented as SQLAlchemy's, so ``is_retryable()`` and callers
    see the same exceptions as from any other statement."""
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return RetryableConflict("a concurrent posting used the same id")
    return DBAPIError.instance(sql, None, exc, psycopg.Error)


_NOTHING_PREPARED: tuple[list[Transfer], str] = ([], "[]")


class PostgresStore:
    def __init__(self, session: Session) -> None:
        connection = session.connection().connection.dbapi_connection
        assert isinstance(connection, psycopg.Connection), "the ledger runs on psycopg 3"
        self._cursor = connection.cursor()
        self._client_cursor: psycopg.ClientCursor[Any] | None = None
        self._prepared: tuple[list[Transfer], str] = _NOTHING_PREPARED

    def _rows(self, sql: str, params: dict[str, Any], rows: int) -> list[Any]:
        """Run one statement; ``rows`` is the posting's size, which picks the plan.

        Small postings reuse a prepared statement (planning would cost more than
        running it). Large ones are planned for their actual parameters every time: a
        generic plan guesses a hundred rows per JSON array and picks joins that are
        several times slower for a thousand.
        """
        try:
            self._cursor.execute(sql, params, prepare=rows <= PREPARED_UP_TO)
            return self._cursor.fetchall()
        except psycopg.Error as exc:
            raise _driver_error(sql, exc) from exc

    def prepare(self, transfers: Iterable[Transfer]) -> None:
        """Encode the candidate rows before the locks, in one call: when every one of
        them is written (the usual case), the write sends this text as it is."""
        rows = list(transfers)
        self._prepared = (rows, _dumps([_wire(t) for t in rows]))

    def read_transfers(self, ids: Collection[str]) -> list[Transfer]:
        if not ids:
            return []
        rows = self._rows(_READ, {"ids": _dumps(list(ids))}, len(ids))
        return [transfer_from_row(json.loads(r[0])) for r in rows]

    def lock_accounts(self, ids: Collection[str]) -> dict[str, AccountState]:
        return self.lock_and_probe(ids, (), ())[0]

    def lock_and_probe(
        self, account_ids: Collection[str], ids: Collection[str], targets: Collection[str]
    ) -> tuple[dict[str, AccountState], list[Transfer], dict[str, str]]:
        if len(account_ids) > LARGE_POSTING_ACCOUNTS:
            self._rows(_LANE, {}, 1)
        params = {"accounts": _dumps(sorted(account_ids)), "ids": _dumps(list(ids))}
        sql = _LOCK_AND_PROBE_IDS
        if targets:
            params["targets"] = _dumps(list(targets))
            sql = _LOCK_AND_PROBE_TARGETS
        [(document,)] = self._rows(sql, params, max(len(ids), len(targets)))
        accounts, failures, transfers = json.loads(document)
        locked = {row[0]: AccountState(*row) for row in accounts}
        return locked, [transfer_from_row(row) for row in transfers], dict(failures)

    def probe(
        self, ids: Collection[str], targets: Collection[str]
    ) -> tuple[list[Transfer], dict[str, str]]:
        _, found, failed = self.lock_and_probe((), ids, targets)
        return found, failed

    def try_lone(self, transfer: Transfer) -> int | None:
        """One round trip for the common case: ``ledger_post_lone`` (see
        :mod:`.procedure`) checks every state rule and applies the transfer, or changes
        nothing and returns ``None``; the caller then runs the engine's path, which
        locks the accounts, reports the precise code and records the failure."""
        [(seq,)] = self._rows(procedure.CALL, _lone_params(transfer), 1)
        return seq

    def try_lone_and_commit(self, transfer: Transfer) -> bool:
        """:meth:`try_lone` and the transaction's ``COMMIT`` in one round trip.

        If the transaction has sent nothing yet, the posting is all of it: the call runs
        on its own in autocommit mode (one statement is one atomic transaction, and a
        refusal writes nothing), a prepared statement like :meth:`try_lone`'s. Otherwise
        :data:`.procedure.CALL_AND_COMMIT` ends the open transaction; if the transfer is
        refused, roll back to the savepoint taken just before it. Either way a refusal
        answers False with the transaction as it was.
        """
        connection = self._cursor.connection
        if connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            was_autocommit = connection.autocommit
            connection.autocommit = True
            try:
                [(seq,)] = self._rows(procedure.CALL, _lone_params(transfer), 1)
            finally:
                if connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                    connection.autocommit = was_autocommit
            return seq is not None
        cursor = self._client_cursor
        if cursor is None:
            cursor = self._client_cursor = psycopg.ClientCursor(self._cursor.connection)
        try:
            cursor.execute(procedure.CALL_AND_COMMIT, _lone_params(transfer))
            return True
        except psycopg.Error as exc:
            if exc.sqlstate == procedure.REFUSED:
                cursor.execute(procedure.ROLLBACK_TO_SAVEPOINT)
                return False
            raise _driver_error(procedure.CALL_AND_COMMIT, exc) from exc

    def write(self, outcome: Outcome) -> dict[str, int]:
        if not (outcome.journals or outcome.failed or outcome.deltas or outcome.transfers):
            return {}
        params: dict[str, str] = {}
        if outcome.journals:
            params["journals"] = _dumps(
                [
                    [j.id, j.code, j.reference, j.rate, j.quote_id, j.metadata, _time(j.created)]
                    for j in outcome.journals
                ]
            )
        if outcome.failed:
            now = _time(outcome.now)
            params["failed"] = _dumps([[i, str(code), now] for i, code in outcome.failed])
        if outcome.deltas:
            params["totals"] = _dumps(
                [
                    [i, d.debits_pending, d.debits_posted, d.credits_pending, d.credits_posted]
                    for i, d in sorted(outcome.deltas.items())
                ]
            )
        if outcome.transfers:
            planned, text = self._prepared
            written = outcome.transfers
            if len(planned) != len(written) or any(
                a is not b for a, b in zip(planned, written, strict=True)
            ):
                text = _dumps([_wire(t) for t in written])
            params["transfers"] = text
        self._prepared = _NOTHING_PREPARED
        size = max(len(outcome.transfers), len(outcome.failed), len(outcome.journals))
        sql = _write_sql(
            bool(outcome.journals),
            bool(outcome.failed),
            bool(outcome.deltas),
            bool(outcome.transfers),
        )
        seqs = {row[0]: row[1] for row in self._rows(sql, params, size)}
        if len(seqs) != len(outcome.transfers):
            # An id failed in a concurrent transaction after our look-up: start over.
            raise RetryableConflict("a transfer id was recorded as failed concurrently")
        return seqs

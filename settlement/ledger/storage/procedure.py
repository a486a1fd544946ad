"""The lone-transfer posting as a PostgreSQL function: check and apply in one call.

One transfer without a journal is most of what the ledger posts (a capture leg, a fee,
a payout). On PostgreSQL it goes out as a single prepared ``SELECT ledger_post_lone(...)``.
The function first refuses an id that is already stored or recorded as failed (no lock
is needed for that: the unique index on the transfer id settles a race). It then
updates the two accounts one at a time, in id order (the order every posting locks in,
so it queues behind a concurrent posting rather than deadlocking), each with a
conditional ``UPDATE`` whose ``WHERE`` restates the account's rules: currency, the
64-bit bounds and its limit flag. An ``UPDATE`` that waited for a row lock re-checks its
condition against the row the other posting committed, so the rule is checked and the
total changed on the same row version, by one statement, with no separate lock step.
If either account fails, the function takes back the change it made to the first one
(that row stays locked; the refused one may not be) and returns NULL, having changed
nothing; the engine then decides the precise outcome and records it. Otherwise it
inserts the transfer and returns its ``seq``.

Why a function rather than statements sent from Python: one statement, one round trip,
no pipeline bookkeeping on the client, and the locks are held for the function's run
rather than across several client-side steps. The rules here are the engine's
(``engine.py``), restated for the database; ``tests/ledger`` run every rule through both
paths and the table's CHECK constraints and unique indexes remain the backstop.

Each comparison is arranged so that no intermediate sum can exceed 64 bits (stored
totals never do, by the same rules).
"""

from __future__ import annotations

_PARAMETERS = """(
  p_id text, p_kind text, p_debit text, p_credit text, p_currency text,
  p_amount bigint, p_pending bigint, p_posted bigint,
  p_timeout_seconds integer, p_timeout_at timestamptz,
  p_code text, p_reference text, p_timestamp timestamptz,
  p_metadata json, p_checksum text, p_max bigint
)"""
"""The signature both functions share (one transfer's fields and the 64-bit bound)."""

_ARGUMENTS = """(%(id)s, %(kind)s, %(debit)s, %(credit)s, %(currency)s,
  %(amount)s, %(pending)s, %(posted)s, %(timeout_seconds)s, %(timeout_at)s,
  %(code)s, %(reference)s, %(timestamp)s, %(metadata)s::json, %(checksum)s, %(max)s)"""
"""Those parameters as psycopg placeholders (see ``postgres._lone_params``)."""

CREATE = f"""
CREATE OR REPLACE FUNCTION ledger_post_lone{_PARAMETERS}
RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
  account text;
  new_seq bigint;
BEGIN
  IF p_debit = p_credit
     OR EXISTS (SELECT 1 FROM ledger_transfers t WHERE t.id = p_id)
     OR EXISTS (SELECT 1 FROM ledger_failed_transfers f WHERE f.id = p_id)
  THEN
    RETURN NULL;
  END IF;
  FOREACH account IN ARRAY ARRAY[least(p_debit, p_credit), greatest(p_debit, p_credit)] LOOP
    UPDATE ledger_accounts a SET
      debits_pending = a.debits_pending + CASE WHEN a.id = p_debit THEN p_pending ELSE 0 END,
      debits_posted = a.debits_posted + CASE WHEN a.id = p_debit THEN p_posted ELSE 0 END,
      credits_pending = a.credits_pending + CASE WHEN a.id = p_credit THEN p_pending ELSE 0 END,
      credits_posted = a.credits_posted + CASE WHEN a.id = p_credit THEN p_posted ELSE 0 END
    WHERE a.id = account AND a.currency = p_currency
      AND CASE WHEN a.id = p_debit THEN
            a.debits_pending <= p_max - p_pending
            AND a.debits_posted <= p_max - p_amount
            AND a.debits_pending + a.debits_posted <= p_max - p_amount
            AND (NOT a.debits_must_not_exceed_credits
                 OR a.debits_pending + a.debits_posted <= a.credits_posted - p_amount)
          ELSE
            a.credits_pending <= p_max - p_pending
            AND a.credits_posted <= p_max - p_amount
            AND a.credits_pending + a.credits_posted <= p_max - p_amount
            AND (NOT a.credits_must_not_exceed_debits
                 OR a.credits_pending + a.credits_posted <= a.debits_posted - p_amount)
          END;
    IF NOT FOUND THEN
      IF account > least(p_debit, p_credit) THEN
        -- The first account passed and was changed: take that back (it stays locked).
        UPDATE ledger_accounts a SET
          debits_pending = a.debits_pending - CASE WHEN a.id = p_debit THEN p_pending ELSE 0 END,
          debits_posted = a.debits_posted - CASE WHEN a.id = p_debit THEN p_posted ELSE 0 END,
          credits_pending = a.credits_pending - CASE WHEN a.id = p_credit THEN p_pending ELSE 0 END,
          credits_posted = a.credits_posted - CASE WHEN a.id = p_credit THEN p_posted ELSE 0 END
        WHERE a.id = least(p_debit, p_credit);
      END IF;
      RETURN NULL;
    END IF;
  END LOOP;
  INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id, currency,
    amount, released, timeout_seconds, timeout_at, code, reference, "timestamp", metadata,
    checksum)
  VALUES (p_id, p_kind, p_debit, p_credit, p_currency, p_amount, 0, p_timeout_seconds,
    p_timeout_at, p_code, p_reference, p_timestamp, p_metadata, p_checksum)
  RETURNING seq INTO new_seq;
  RETURN new_seq;
END
$fn$
"""

DROP = "DROP FUNCTION IF EXISTS ledger_post_lone"

CALL = f"SELECT ledger_post_lone{_ARGUMENTS}"


REFUSED = "LG001"
"""The SQLSTATE ``ledger_post_lone_or_abort`` raises when ``ledger_post_lone`` refused."""

CREATE_OR_ABORT = f"""
CREATE OR REPLACE FUNCTION ledger_post_lone_or_abort{_PARAMETERS}
RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
  new_seq bigint;
BEGIN
  new_seq := ledger_post_lone(p_id, p_kind, p_debit, p_credit, p_currency, p_amount,
    p_pending, p_posted, p_timeout_seconds, p_timeout_at, p_code, p_reference,
    p_timestamp, p_metadata, p_checksum, p_max);
  IF new_seq IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '{REFUSED}',
      MESSAGE = 'ledger_post_lone refused transfer ' || p_id;
  END IF;
  RETURN new_seq;
END
$fn$
"""
"""``ledger_post_lone`` that raises instead of answering NULL: what lets the posting and
the ``COMMIT`` travel in one query string (see :data:`CALL_AND_COMMIT`)."""

DROP_OR_ABORT = "DROP FUNCTION IF EXISTS ledger_post_lone_or_abort"

SAVEPOINT = "ledger_lone"

CALL_AND_COMMIT = f"""SAVEPOINT {SAVEPOINT};
SELECT ledger_post_lone_or_abort{_ARGUMENTS};
COMMIT"""
"""A lone transfer as the transaction's last statement, with its commit: one round trip.

Several statements in one query string run in order and stop at the first error. If
the transfer is refused the ``COMMIT`` never runs and the caller rolls back to the
savepoint, which leaves the transaction as it was before, for the engine's path.
Statements in one string cannot use server-side parameters, so the values are bound on
the client (psycopg's ``ClientCursor`` quotes them)."""

ROLLBACK_TO_SAVEPOINT = f"ROLLBACK TO SAVEPOINT {SAVEPOINT}"

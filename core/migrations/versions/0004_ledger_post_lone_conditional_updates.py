"""ledger_post_lone: conditional updates instead of a lock then an update

The function no longer locks both accounts in one statement and then updates them in
two more: it updates each account (in id order) only if the account passes its rules,
so each row is locked and changed by one statement, and a refusal takes back the one
change it made. Same answers, one statement and two row-lock records less per transfer.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from settlement.ledger.storage import procedure

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREVIOUS = """
CREATE OR REPLACE FUNCTION ledger_post_lone(
  p_id text, p_kind text, p_debit text, p_credit text, p_currency text,
  p_amount bigint, p_pending bigint, p_posted bigint,
  p_timeout_seconds integer, p_timeout_at timestamptz,
  p_code text, p_reference text, p_timestamp timestamptz,
  p_metadata json, p_checksum text, p_max bigint
)
RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
  d ledger_accounts;
  c ledger_accounts;
  r ledger_accounts;
  new_seq bigint;
BEGIN
  FOR r IN SELECT * FROM ledger_accounts WHERE id IN (p_debit, p_credit)
           ORDER BY id FOR NO KEY UPDATE LOOP
    IF r.id = p_debit THEN d := r; ELSE c := r; END IF;
  END LOOP;
  IF d.id IS NULL OR c.id IS NULL
     OR d.currency <> p_currency OR c.currency <> p_currency
     OR EXISTS (SELECT 1 FROM ledger_transfers t WHERE t.id = p_id)
     OR EXISTS (SELECT 1 FROM ledger_failed_transfers f WHERE f.id = p_id)
     OR d.debits_pending > p_max - p_pending
     OR c.credits_pending > p_max - p_pending
     OR d.debits_posted > p_max - p_amount
     OR c.credits_posted > p_max - p_amount
     OR d.debits_pending + d.debits_posted > p_max - p_amount
     OR c.credits_pending + c.credits_posted > p_max - p_amount
     OR (d.debits_must_not_exceed_credits
         AND d.debits_pending + d.debits_posted > d.credits_posted - p_amount)
     OR (c.credits_must_not_exceed_debits
         AND c.credits_pending + c.credits_posted > c.debits_posted - p_amount)
  THEN
    RETURN NULL;
  END IF;
  UPDATE ledger_accounts SET debits_pending = debits_pending + p_pending,
                             debits_posted = debits_posted + p_posted
  WHERE id = p_debit;
  UPDATE ledger_accounts SET credits_pending = credits_pending + p_pending,
                             credits_posted = credits_posted + p_posted
  WHERE id = p_credit;
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
"""The revision-0002 body, as it stood, for the downgrade."""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(procedure.CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PREVIOUS)

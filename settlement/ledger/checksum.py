"""A per-transfer checksum, so that ``verify`` can tell when stored history was edited.

Transfers are insert-only in code; the checksum catches what code cannot prevent: an
``UPDATE`` run by hand or by a faulty migration. It is SHA-256 over a canonical JSON
array of every field a transfer is created with (the sequence number, assigned by the
database, is not included). Deletions are caught by ``verify`` too, as a difference
between an account's stored totals and the sum of its transfers.

It is deliberately *not* a hash chain: chaining every transfer to the previous one
would serialise all writers on one row, which is exactly what the ledger's per-account
locking avoids. An attacker able to rewrite a transfer, its checksum and both accounts'
totals consistently is out of scope here; anchoring per-currency digests outside the
database (as the compliance audit trail does) would address that.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .records import Transfer

VERSION = 1
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


@lru_cache(maxsize=64)
def canonical_time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def transfer_checksum(t: Transfer) -> str:
    """The checksum of ``t``'s fields as created (its own ``checksum`` and ``seq`` aside)."""
    body = [
        VERSION,
        t.id,
        getattr(t.kind, "value", t.kind),  # the enum's text, without Enum.__str__'s cost
        t.debit_account_id,
        t.credit_account_id,
        t.currency,
        t.amount,
        t.released,
        t.pending_id,
        t.reverses_id,
        t.timeout_seconds,
        canonical_time(t.timeout_at),
        t.code,
        t.reference,
        t.journal_id,
        canonical_time(t.timestamp),
        dict(sorted(t.metadata.items())) if t.metadata else {},
    ]
    text = _ENCODER.encode(body)
    return hashlib.sha256(text.encode()).hexdigest()

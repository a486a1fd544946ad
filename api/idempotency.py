"""Idempotent POSTs, as Stripe documents them.

A key is first *claimed* in its own short transaction, so a concurrent duplicate sees it
and gets 409 while the first request runs. The request's own transaction then carries the
stored response together with the business change it describes: both commit or neither
does. Requests that fail with a 4xx before changing anything release their claim, so a
corrected retry may reuse the key; a 5xx rolls everything back and also releases it.

A process that dies mid-request leaves its claim behind; because nothing else committed,
a retry may safely run the request again once the claim is known to be abandoned:

* the claim is a lease, and the lease is a fencing token: the response is stored (and
  the claim released) only if the claim still carries the request's own lease, in the
  request's transaction. A request that outlived its lease and was taken over therefore
  rolls back (:class:`LeaseLost`, answered 409) instead of applying a second time;
* on PostgreSQL the request's transaction also holds an advisory lock on the claim
  (:func:`hold`), which the server drops the moment the process or its connection dies.
  A duplicate that finds the claim's lock free takes it over at once instead of waiting
  for the lease to run out, so a crashed API blocks its keys for a moment, not a minute.

Nothing secret is stored: the request is kept only as a keyed hash (HMAC with the card
fingerprint key), the response sealed with the vault key (AES-GCM, bound to the record).
A retired vault key must therefore stay configured for the 24 hours a response is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, Database, UTCDateTime, utcnow
from core.ids import new_id
from core.jobs import job_handler
from core.keyring import NONCE_BYTES, Keyring, Sealed, fingerprint_key
from core.settings import get_settings
from core.tasks import periodic

LEASE = dt.timedelta(seconds=60)
TAKEOVER_GRACE = dt.timedelta(seconds=2)
"""A claim younger than this is never taken over early: its request may not yet have
begun the transaction that holds the claim's lock."""
MAX_KEY_LENGTH = 255


class IdempotencyRecord(Base):
    __tablename__ = "api_idempotency_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    scope: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    """in_flight | completed"""
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_headers: Mapped[list[list[str]] | None] = mapped_column(JSON, nullable=True)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (UniqueConstraint("scope", "key"),)


# The statements every request runs, built once: on a table (not the mapped class), so
# no ORM bookkeeping runs either (nothing here is held in a session).
_records = IdempotencyRecord.__table__
_CLAIM = {
    name: insert(_records)  # the columns are the parameters' keys (see _insert_claim)
    .on_conflict_do_nothing(index_elements=["scope", "key"])
    .returning(_records.c.id)
    for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
_HELD = select(_records.c.status, _records.c.locked_until).where(
    _records.c.id == bindparam("record_id")
)
_HELD_LOCKED = select(
    _records.c.status,
    _records.c.locked_until,
    func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger)),
).where(_records.c.id == bindparam("record_id"))
"""PostgreSQL: the claim's record read and its advisory lock taken in one statement.
The row is read from the statement's snapshot, which may predate a takeover that
finishes while the lock is awaited; that is safe, because :func:`complete` stores the
response only if the lease is still this request's (the fencing token decides)."""
_OURS = (
    (_records.c.id == bindparam("record_id"))
    & (_records.c.status == "in_flight")
    & (_records.c.locked_until == bindparam("lease"))
)
"""The claim's record, as long as it is still this request's."""
_COMPLETE = (
    update(_records)
    .where(_OURS)
    .values(
        status="completed",
        locked_until=None,
        response_status=bindparam("response_status"),
        response_headers=bindparam("response_headers"),
        response_body=bindparam("response_body"),
        request_id=bindparam("request_id"),
    )
)
_RELEASE = delete(_records).where(_OURS)


def fingerprint(method: str, path: str, params: Any) -> str:
    """A keyed hash of the request: the parameters can hold a card number and CVC, and a
    plain SHA-256 of so little entropy could be reversed by trying every card number."""
    canonical = json.dumps([method, path, params], sort_keys=True, separators=(",", ":"))
    key = fingerprint_key(get_settings())
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


_SEALED = b"corridor.sealed.v1:"


def _binding(record_id: str) -> bytes:
    return f"idempotency_response:{record_id}".encode()


def seal_body(record_id: str, body: bytes) -> bytes:
    """Stored responses are sealed with the vault key: some carry a secret shown once (a
    webhook endpoint's ``whsec_``), and the database must never hold one in clear."""
    sealed = Keyring.from_settings(get_settings()).seal(body, _binding(record_id))
    return _SEALED + sealed.kid.encode("ascii") + b":" + sealed.nonce + sealed.ciphertext


def open_body(record_id: str, stored: bytes) -> bytes:
    if not stored.startswith(_SEALED):
        return stored  # stored before responses were sealed
    kid, _, rest = stored[len(_SEALED) :].partition(b":")
    sealed = Sealed(kid.decode("ascii"), rest[:NONCE_BYTES], rest[NONCE_BYTES:])
    return Keyring.from_settings(get_settings()).open(sealed, _binding(record_id))


@dataclass(frozen=True)
class Claimed:
    record_id: str
    lease: dt.datetime
    """The claim's ``locked_until`` when it was taken: the request's fencing token."""


class LeaseLost(Exception):
    """Another request took the claim over (this one outlived its lease): roll back."""


@dataclass(frozen=True)
class Replay:
    status: int
    headers: list[list[str]]
    body: bytes
    request_id: str | None


@dataclass(frozen=True)
class InFlight:
    pass


@dataclass(frozen=True)
class Mismatch:
    pass


Outcome = Claimed | Replay | InFlight | Mismatch


def claim(session: Session, scope: str, key: str, print_: str, ttl: dt.timedelta) -> Outcome:
    """Run in its own transaction; the caller commits it before doing the work.

    A new key (nearly every request) is claimed by one ``INSERT ... ON CONFLICT DO
    NOTHING``; only a key already on record is read and judged."""
    now = utcnow()
    fresh = _insert_claim(session, scope, key, print_, now, ttl)
    if fresh is not None:
        return fresh
    existing = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
        )
    )
    if existing is not None and existing.expires_at <= now:
        session.delete(existing)
        session.flush()
        existing = None
    if existing is None:
        # Expired and removed just now, or removed by a purge since the insert.
        return _insert_claim(session, scope, key, print_, now, ttl) or InFlight()
    if existing.fingerprint != print_:
        return Mismatch()
    if existing.status == "completed":
        return Replay(
            existing.response_status or 200,
            existing.response_headers or [],
            open_body(existing.id, existing.response_body or b""),
            existing.request_id,
        )
    if not _abandoned(session, existing, now):
        return InFlight()
    # An abandoned claim (its request died before committing anything): take it over.
    lease = now + LEASE
    taken = session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == existing.id,
            IdempotencyRecord.status == "in_flight",
            IdempotencyRecord.locked_until == existing.locked_until,
        )
        .values(locked_until=lease)
    ).rowcount
    return Claimed(existing.id, lease) if taken else InFlight()


def _insert_claim(
    session: Session, scope: str, key: str, print_: str, now: dt.datetime, ttl: dt.timedelta
) -> Claimed | None:
    """Claim ``key`` if nobody has; ``None`` if a record of it exists (or just appeared)."""
    lease = now + LEASE
    values = {
        "id": new_id("idem"),
        "scope": scope,
        "key": key,
        "fingerprint": print_,
        "status": "in_flight",
        "locked_until": lease,
        "created": now,
        "expires_at": now + ttl,
    }
    record_id = session.scalar(_CLAIM[session.get_bind().dialect.name], values)
    return Claimed(record_id, lease) if record_id is not None else None


def _lock_key(record_id: str) -> int:
    """The claim's PostgreSQL advisory lock: 64 bits of a hash of its id, signed."""
    digest = hashlib.sha256(f"idempotency:{record_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _abandoned(session: Session, record: IdempotencyRecord, now: dt.datetime) -> bool:
    """Whether an in-flight claim's request is gone: its lease ran out, or (PostgreSQL)
    no live transaction holds the claim's lock although it had time to take it."""
    if record.locked_until is None or record.locked_until <= now:
        return True
    if session.get_bind().dialect.name != "postgresql":
        return False
    if now - (record.locked_until - LEASE) < TAKEOVER_GRACE:
        return False
    # Taken only for the claim transaction's lifetime; success means nobody holds it.
    return bool(
        session.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _lock_key(record.id)}
        ).scalar()
    )


def hold(session: Session, claim: Claimed) -> None:
    """Begin the request's transaction by holding its claim (raises :class:`LeaseLost`).

    On PostgreSQL this takes the claim's advisory lock for the whole transaction, so a
    duplicate can tell a live request from one that died. Then it checks the claim is
    still this request's: one that was taken over must not run.
    """
    if session.get_bind().dialect.name == "postgresql":
        held = session.execute(
            _HELD_LOCKED, {"record_id": claim.record_id, "key": _lock_key(claim.record_id)}
        )
    else:
        held = session.execute(_HELD, {"record_id": claim.record_id})
    current = held.first()
    if current is None or current.status != "in_flight" or current.locked_until != claim.lease:
        raise LeaseLost(claim.record_id)


def _ours(claim: Claimed) -> dict[str, Any]:
    """The parameters of :data:`_OURS`."""
    return {"record_id": claim.record_id, "lease": claim.lease}


def complete(
    session: Session,
    claim: Claimed,
    status: int,
    headers: list[list[str]],
    body: bytes,
    request_id: str,
) -> None:
    """Store the response in the request's own transaction, if the claim is still ours
    (else raise :class:`LeaseLost`: the caller must roll its transaction back)."""
    stored = session.execute(
        _COMPLETE,
        {
            **_ours(claim),
            "response_status": status,
            "response_headers": headers,
            "response_body": seal_body(claim.record_id, body),
            "request_id": request_id,
        },
    ).rowcount
    if stored != 1:
        raise LeaseLost(claim.record_id)


def release(session: Session, claim: Claimed) -> None:
    """Give the key back (nothing was applied), unless another request took it over."""
    session.execute(_RELEASE, _ours(claim))


def purge_expired(session: Session, now: dt.datetime | None = None) -> int:
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= (now or utcnow()))
    )
    return result.rowcount or 0


@job_handler("api.purge_idempotency_keys", max_attempts=3)
def purge_expired_job(db: Database) -> None:
    """Stored responses live 24 hours; this hourly job forgets the expired ones."""
    db.run(purge_expired)


periodic("api.purge_idempotency_keys", dt.timedelta(hours=1))

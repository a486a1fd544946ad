"""Idempotent POSTs, as Stripe documents them.

A key is first *claimed* in its own short transaction, so a concurrent duplicate sees it
and gets 409 while the first request runs. The request's own transaction then carries the
stored response together with the business change it describes: both commit or neither
does. A worker that dies mid-request leaves a claim whose lease expires, and because
nothing else committed, a retry may safely run the request again. Requests that fail
with a 4xx before changing anything release their claim, so a corrected retry may reuse
the key; a 5xx rolls everything back and also releases it.

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

from sqlalchemy import JSON, Integer, LargeBinary, String, UniqueConstraint, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, Database, UTCDateTime, utcnow
from core.ids import new_id
from core.jobs import job_handler
from core.keyring import NONCE_BYTES, Keyring, Sealed, fingerprint_key
from core.settings import get_settings
from core.tasks import periodic

LEASE = dt.timedelta(seconds=60)
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
    """Run in its own transaction; the caller commits it before doing the work."""
    now = utcnow()
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
        record = IdempotencyRecord(
            id=new_id("idem"),
            scope=scope,
            key=key,
            fingerprint=print_,
            status="in_flight",
            locked_until=now + LEASE,
            created=now,
            expires_at=now + ttl,
        )
        try:
            with session.begin_nested():
                session.add(record)
        except IntegrityError:
            return InFlight()
        return Claimed(record.id)
    if existing.fingerprint != print_:
        return Mismatch()
    if existing.status == "completed":
        return Replay(
            existing.response_status or 200,
            existing.response_headers or [],
            open_body(existing.id, existing.response_body or b""),
            existing.request_id,
        )
    if existing.locked_until is not None and existing.locked_until > now:
        return InFlight()
    # An abandoned claim (its worker died before committing anything): take it over.
    taken = session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == existing.id,
            IdempotencyRecord.status == "in_flight",
            IdempotencyRecord.locked_until == existing.locked_until,
        )
        .values(locked_until=now + LEASE)
    ).rowcount
    return Claimed(existing.id) if taken else InFlight()


def complete(
    session: Session,
    record_id: str,
    status: int,
    headers: list[list[str]],
    body: bytes,
    request_id: str,
) -> None:
    """Store the response in the request's own transaction."""
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(
            status="completed",
            locked_until=None,
            response_status=status,
            response_headers=headers,
            response_body=seal_body(record_id, body),
            request_id=request_id,
        )
    )


def release(session: Session, record_id: str) -> None:
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.id == record_id, IdempotencyRecord.status == "in_flight"
        )
    )


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

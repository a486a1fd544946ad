"""The tamper-evident audit trail: an append-only, hash-chained, signed log.

Compliance has to show, years later, that a decision was taken and by whom, and that
nobody rewrote the record since. Each entry therefore carries the SHA-256 hash of
``prev_hash || canonical entry`` (so editing, removing or reordering any entry breaks
every hash after it) and an Ed25519 signature over that hash with a server key (so a
database user cannot simply recompute the chain after an edit: they would need the key).

Appends are serialised on a single *head* row (``compliance_audit_head``): on PostgreSQL
it is read ``FOR UPDATE``, on SQLite writers already hold the database write lock. Two
concurrent writers therefore always see each other's entry and never fork the chain. The
head also stores the last hash, so a truncated tail is visible as a head/tail mismatch;
for protection against an attacker who also rewrites the head, publish :func:`anchor`
somewhere outside the database and pass it back to :func:`verify`.

Other modules write entries with :func:`append` inside their own transaction, so the
entry commits (or rolls back) together with the change it records.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import JSON, BigInteger, Integer, String, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, UTCDateTime, before_commit, utcnow
from core.settings import Settings, get_settings

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first entry."""

KEY_FILE_NAME = "audit_signing_key"
_HEAD_ID = 1


class AuditLogEntry(Base):
    """One audit entry. Rows are only ever inserted; :func:`verify` proves it."""

    __tablename__ = "compliance_audit_log"

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    ref: Mapped[str | None] = mapped_column(String(200), index=True)
    payload: Mapped[Any] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(String(100))


class AuditHead(Base):
    """The chain head: one row, locked by every append so appends are strictly serial."""

    __tablename__ = "compliance_audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sequence: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(32))
    """Key of the last entry: a different signer first records its public key."""


# Prebuilt Core statements for the hot append path: no ORM unit of work, and SQLAlchemy's
# compiled-statement cache is hit on every append.
_LOG_TABLE = AuditLogEntry.__table__
_HEAD_TABLE = AuditHead.__table__
_LOCK_HEAD = (
    select(_HEAD_TABLE.c.sequence, _HEAD_TABLE.c.hash, _HEAD_TABLE.c.key_id)
    .where(_HEAD_TABLE.c.id == _HEAD_ID)
    .with_for_update()
)
_INSERT_ENTRY = insert(_LOG_TABLE)
_UPDATE_HEAD = update(_HEAD_TABLE).where(_HEAD_TABLE.c.id == _HEAD_ID)


# --------------------------------------------------------------------------- canonical form


def _jsonable(value: Any) -> Any:
    """Map domain values to JSON explicitly; anything unknown is an error, not a ``str()``."""
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime in an audit payload; use UTC-aware datetimes")
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"audit payload keys must be strings, got {key!r}")
            out[key] = _jsonable(item)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=canonical_json) if isinstance(value, set | frozenset) else items
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot put {type(value).__name__} in an audit payload")


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text, no NaN: one byte string per value."""
    return json.dumps(
        _jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def canonical_payload(value: Any) -> Any:
    """``value`` as plain JSON data (dates as ISO text, enums as values), for JSON columns."""
    return json.loads(canonical_json(value))


def _ts_text(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical_entry(
    *,
    sequence: int,
    ts: dt.datetime,
    actor: str,
    action: str,
    ref: str | None,
    payload: Any,
    prev_hash: str,
) -> str:
    """The text that is hashed: every field of the entry, including its place in the chain."""
    return canonical_json(
        {
            "sequence": sequence,
            "ts": _ts_text(ts),
            "actor": actor,
            "action": action,
            "ref": ref,
            "payload": payload,
            "prev_hash": prev_hash,
        }
    )


def entry_hash(prev_hash: str, canonical: str) -> str:
    """``SHA-256(prev_hash || canonical entry)`` as lower-case hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- signing key


class AuditKeyError(RuntimeError):
    """The configured signing key cannot be read."""


@dataclass(frozen=True)
class AuditSigner:
    """The server's Ed25519 key; ``key_id`` names it in every entry so keys can rotate."""

    private_key: Ed25519PrivateKey
    created: bool = False
    """True when this process generated the key file (recorded in the chain on first use)."""

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def public_bytes(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @cached_property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    def sign(self, digest_hex: str) -> str:
        return base64.b64encode(self.private_key.sign(bytes.fromhex(digest_hex))).decode("ascii")

    @classmethod
    def from_base64(cls, text: str) -> AuditSigner:
        """A raw 32-byte Ed25519 private key (or PKCS#8 DER), base64-encoded."""
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except ValueError as exc:
            raise AuditKeyError("the audit signing key is not valid base64") from exc
        if len(raw) == 32:
            return cls(Ed25519PrivateKey.from_private_bytes(raw))
        try:
            key = serialization.load_der_private_key(raw, password=None)
        except ValueError as exc:
            raise AuditKeyError(
                "the audit signing key is neither 32 raw bytes nor PKCS#8 DER"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise AuditKeyError("the audit signing key is not an Ed25519 key")
        return cls(key)

    @classmethod
    def from_key_file(cls, path: Path) -> AuditSigner:
        """Read the key file, creating it (mode 0600, exclusively) if it does not exist yet."""
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return cls.from_base64(path.read_text(encoding="ascii"))
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(raw).decode("ascii") + "\n")
        return cls(key, created=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditSigner:
        if settings.audit_signing_key:
            return cls.from_base64(settings.audit_signing_key)
        return cls.from_key_file(settings.data_dir / KEY_FILE_NAME)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@lru_cache(maxsize=4)
def _signer_for(audit_signing_key: str | None, data_dir: Path) -> AuditSigner:
    if audit_signing_key:
        return AuditSigner.from_base64(audit_signing_key)
    return AuditSigner.from_key_file(data_dir / KEY_FILE_NAME)


def default_signer() -> AuditSigner:
    """The signer of this process's settings (loaded once per key/data dir)."""
    settings = get_settings()
    return _signer_for(settings.audit_signing_key, settings.data_dir)


# --------------------------------------------------------------------------- append


@dataclass(frozen=True)
class AuditEntry:
    sequence: int
    ts: dt.datetime
    actor: str
    action: str
    ref: str | None
    payload: Any
    prev_hash: str
    hash: str
    key_id: str
    signature: str

    @classmethod
    def of(cls, row: AuditLogEntry) -> AuditEntry:
        return cls(
            row.sequence,
            row.ts,
            row.actor,
            row.action,
            row.ref,
            row.payload,
            row.prev_hash,
            row.hash,
            row.key_id,
            row.signature,
        )


@dataclass
class _Head:
    sequence: int
    hash: str
    key_id: str | None


_ENTRY_FIELDS = tuple(f.name for f in fields(AuditEntry))


def _lock_head(session: Session) -> _Head:
    """Lock the chain head for this transaction, creating it first if the chain is new."""
    head = _HEAD_TABLE.c
    locked = (
        select(head.sequence, head.hash, head.key_id).where(head.id == _HEAD_ID).with_for_update()
    )
    row = session.execute(locked).one_or_none()
    if row is None:
        # Two first writers may race here: ON CONFLICT makes the loser wait for the winner.
        values = {"id": _HEAD_ID, "sequence": 0, "hash": GENESIS_HASH}
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            session.execute(postgresql.insert(_HEAD_TABLE).values(values).on_conflict_do_nothing())
        elif dialect == "sqlite":
            session.execute(sqlite.insert(_HEAD_TABLE).values(values).on_conflict_do_nothing())
        else:  # pragma: no cover - other backends
            session.execute(insert(_HEAD_TABLE).values(values))
        row = session.execute(_LOCK_HEAD).one()
    return _Head(row.sequence, row.hash, row.key_id)


def _write(
    session: Session,
    head: _Head,
    signer: AuditSigner,
    actor: str,
    action: str,
    ref: str | None,
    payload: Any,
    ts: dt.datetime,
) -> AuditEntry:
    stored_payload = canonical_payload(payload)
    sequence = head.sequence + 1
    text = canonical_entry(
        sequence=sequence,
        ts=ts,
        actor=actor,
        action=action,
        ref=ref,
        payload=stored_payload,
        prev_hash=head.hash,
    )
    digest = entry_hash(head.hash, text)
    entry = AuditEntry(
        sequence=sequence,
        ts=ts,
        actor=actor,
        action=action,
        ref=ref,
        payload=stored_payload,
        prev_hash=head.hash,
        hash=digest,
        key_id=signer.key_id,
        signature=signer.sign(digest),
    )
    session.execute(_INSERT_ENTRY, {f: getattr(entry, f) for f in _ENTRY_FIELDS})
    head.sequence, head.hash, head.key_id = sequence, digest, signer.key_id
    return entry


def append(
    session: Session,
    actor: str,
    action: str,
    ref: str | None,
    payload: Mapping[str, Any] | None = None,
    *,
    signer: AuditSigner | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits with the caller's change).

    ``actor`` is who did it (an API key id, ``system``, a user); ``action`` a dotted verb
    (``review.approved``, ``rule_set.activated``, ``screening.decided``,
    ``sanctions.list_loaded``, ``api_key.created``); ``ref`` the object it concerns.
    The first entry of a chain, and the first entry after the signing key changes, is
    preceded by an ``audit.signing_key`` entry carrying the new public key.
    """
    signer = signer or default_signer()
    if not actor or not action:
        raise ValueError("an audit entry needs an actor and an action")
    head = _lock_head(session)
    now = utcnow()
    last_key = head.key_id if head.sequence else None
    if last_key != signer.key_id:
        public = base64.b64encode(signer.public_bytes).decode("ascii")
        _write(
            session,
            head,
            signer,
            "system",
            "audit.signing_key",
            None,
            {
                "key_id": signer.key_id,
                "public_key": public,
                "algorithm": "Ed25519",
                "previous_key_id": last_key,
                "generated_here": signer.created,
            },
            now,
        )
    entry = _write(session, head, signer, actor, action, ref, dict(payload or {}), now)
    session.execute(
        _UPDATE_HEAD, {"sequence": head.sequence, "hash": head.hash, "key_id": head.key_id}
    )
    return entry


def append_on_commit(
    session: Session,
    actor: str,
    action: str,
    ref: str | None,
    payload: Mapping[str, Any] | None = None,
) -> None:
    """:func:`append`, done as the transaction's last step.

    Every payment's decision is audited, and the chain head is one row every audited
    transaction must lock; appending at commit holds that lock for the commit alone, so
    concurrent payments are not serialised through it for the rest of their requests. The
    entry still commits with the decision, or not at all.
    """
    if not actor or not action:
        raise ValueError("an audit entry needs an actor and an action")
    entry = dict(payload or {})
    before_commit(session, lambda s: append(s, actor, action, ref, entry) and None)


def _head(session: Session) -> tuple[int, str]:
    row = session.execute(
        select(AuditHead.sequence, AuditHead.hash).where(AuditHead.id == _HEAD_ID)
    ).one_or_none()
    return (row.sequence, row.hash) if row else (0, GENESIS_HASH)


def anchor(session: Session) -> tuple[int, str]:
    """``(sequence, hash)`` of the chain head, to publish outside the database."""
    return _head(session)


# --------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    first_bad_sequence: int | None
    problem: str | None
    entries_checked: int
    head_sequence: int
    head_hash: str


def _public_keys(
    signer: AuditSigner | None, extra: Iterable[Ed25519PublicKey]
) -> dict[str, Ed25519PublicKey]:
    keys = {key_id_of(k): k for k in extra}
    signer = signer or default_signer()
    keys[signer.key_id] = signer.public_key
    return keys


def verify(
    session: Session,
    *,
    signer: AuditSigner | None = None,
    trusted_keys: Iterable[Ed25519PublicKey] = (),
    anchor: tuple[int, str] | None = None,
    batch_size: int = 1000,
) -> VerifyResult:
    """Walk the whole chain and report the first entry that is not what was written.

    Trusted public keys are the server's own (from ``signer`` or the settings) plus
    ``trusted_keys`` (earlier keys after a rotation); keys recorded inside the chain are
    never trusted, since whoever could rewrite the chain could rewrite those too.
    """
    keys = _public_keys(signer, trusted_keys)
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0

    def bad(sequence: int, problem: str) -> VerifyResult:
        return VerifyResult(False, sequence, problem, checked, expected_seq - 1, prev_hash)

    rows = session.execute(
        select(AuditLogEntry)
        .order_by(AuditLogEntry.sequence)
        .execution_options(yield_per=batch_size)
    ).scalars()
    for row in rows:
        if row.sequence != expected_seq:
            if row.sequence > expected_seq:
                missing = (
                    f"{expected_seq}"
                    if row.sequence == expected_seq + 1
                    else f"{expected_seq}..{row.sequence - 1}"
                )
                return bad(
                    expected_seq, f"entry {missing} missing (next present is {row.sequence})"
                )
            return bad(row.sequence, f"sequence {row.sequence} out of order")  # pragma: no cover
        if row.prev_hash != prev_hash:
            return bad(row.sequence, "prev_hash does not match the previous entry's hash")
        text = canonical_entry(
            sequence=row.sequence,
            ts=row.ts,
            actor=row.actor,
            action=row.action,
            ref=row.ref,
            payload=row.payload,
            prev_hash=row.prev_hash,
        )
        digest = entry_hash(prev_hash, text)
        if digest != row.hash:
            return bad(row.sequence, "content does not match its hash (entry edited or moved)")
        key = keys.get(row.key_id)
        if key is None:
            return bad(row.sequence, f"signed by untrusted key {row.key_id}")
        try:
            key.verify(base64.b64decode(row.signature), bytes.fromhex(row.hash))
        except (InvalidSignature, ValueError):
            return bad(row.sequence, "signature does not verify")
        prev_hash, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
    last_seq = expected_seq - 1
    head_seq, head_hash = _head(session)
    if (head_seq, head_hash) != (last_seq, prev_hash):
        return VerifyResult(
            False,
            min(head_seq, last_seq) + 1,
            f"chain head says entry {head_seq} but the log ends at {last_seq}",
            checked,
            last_seq,
            prev_hash,
        )
    if anchor is not None:
        seq, digest = anchor
        if seq > last_seq:
            return VerifyResult(
                False,
                last_seq + 1,
                f"anchored entry {seq} is missing",
                checked,
                last_seq,
                prev_hash,
            )
        anchored = session.get(AuditLogEntry, seq) if seq else None
        if seq and (anchored is None or anchored.hash != digest):
            return VerifyResult(
                False,
                seq,
                "entry does not match the published anchor",
                checked,
                last_seq,
                prev_hash,
            )
    return VerifyResult(True, None, None, checked, last_seq, prev_hash)


# --------------------------------------------------------------------------- read


def list_entries(
    session: Session,
    *,
    limit: int = 50,
    starting_after: int | None = None,
    ending_before: int | None = None,
    action: str | None = None,
    ref: str | None = None,
) -> list[AuditEntry]:
    """Newest first, paged like Stripe lists: ``starting_after`` a sequence gives older entries,
    ``ending_before`` a sequence gives the newer ones just before it (still newest first)."""
    query = select(AuditLogEntry)
    if action:
        query = query.where(AuditLogEntry.action == action)
    if ref:
        query = query.where(AuditLogEntry.ref == ref)
    if starting_after is not None:
        query = query.where(AuditLogEntry.sequence < starting_after)
    if ending_before is not None:
        query = query.where(AuditLogEntry.sequence > ending_before)
        rows = session.execute(query.order_by(AuditLogEntry.sequence).limit(limit)).scalars().all()
        return [AuditEntry.of(r) for r in reversed(rows)]
    rows = (
        session.execute(query.order_by(AuditLogEntry.sequence.desc()).limit(limit)).scalars().all()
    )
    return [AuditEntry.of(r) for r in rows]

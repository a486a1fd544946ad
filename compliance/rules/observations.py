"""The history store: every evaluated payment and every refund, for sliding windows.

One row per payment (or refund) with its velocity keys in indexed columns, its base
amount, and (for payments) the context, screening results and decision it was evaluated
with, so a dry run can replay past payments exactly. A payment evaluated again (a retried
confirm) replaces its row instead of counting twice.

Next to the rows, running totals per key, kind and UTC hour
(``compliance_observation_buckets``) are kept in the same transaction, so long windows
are answered from at most a few hundred totals instead of every payment in them (see
:mod:`.sql_history`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    Integer,
    String,
    UniqueConstraint,
    bindparam,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, UTCDateTime, before_commit, utcnow

from .context import HISTORY_KEYS, PaymentContext, history_keys
from .decision import Evaluation
from .dry_run import PastPayment
from .history import bucket_of
from .screening import ScreeningResultLike, ScreeningSnapshot

_KEY_LEN = 255


class ObservationRow(Base):
    __tablename__ = "compliance_observations"
    # One covering index per velocity key: a window query reads only the index, never the
    # (wide) rows, so an account with thousands of payments in its window stays cheap.
    __table_args__ = (
        UniqueConstraint("kind", "ref"),
        *(
            Index(
                f"ix_compliance_observations_{k}_window",
                f"{k}_key",
                "kind",
                "occurred_at",
                "base_amount",
                "ref",
            )
            for k in HISTORY_KEYS
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ref: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    base_amount: Mapped[int] = mapped_column(BigInteger)
    base_currency: Mapped[str | None] = mapped_column(String(3))
    payer_key: Mapped[str | None] = mapped_column(String(_KEY_LEN))
    card_key: Mapped[str | None] = mapped_column(String(_KEY_LEN))
    email_key: Mapped[str | None] = mapped_column(String(_KEY_LEN))
    ip_key: Mapped[str | None] = mapped_column(String(_KEY_LEN))
    account_key: Mapped[str | None] = mapped_column(String(_KEY_LEN))
    payment_ref: Mapped[str | None] = mapped_column(String(64))
    """For a refund: the payment it refunds."""
    decision: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[int | None] = mapped_column(Integer)
    rule_set_version: Mapped[int | None] = mapped_column(Integer)
    context: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    screenings: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    evaluation: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ObservationBucket(Base):
    """Running count and base-amount total of one key value's observations in one UTC hour."""

    __tablename__ = "compliance_observation_buckets"

    key: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(_KEY_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    bucket: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)


_TABLE = ObservationRow.__table__
_BUCKETS = ObservationBucket.__table__
_KEY_COLUMNS = tuple(f"{k}_key" for k in HISTORY_KEYS)
_EXISTING = select(
    _TABLE.c.occurred_at, _TABLE.c.base_amount, *(_TABLE.c[c] for c in _KEY_COLUMNS)
).where(_TABLE.c.kind == bindparam("kind"), _TABLE.c.ref == bindparam("ref"))


def _clip(value: str | None) -> str | None:
    return value[:_KEY_LEN] if value else None


def record_payment(
    session: Session,
    ctx: PaymentContext,
    *,
    evaluation: Evaluation | None = None,
    screenings: Mapping[str, ScreeningResultLike] | None = None,
    rule_set_version: int | None = None,
) -> None:
    """Remember an evaluated payment (insert, or update if this ref was evaluated before)."""
    keys = history_keys(ctx)
    values: dict[str, Any] = {
        "occurred_at": ctx.occurred_at,
        "base_amount": ctx.base_amount,
        "base_currency": ctx.base_currency,
        **{f"{k}_key": _clip(v) for k, v in keys.items()},
        "decision": evaluation.decision.value if evaluation else None,
        "score": evaluation.score if evaluation else None,
        "rule_set_version": rule_set_version,
        "context": ctx.to_dict(),
        "screenings": {
            role: ScreeningSnapshot.of(r).to_dict() for role, r in (screenings or {}).items()
        },
        "evaluation": evaluation.to_dict() if evaluation else None,
    }
    row = {"ref": ctx.ref, "kind": "payment", "recorded_at": utcnow(), **values}
    dialect = session.get_bind().dialect.name
    changes = _bucket_rows("payment", ctx.occurred_at, ctx.base_amount, row, 1)
    if session.execute(_insert_new(dialect), row).first() is None:
        # Evaluated before (a retried confirm): replace the row, move its running totals.
        earlier = session.execute(_EXISTING, {"kind": "payment", "ref": ctx.ref}).one()
        changes += _bucket_rows("payment", earlier.occurred_at, earlier.base_amount, earlier, -1)
        session.execute(_upsert(dialect), row)
    _add_to_buckets(session, dialect, changes)


def _bucket_rows(
    kind: str, occurred_at: dt.datetime, amount: int, keys: Any, sign: int
) -> list[dict[str, Any]]:
    """Bucket increments for one observation; ``keys`` maps ``<key>_key`` to its value."""
    bucket = bucket_of(occurred_at)
    getter = keys.get if isinstance(keys, Mapping) else keys._mapping.get
    return [
        {
            "key": key,
            "value": value,
            "kind": kind,
            "bucket": bucket,
            "count": sign,
            "total": sign * amount,
        }
        for key in HISTORY_KEYS
        if (value := getter(f"{key}_key"))
    ]


_bucket_upserts: dict[str, Any] = {}
_inserts: dict[str, Any] = {}


def _insert_new(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING id``: a row back means a new payment."""
    statement = _inserts.get(dialect)
    if statement is None:
        statement = _dialect_insert(dialect)(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id)
        _inserts[dialect] = statement
    return statement


def _add_to_buckets(session: Session, dialect: str, changes: list[dict[str, Any]]) -> None:
    """Add to the running hourly totals, as the transaction's last step: a merchant's
    bucket row is shared by all its concurrent payments, so its lock is best held for
    the commit alone (see :func:`core.database.before_commit`)."""
    if changes:
        before_commit(session, lambda s: _upsert_buckets(s, dialect, changes))


def _upsert_buckets(session: Session, dialect: str, changes: list[dict[str, Any]]) -> None:
    statement = _bucket_upserts.get(dialect)
    if statement is None:
        base = _dialect_insert(dialect)(_BUCKETS)
        statement = base.on_conflict_do_update(
            index_elements=["key", "value", "kind", "bucket"],
            set_={
                "count": _BUCKETS.c.count + base.excluded.count,
                "total": _BUCKETS.c.total + base.excluded.total,
            },
        )
        _bucket_upserts[dialect] = statement
    session.execute(statement, changes)


def _dialect_insert(dialect: str) -> Any:
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"the history store needs upserts; {dialect} is not supported")


_upserts: dict[str, Any] = {}
_inserts: dict[str, Any] = {}


def _insert_new(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING id``: a row back means a new payment."""
    statement = _inserts.get(dialect)
    if statement is None:
        statement = _dialect_insert(dialect)(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id)
        _inserts[dialect] = statement
    return statement


def _upsert(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (kind, ref) DO UPDATE``: one prebuilt statement per dialect,
    so a payment evaluated again overwrites its earlier row instead of counting twice."""
    statement = _upserts.get(dialect)
    if statement is None:
        base = _dialect_insert(dialect)(_TABLE)
        updated = [c.name for c in _TABLE.c if c.name not in ("id", "ref", "kind")]
        statement = base.on_conflict_do_update(
            index_elements=["kind", "ref"], set_={name: base.excluded[name] for name in updated}
        )
        _upserts[dialect] = statement
    return statement


def record_refund(
    session: Session,
    *,
    ref: str,
    payment_ref: str,
    base_amount: int,
    occurred_at: dt.datetime,
    account_id: str | None = None,
) -> None:
    """Remember a refund under the same keys as the payment it refunds.

    When the payment was never evaluated here (e.g. it predates the rules), the refund is
    still counted under ``account_id`` if given.
    """
    if session.execute(
        select(ObservationRow.id).where(ObservationRow.kind == "refund", ObservationRow.ref == ref)
    ).first():
        return
    payment = session.execute(
        select(ObservationRow).where(
            ObservationRow.kind == "payment", ObservationRow.ref == payment_ref
        )
    ).scalar_one_or_none()
    keys = {f"{k}_key": getattr(payment, f"{k}_key") if payment else None for k in HISTORY_KEYS}
    if account_id:
        keys["account_key"] = _clip(account_id)
    if not any(keys.values()):
        raise ValueError(
            f"refund {ref}: payment {payment_ref} is unknown here and no account_id was given"
        )
    session.add(
        ObservationRow(
            ref=ref,
            kind="refund",
            occurred_at=occurred_at,
            base_amount=base_amount,
            base_currency=payment.base_currency if payment else None,
            payment_ref=payment_ref,
            **keys,
        )
    )
    session.flush()
    changes = _bucket_rows("refund", occurred_at, base_amount, keys, 1)
    _add_to_buckets(session, session.get_bind().dialect.name, changes)


def past_payments(
    session: Session,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 10_000,
) -> list[PastPayment]:
    """Recorded payments in time order (oldest first), for replaying under a candidate rule set."""
    stmt = select(ObservationRow).where(
        ObservationRow.kind == "payment", ObservationRow.context.is_not(None)
    )
    if since is not None:
        stmt = stmt.where(ObservationRow.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(ObservationRow.occurred_at < until)
    rows = session.execute(
        stmt.order_by(ObservationRow.occurred_at, ObservationRow.id).limit(limit)
    ).scalars()
    return [
        PastPayment(
            context=PaymentContext.from_dict(row.context),
            screenings={
                role: ScreeningSnapshot.from_dict(s) for role, s in (row.screenings or {}).items()
            },
            decision=row.decision,
            rule_set_version=row.rule_set_version,
            rule_ids=tuple(hit["rule_id"] for hit in (row.evaluation or {}).get("hits", ())),
        )
        for row in rows
    ]

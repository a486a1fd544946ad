"""Rule-set versions in the database: draft -> active -> retired, one active at a time.

Every rule set ever used is kept (``compliance_rule_sets``) with its body, checksum, who
created it and who activated it, so a past decision can always be explained by the exact
rules that made it. Bodies are immutable: a change is a new version. Exactly one version
is active; the database enforces it with a partial unique index, and activation retires
the previous one in the same transaction. Creating and activating write audit entries.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, UTCDateTime, utcnow

from .. import audit
from .countries import CountryList
from .dry_run import DryRunReport, dry_run
from .observations import past_payments
from .ruleset import RuleSet, default_rule_set, parse_rule_set
from .sql_history import SqlHistory

STATUSES = ("draft", "active", "retired")
_LOCK_KEY = 0x636F6D706C  # advisory lock id for version allocation on PostgreSQL


class RuleSetNotFound(LookupError):
    pass


class RuleSetRow(Base):
    __tablename__ = "compliance_rule_sets"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'active', 'retired')", name="status"),
        Index(
            "uq_compliance_rule_sets_one_active",
            "status",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    body: Mapped[Any] = mapped_column(JSON)
    checksum: Mapped[str] = mapped_column(String(64), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    activated: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    activated_by: Mapped[str | None] = mapped_column(String(200))
    retired: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class RuleSetVersion:
    version: int
    name: str
    status: str
    checksum: str
    created_by: str
    created: dt.datetime
    activated: dt.datetime | None
    activated_by: str | None
    retired: dt.datetime | None
    rule_set: RuleSet

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "name": self.name,
            "status": self.status,
            "checksum": self.checksum,
            "created_by": self.created_by,
            "created": self.created,
            "activated": self.activated,
            "activated_by": self.activated_by,
            "retired": self.retired,
            "body": self.rule_set.to_dict(),
        }


_parsed: dict[str, RuleSet] = {}


def _rule_set_of(row: RuleSetRow) -> RuleSet:
    """Parse a stored body once per process, and refuse one that no longer matches its checksum."""
    key = json.dumps(row.body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    cached = _parsed.get(key)
    if cached is None:
        cached = parse_rule_set(row.body)
        if cached.checksum != row.checksum:
            raise RuntimeError(f"rule set version {row.version}: body does not match its checksum")
        if len(_parsed) > 64:
            _parsed.clear()
        _parsed[key] = cached
    return cached


def _version_of(row: RuleSetRow) -> RuleSetVersion:
    return RuleSetVersion(
        row.version,
        row.name,
        row.status,
        row.checksum,
        row.created_by,
        row.created,
        row.activated,
        row.activated_by,
        row.retired,
        _rule_set_of(row),
    )


def _serialise(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))


def create_rule_set(
    session: Session, rule_set: RuleSet | Mapping[str, Any], *, actor: str
) -> RuleSetVersion:
    """Store a new draft version (or return the existing version with the same checksum)."""
    if not isinstance(rule_set, RuleSet):
        rule_set = parse_rule_set(rule_set)
    _serialise(session)
    existing = (
        session.execute(
            select(RuleSetRow)
            .where(RuleSetRow.checksum == rule_set.checksum)
            .order_by(RuleSetRow.version.desc())
        )
        .scalars()
        .first()
    )
    if existing is not None:
        return _version_of(existing)
    version = (session.execute(select(func.max(RuleSetRow.version))).scalar() or 0) + 1
    row = RuleSetRow(
        version=version,
        name=rule_set.name,
        status="draft",
        body=rule_set.to_dict(),
        checksum=rule_set.checksum,
        created_by=actor,
        created=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor,
        "rule_set.created",
        f"rule_set:{version}",
        {
            "version": version,
            "name": rule_set.name,
            "checksum": rule_set.checksum,
            "rules": len(rule_set.rules),
        },
    )
    return _version_of(row)


def _row(session: Session, version: int, *, lock: bool = False) -> RuleSetRow:
    stmt = select(RuleSetRow).where(RuleSetRow.version == version)
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise RuleSetNotFound(f"no rule set version {version}")
    return row


def activate_rule_set(session: Session, version: int, *, actor: str) -> RuleSetVersion:
    """Make ``version`` the active rule set, retiring the current one (a retired version can
    be activated again: that is how a rollback is done)."""
    _serialise(session)
    row = _row(session, version, lock=True)
    if row.status == "active":
        return _version_of(row)
    previous = session.execute(
        select(RuleSetRow).where(RuleSetRow.status == "active").with_for_update()
    ).scalar_one_or_none()
    now = utcnow()
    if previous is not None:
        previous.status = "retired"
        previous.retired = now
        session.flush()
    row.status = "active"
    row.activated = now
    row.activated_by = actor
    row.retired = None
    session.flush()
    session.info.pop(_SEEN, None)  # this transaction now judges by the new version
    audit.append(
        session,
        actor,
        "rule_set.activated",
        f"rule_set:{version}",
        {
            "version": version,
            "checksum": row.checksum,
            "previous_version": previous.version if previous else None,
        },
    )
    return _version_of(row)


_table = RuleSetRow.__table__
_ACTIVE_HEAD = select(_table.c.version, _table.c.checksum, _table.c.activated).where(
    _table.c.status == "active"
)
_active: dict[tuple[int, str, dt.datetime | None], RuleSetVersion] = {}
_SEEN = "compliance_active_rule_set"
"""``session.info`` key: (the transaction, the active version it read)."""


def active_rule_set(session: Session) -> RuleSetVersion | None:
    """The active version, as this transaction first saw it.

    This runs before every authorisation (more than once: the screening and the history
    it is judged on both ask), so it reads three columns once per transaction and reuses
    the version parsed (and checked against its checksum) when this process first
    loaded it. One transaction judges a payment by one rule set throughout.
    """
    transaction = session.get_transaction()
    seen = session.info.get(_SEEN)
    if seen is not None and seen[0] is transaction:
        return seen[1]
    head = session.execute(_ACTIVE_HEAD).one_or_none()
    if head is None:
        return None
    key = (head.version, head.checksum, head.activated)
    cached = _active.get(key)
    if cached is None:
        cached = get_rule_set(session, head.version)
        if len(_active) > 16:
            _active.clear()
        _active[key] = cached
    session.info[_SEEN] = (transaction, cached)
    return cached


def get_rule_set(session: Session, version: int) -> RuleSetVersion:
    return _version_of(_row(session, version))


def list_rule_sets(
    session: Session, *, status: str | None = None, limit: int = 100
) -> list[RuleSetVersion]:
    """Newest version first."""
    stmt = select(RuleSetRow)
    if status is not None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        stmt = stmt.where(RuleSetRow.status == status)
    rows = session.execute(stmt.order_by(RuleSetRow.version.desc()).limit(limit)).scalars()
    return [_version_of(r) for r in rows]


def ensure_active_rule_set(session: Session, *, actor: str = "system") -> RuleSetVersion:
    """The active rule set; on a fresh installation, the shipped default, created and activated."""
    current = active_rule_set(session)
    if current is not None:
        return current
    created = create_rule_set(session, default_rule_set(), actor=actor)
    return activate_rule_set(session, created.version, actor=actor)


def dry_run_stored(
    session: Session,
    candidate: RuleSet | int,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 10_000,
    against_active: bool = True,
    countries: Mapping[str, CountryList] | None = None,
) -> DryRunReport:
    """Replay recorded payments under ``candidate`` (a rule set or a stored version).

    The baseline is the active rule set evaluated on the same inputs (``against_active``),
    or the decisions recorded at the time. Each payment sees only the history before it.
    """
    rule_set = (
        get_rule_set(session, candidate).rule_set if isinstance(candidate, int) else candidate
    )
    baseline = None
    if against_active and (active := active_rule_set(session)) is not None:
        baseline = active.rule_set
    return dry_run(
        rule_set,
        past_payments(session, since=since, until=until, limit=limit),
        history=SqlHistory(session),
        baseline=baseline,
        countries=countries,
    )

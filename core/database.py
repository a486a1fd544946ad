"""Engines, sessions and transactions for SQLite (embedded) and PostgreSQL.

Every state change and its ledger postings commit in one transaction, so the unit of
work is a :class:`sqlalchemy.orm.Session` opened by :meth:`Database.transaction`.
Writers on SQLite start with ``BEGIN IMMEDIATE`` so two writers queue on the lock
instead of failing when a read lock is upgraded; on PostgreSQL, serialization failures
and deadlocks are retried (bounded) by :func:`Database.run`.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, String, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every table of every domain (one metadata, one migration history)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC-aware datetimes")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class DecimalText(TypeDecorator[Decimal]):
    """A finite ``Decimal`` stored exactly, as its plain string (up to 64 characters).

    Exchange rates span many orders of magnitude and carry up to fifteen significant
    digits, so no single ``Numeric(p, s)`` fits them all, and SQLite's ``NUMERIC``
    affinity goes through a binary float. The canonical decimal string keeps every digit
    on both backends: what is read back is the very value that was written.
    """

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError(f"DecimalText stores finite Decimals only, got {value!r}")
        text = format(value, "f")
        if len(text) > 64:
            raise ValueError(f"{text} has more than 64 characters")
        return text

    def process_result_value(self, value: str | None, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        try:
            return Decimal(value)
        except InvalidOperation as exc:  # pragma: no cover - only our own writes land here
            raise ValueError(f"stored decimal {value!r} is not a decimal") from exc


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class RetryableConflict(Exception):
    """Raised by code that detects a lost race and wants its transaction retried."""


def is_retryable(exc: BaseException) -> bool:
    """Serialization failures, deadlocks and SQLite's busy lock are safe to retry."""
    if isinstance(exc, RetryableConflict):
        return True
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if sqlstate in {"40001", "40P01", "55P03"}:
            return True
        if isinstance(exc, OperationalError) and "database is locked" in str(orig):
            return True
        if exc.connection_invalidated:
            return True
    return False


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how a transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_db_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if not database or database == ":memory:":
            kwargs["poolclass"] = NullPool
        engine = create_engine(url, echo=echo, **kwargs)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # No pre-ping: it costs a round trip per transaction on the hot path. Connections
        # are recycled hourly instead, and a dropped one fails a transaction that the
        # caller's bounded retry (Database.run, the unit of work) runs again.
        return create_engine(
            url,
            echo=echo,
            pool_size=pool_size,
            max_overflow=pool_size * 2,
            pool_recycle=3600,
        )
    raise ValueError(f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}")


class Database:
    """An engine plus the unit-of-work helpers every service uses."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.engine = create_db_engine(url, pool_size=pool_size, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self, *, write: bool = True) -> Session:
        """A new session; on SQLite a writer takes the write lock at BEGIN."""
        session = self._sessions()
        if write and self.dialect == "sqlite":
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        return session

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """Commit on success, roll back on any exception."""
        session = self.session(write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def run(self, work: Callable[[Session], T], *, retries: int = 8, write: bool = True) -> T:
        """Run ``work`` in a transaction, retrying lost races with jittered backoff."""
        attempt = 0
        while True:
            try:
                with self.transaction(write=write) as session:
                    return work(session)
            except Exception as exc:
                attempt += 1
                if attempt > retries or not is_retryable(exc):
                    raise
                time.sleep(min(0.2, 0.002 * 2**attempt) * random.random())

    def dispose(self) -> None:
        self.engine.dispose()


# --- work that runs as a transaction's last step --------------------------------------

Deferred = TypeVar("Deferred", bound=Callable[[Session], None])

_DEFERRED = "before_commit"
_MARKS = "before_commit_marks"
_DROPPED_ON_ROLLBACK: set[str] = {_DEFERRED, _MARKS}


def dropped_on_rollback(key: str) -> str:
    """Register a ``session.info`` key that gathers what the current transaction did
    (events emitted, accounts seen): rolling the transaction back, not a savepoint,
    drops it. Returns ``key``."""
    _DROPPED_ON_ROLLBACK.add(key)
    return key


def before_commit(session: Session, work: Callable[[Session], None]) -> None:
    """Run ``work(session)`` as the last step of this transaction, just before it commits.

    For writes to rows that many transactions contend for (the audit chain's head, a
    merchant's running totals): taking their locks at the very end holds them for the
    commit alone instead of for the rest of the request, which is what serialises
    concurrent writers. The work commits with the transaction or not at all; work queued
    inside a savepoint that rolls back is dropped with it.
    """
    if not session.in_transaction():
        # Begin now, so that a rollback before any statement still drops this work
        # (a rollback without a transaction is a no-op that fires no event).
        session.connection()
    session.info.setdefault(_DEFERRED, []).append(work)


def uncontended(work: Deferred) -> Deferred:
    """Mark deferred work that writes no row another transaction may also be writing
    (it reads, or inserts rows of its own): at commit it runs before the rest of the
    deferred work, which locks shared rows, so those locks wait for less."""
    work.contended = False  # type: ignore[attr-defined]
    return work


def _contended(work: Callable[[Session], None]) -> bool:
    return getattr(work, "contended", True)


def before_commit_once(session: Session, work: Callable[[Session], None]) -> None:
    """:func:`before_commit`, unless ``work`` is already queued in this transaction (work
    that gathers what the transaction did, once, however often it is asked for)."""
    if work not in session.info.get(_DEFERRED, ()):
        before_commit(session, work)


def run_early(session: Session, work: Callable[[Session], None]) -> bool:
    """Run ``work`` now if it is still queued by :func:`before_commit` (a later step of the
    transaction needs its effects); it then does not run again at commit. Returns
    whether it ran: work dropped with a rolled-back savepoint, or already taken by the
    commit, is not run here."""
    pending = session.info.get(_DEFERRED)
    if not pending:
        return False
    for index, queued in enumerate(pending):
        if queued is work:
            # Replaced rather than removed: savepoint marks are positions in this list.
            pending[index] = _done
            work(session)
            return True
    return False


def _done(session: Session) -> None:
    """A queued step that already ran early."""


class CommittingWork(Protocol):
    """Deferred work that can also end the transaction itself.

    A transaction's last statement and its ``COMMIT`` can travel in one round trip, so
    the rows that statement locks are held for the commit alone, not also for a reply to
    the client and a second request (on hot rows that gap is what serialises writers).
    Queue such work with :func:`before_commit` like any other; at commit it runs after
    all other deferred work and the ORM's flush, through :meth:`run_and_commit`.
    """

    def __call__(self, session: Session) -> None:
        """Do the work, leaving the transaction open (the fallback)."""
        ...

    def run_and_commit(self, session: Session) -> bool:
        """Do the work and commit the database transaction in the same round trip and
        return True; or do it as :meth:`__call__` would, leaving the transaction open,
        and return False."""
        ...


def _commits_itself(work: Callable[[Session], None]) -> bool:
    return callable(getattr(work, "run_and_commit", None))


def _owns_its_transaction(session: Session) -> bool:
    """Whether committing ``session`` commits one database transaction that it began
    itself: not a savepoint, not a transaction it joined, not several connections."""
    if session.in_nested_transaction():
        return False
    transaction = session.get_transaction()
    if transaction is None:
        return False
    # SessionTransaction keeps (connection, transaction, should_commit, autoclose) per
    # bind; should_commit is False when the session joined a transaction begun outside it.
    entries = {id(entry[0]): entry for entry in transaction._connections.values()}
    if len(entries) != 1:
        return False
    connection, _, should_commit, _ = next(iter(entries.values()))
    return bool(should_commit) and not connection.in_nested_transaction()


@event.listens_for(Session, "before_commit")
def _run_deferred(session: Session) -> None:
    while pending := session.info.pop(_DEFERRED, None):
        pending.sort(key=_contended)  # stable: uncontended work first, each in queued order
        # The last work that can commit by itself goes last of all (it is a posting on
        # hot rows: see CommittingWork); the rest runs in the order it was queued.
        final = next((w for w in reversed(pending) if _commits_itself(w)), None)
        for work in pending:
            if work is not final:
                work(session)
        if final is None:
            continue
        may_commit = not session.info.get(_DEFERRED) and _owns_its_transaction(session)
        if may_commit:
            session.flush()  # the ORM's pending writes belong to this transaction too
        if not may_commit or session.info.get(_DEFERRED):
            final(session)  # the commit is not this session's, or more work arrived
        elif final.run_and_commit(session):  # type: ignore[attr-defined]
            break  # committed: nothing may run after this
    session.info.pop(_MARKS, None)


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: Any) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_MARKS, {})
        marks[id(transaction)] = len(session.info.get(_DEFERRED, []))


@event.listens_for(Session, "after_soft_rollback")
def _drop_deferred(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.nested:
        mark = session.info.get(_MARKS, {}).pop(id(previous_transaction), None)
        if mark is not None and _DEFERRED in session.info:
            del session.info[_DEFERRED][mark:]
    else:
        for key in _DROPPED_ON_ROLLBACK:
            session.info.pop(key, None)


_MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


MIGRATION_LOCK = 0x636F72726964  # "corrid": one advisory lock id for schema changes


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema at ``url`` up to ``revision`` (Alembic; never ``create_all``).

    On PostgreSQL an advisory lock serialises migrators, so several API replicas and a
    migration job may all start at once.
    """
    from alembic import command

    config = alembic_config(url)
    if make_url(url).get_backend_name() != "postgresql":
        command.upgrade(config, revision)
        return
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
            connection.commit()
            try:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                connection.commit()
            finally:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")
                connection.commit()
    finally:
        engine.dispose()


_current: Database | None = None


def set_database(db: Database | None) -> None:
    """Install the process's database (done by the CLI, the app factory and tests)."""
    global _current
    _current = db


def get_database() -> Database:
    """The process's database, created from settings on first use."""
    global _current
    if _current is None:
        from core.settings import get_settings

        _current = Database(get_settings().database_url)
    return _current

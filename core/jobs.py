"""Durable background jobs: a transactional outbox that every domain enqueues into.

A job is written in the same transaction as the business change that needs it, keyed on
business identity (``deliver:evt_1:we_2``), so it exists if and only if the change
committed, and enqueueing twice is a no-op. Workers claim a job with one conditional
UPDATE (a lease), run its handler, then mark it done; a failed attempt is rescheduled
with the handler's backoff, and a worker that dies mid-job loses only its lease.
The transport that wakes workers (Celery, or the embedded thread) carries job ids only,
so losing a message never loses work: the sweep finds every due job again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, Database, UTCDateTime, utcnow
from core.ids import new_id

log = logging.getLogger("corridor.jobs")

LEASE = dt.timedelta(seconds=120)
"""How long a claim lasts where nothing else proves its worker alive (SQLite)."""
HELD_LEASE = dt.timedelta(seconds=15)
"""On PostgreSQL a running job is also held by its worker's advisory lock, which dies
with the worker's connection: the lease can be short, because taking a job over first
takes that lock, and a live worker still holds it however long the job runs."""


class Job(Base):
    __tablename__ = "core_jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    """queued | running | done | failed (gave up)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=20)
    run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ix_core_jobs_due", "status", "run_after"),)


Backoff = Callable[[int], dt.timedelta]
"""Delay before attempt ``n + 1`` after ``n`` failed attempts."""


def exponential_backoff(attempt: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(3600, 2 ** min(attempt, 12)))


@dataclass(frozen=True)
class JobHandler:
    name: str
    run: Callable[..., None]
    backoff: Backoff
    max_attempts: int


_HANDLERS: dict[str, JobHandler] = {}


def job_handler(
    name: str, *, backoff: Backoff = exponential_backoff, max_attempts: int = 20
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``fn(db: Database, **args)`` to run jobs called ``name``.

    Handlers open their own transactions and must be idempotent: a job whose worker died
    after the handler's effect but before it was marked done runs again.
    """

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        _HANDLERS[name] = JobHandler(name, fn, backoff, max_attempts)
        return fn

    return register


def handler_for(name: str) -> JobHandler:
    return _HANDLERS[name]


class RetryLater(Exception):
    """Raised by a handler to retry after ``delay`` without it counting as an error."""

    def __init__(self, reason: str, delay: dt.timedelta | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


def enqueue(
    session: Session,
    name: str,
    key: str,
    args: dict[str, Any] | None = None,
    *,
    run_after: dt.datetime | None = None,
    max_attempts: int | None = None,
) -> None:
    """Add a job in the caller's transaction; a second job with the same key is ignored."""
    handler = _HANDLERS.get(name)
    values = {
        "id": new_id("job"),
        "key": key,
        "name": name,
        "args": args or {},
        "status": "queued",
        "attempts": 0,
        "max_attempts": max_attempts or (handler.max_attempts if handler else 20),
        "run_after": run_after or utcnow(),
        "created": utcnow(),
        "seq": 0,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(Job).values(**values).on_conflict_do_nothing(index_elements=["key"]))
    pending = session.info.setdefault("jobs_enqueued", [])
    pending.append((values["id"], key, values["run_after"]))


def enqueued_in(session: Session) -> list[tuple[str, str, dt.datetime]]:
    """Jobs this session enqueued (id, key, run_after), for waking workers after commit."""
    return list(session.info.get("jobs_enqueued", []))


def claim(
    session: Session,
    job_id: str,
    now: dt.datetime | None = None,
    *,
    lease: dt.timedelta = LEASE,
    holder_gone: bool = False,
) -> Job | None:
    """Take the lease on a due job, or return None if it is not due or someone holds it.

    ``holder_gone``: the caller holds the job's advisory lock, so whoever ran it last is
    dead (its connection, and its lock, are gone): a running job is taken over at once.
    """
    now = now or utcnow()
    abandoned = Job.status == "running"
    if not holder_gone:
        abandoned = abandoned & (Job.locked_until < now)
    due = or_((Job.status == "queued") & (Job.run_after <= now), abandoned)
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, due)
        .values(status="running", locked_until=now + lease, attempts=Job.attempts + 1)
        .returning(Job.id, Job.name, Job.args, Job.attempts, Job.max_attempts)
    ).first()
    if result is None:
        return None
    job = Job(
        id=result.id,
        name=result.name,
        args=result.args,
        attempts=result.attempts,
        max_attempts=result.max_attempts,
    )
    return job


def due_jobs(
    session: Session,
    limit: int = 200,
    now: dt.datetime | None = None,
    *,
    overdue_by: dt.timedelta = dt.timedelta(0),
) -> list[str]:
    """Jobs a worker should run now: queued and due (for at least ``overdue_by``: a
    sweep that backs up the after-commit dispatch leaves fresh jobs to it), or running
    on a lease that has run out."""
    now = now or utcnow()
    rows = session.execute(
        select(Job.id)
        .where(
            or_(
                (Job.status == "queued") & (Job.run_after <= now - overdue_by),
                (Job.status == "running") & (Job.locked_until < now),
            )
        )
        .order_by(Job.run_after)
        .limit(limit)
    )
    return [row[0] for row in rows]


def next_due_at(session: Session) -> dt.datetime | None:
    """When the earliest queued job becomes due (for a worker deciding how long to sleep)."""
    return session.execute(
        select(Job.run_after).where(Job.status == "queued").order_by(Job.run_after).limit(1)
    ).scalar()


def run_after(session: Session, job_id: str) -> dt.datetime | None:
    return session.scalar(select(Job.run_after).where(Job.id == job_id, Job.status == "queued"))


def _lock_key(job_id: str) -> int:
    digest = hashlib.blake2b(f"job:{job_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def _held(db: Database, job_id: str) -> Iterator[bool]:
    """On PostgreSQL, hold the job's advisory lock for as long as it runs (its own
    connection, outside any transaction); yields whether this worker got it."""
    if db.dialect != "postgresql":
        yield False
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as holder:
        key = _lock_key(job_id)
        got = bool(holder.execute(select(func.pg_try_advisory_lock(key))).scalar())
        try:
            yield got
        finally:
            if got:
                holder.execute(select(func.pg_advisory_unlock(key)))


def execute(db: Database, job_id: str) -> str:
    """Claim and run one job; returns what happened (done, retry, failed, skipped)."""
    with _held(db, job_id) as held:
        if db.dialect == "postgresql" and not held:
            return "skipped"  # a live worker is running it
        lease = HELD_LEASE if held else LEASE
        job = db.run(lambda s: claim(s, job_id, lease=lease, holder_gone=held))
        if job is None:
            return "skipped"
        return _run(db, job)


def _run(db: Database, job: Job) -> str:
    handler = _HANDLERS.get(job.name)
    started = time.monotonic()
    try:
        if handler is None:
            raise LookupError(f"no handler registered for job {job.name!r}")
        handler.run(db, **job.args)
    except RetryLater as retry:
        delay = retry.delay or (handler.backoff(job.attempts) if handler else LEASE)
        return _reschedule(db, job, str(retry), delay, counts=False)
    except Exception as exc:
        log.warning("job %s (%s) attempt %s failed: %s", job.id, job.name, job.attempts, exc)
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        delay = handler.backoff(job.attempts) if handler else LEASE
        return _reschedule(db, job, detail[:2000], delay, counts=True)
    db.run(
        lambda s: s.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(status="done", locked_until=None, finished=utcnow(), last_error=None)
        )
    )
    log.info("job %s (%s) done in %.0f ms", job.id, job.name, (time.monotonic() - started) * 1000)
    return "done"


def _reschedule(db: Database, job: Job, error: str, delay: dt.timedelta, *, counts: bool) -> str:
    give_up = counts and job.attempts >= job.max_attempts
    now = utcnow()
    values: dict[str, Any] = {"locked_until": None, "last_error": error}
    if give_up:
        values.update(status="failed", finished=now)
    else:
        values.update(status="queued", run_after=now + delay)
        if not counts:
            values["attempts"] = Job.attempts - 1
    db.run(lambda s: s.execute(update(Job).where(Job.id == job.id).values(**values)))
    return "failed" if give_up else "retry"

"""The task queue: how durable jobs (:mod:`core.jobs`) reach a worker.

Production runs Celery with Redis or RabbitMQ (``CORRIDOR_BROKER_URL``): after a
transaction commits, each new job's id is sent as a ``corridor.run_job`` message
(``acks_late``, so a worker killed mid-job leaves the message to be redelivered), and
``corridor beat`` sends ``corridor.sweep`` every few seconds, which re-dispatches any due
or orphaned job and enqueues periodic work. The embedded default has no broker: an
in-process worker thread does exactly what the sweep and the workers do.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from celery import Celery
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from core import jobs
from core.database import Database, get_database, utcnow
from core.settings import Settings

log = logging.getLogger("corridor.tasks")

SWEEP_INTERVAL = dt.timedelta(seconds=2)

celery_app = Celery("corridor")
celery_app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    beat_schedule={
        "corridor-sweep": {"task": "corridor.sweep", "schedule": SWEEP_INTERVAL.total_seconds()}
    },
)


@dataclass(frozen=True)
class Periodic:
    """Work enqueued once per ``every`` (keyed on the period, so many beats enqueue once)."""

    job_name: str
    every: dt.timedelta

    def key(self, now: dt.datetime) -> str:
        bucket = int(now.timestamp() // self.every.total_seconds())
        return f"periodic:{self.job_name}:{bucket}"


_PERIODIC: list[Periodic] = []


def periodic(job_name: str, every: dt.timedelta) -> None:
    """Run job ``job_name`` (no arguments) once per ``every`` on whatever runs the sweep."""
    _PERIODIC.append(Periodic(job_name, every))


_periodic_enqueued: weakref.WeakKeyDictionary[Engine, dict[str, str]] = weakref.WeakKeyDictionary()
"""The period key each periodic job was last enqueued under, per database, by this
process (the database's unique job key still makes many processes enqueue once)."""

RESEND_AFTER = dt.timedelta(seconds=10)
"""The Celery sweep re-sends only jobs due this long: newer ones were dispatched after
their commit and are most likely still in the broker (re-sending them would only pile
duplicates on a backlog)."""


def sweep(
    db: Database, now: dt.datetime | None = None, *, overdue_by: dt.timedelta = dt.timedelta(0)
) -> list[str]:
    """Enqueue due periodic work and return the ids of every job that is due now."""
    now = now or utcnow()
    enqueued = _periodic_enqueued.setdefault(db.engine, {})
    keys = {item.job_name: item.key(now) for item in _PERIODIC}
    fresh = {name: key for name, key in keys.items() if enqueued.get(name) != key}
    if fresh:
        # A write (on SQLite, the database's one write lock) only when a period turns
        # over: sweeps run after every job, and most find nothing new to schedule.
        def schedule(session: Session) -> None:
            for name, key in fresh.items():
                jobs.enqueue(session, name, key, run_after=now)

        db.run(schedule)
        enqueued.update(fresh)
    return db.run(lambda s: jobs.due_jobs(s, now=now, overdue_by=overdue_by), write=False)


class Dispatcher(Protocol):
    def dispatch(self, job_ids: list[str]) -> None: ...


class CeleryDispatcher:
    def dispatch(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            run_job.apply_async(args=[job_id])


class EmbeddedWorker:
    """A worker thread inside the API process: the broker-less default.

    It sweeps on an interval and immediately when a transaction commits new jobs, and runs
    jobs on a small thread pool, outside any request.
    """

    def __init__(self, db: Database, *, threads: int = 2, interval: float = 0.5) -> None:
        self.db = db
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="corridor-job")
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="corridor-worker", daemon=True)

    def start(self) -> EmbeddedWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def dispatch(self, job_ids: list[str]) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                for job_id in sweep(self.db):
                    self._submit(job_id)
            except Exception:  # keep the worker alive; the next sweep retries
                log.exception("embedded sweep failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    def _submit(self, job_id: str) -> None:
        with self._lock:
            if job_id in self._running:
                return
            self._running.add(job_id)

        def run() -> None:
            try:
                jobs.execute(self.db, job_id)
            except Exception:
                log.exception("job %s crashed", job_id)
            finally:
                with self._lock:
                    self._running.discard(job_id)
                self._wake.set()

        self._pool.submit(run)


# Who hears of a database's committed jobs. Keyed by engine, not process-wide: a process
# may hold several databases (tests, a migration tool), and a worker told of a job in
# another database would only find nothing, holding the job's lock while it looked.
_dispatchers: weakref.WeakKeyDictionary[Engine, Dispatcher] = weakref.WeakKeyDictionary()


def set_dispatcher(db: Database, dispatcher: Dispatcher | None) -> None:
    if dispatcher is None:
        _dispatchers.pop(db.engine, None)
    else:
        _dispatchers[db.engine] = dispatcher


def configure(settings: Settings, db: Database) -> Celery:
    """Point Celery at the configured broker; with none, jobs wait for an embedded worker."""
    if settings.broker_url:
        celery_app.conf.broker_url = settings.broker_url
        set_dispatcher(db, CeleryDispatcher())
    return celery_app


@event.listens_for(Session, "after_commit")
def _dispatch_committed(session: Session) -> None:
    enqueued = session.info.pop("jobs_enqueued", None)
    if not enqueued:
        return
    bind = session.get_bind()
    dispatcher = _dispatchers.get(bind if isinstance(bind, Engine) else bind.engine)
    if dispatcher is None:
        return
    now = utcnow()
    due = [job_id for job_id, _key, run_after in enqueued if run_after <= now]
    if due:
        try:
            dispatcher.dispatch(due)
        except Exception:  # the sweep will find them; never fail a committed request
            log.exception("could not dispatch jobs %s", due)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop("jobs_enqueued", None)


@celery_app.task(name="corridor.run_job", acks_late=True)
def run_job(job_id: str) -> str:
    db = get_database()
    outcome = jobs.execute(db, job_id)
    if outcome == "retry":
        # Come back when the job is due; the sweep would find it anyway, later.
        run_after = db.run(lambda s: jobs.run_after(s, job_id), write=False)
        if run_after is not None:
            run_job.apply_async(args=[job_id], eta=run_after)
    return outcome


@celery_app.task(name="corridor.sweep")
def sweep_task() -> int:
    due = sweep(get_database(), overdue_by=RESEND_AFTER)
    for job_id in due:
        run_job.apply_async(args=[job_id])
    return len(due)


def run_pending(db: Database, *, until_idle: bool = True, limit: int = 1000) -> int:
    """Run due jobs in this thread (the CLI's ``corridor jobs run`` and tests' drains)."""
    ran = 0
    while ran < limit:
        due = sweep(db)
        if not due:
            break
        for job_id in due:
            if jobs.execute(db, job_id) == "done":
                ran += 1
        if not until_idle:
            break
    return ran

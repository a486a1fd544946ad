"""The durable job queue: enqueued with the business change, run once, retried, never lost."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core import jobs, tasks
from core.database import Database, utcnow
from core.jobs import Job, enqueue, job_handler

CALLS: list[tuple[str, int]] = []
FAILURES: dict[str, int] = {}


@job_handler("tests.record", max_attempts=3, backoff=lambda n: dt.timedelta(0))
def record(db: Database, name: str, fail_times: int = 0) -> None:
    seen = FAILURES.get(name, 0)
    if seen < fail_times:
        FAILURES[name] = seen + 1
        raise RuntimeError(f"{name} failed on purpose")
    CALLS.append((name, seen))


def _job(db: Database, key: str) -> Job | None:
    with db.transaction(write=False) as session:
        return session.scalar(select(Job).where(Job.key == key))


def test_a_job_exists_only_if_its_transaction_commits(db):
    with pytest.raises(RuntimeError), db.transaction() as session:
        enqueue(session, "tests.record", "rolled-back", {"name": "never"})
        raise RuntimeError("the business change failed")
    assert _job(db, "rolled-back") is None
    with db.transaction() as session:
        enqueue(session, "tests.record", "committed", {"name": "once"})
        enqueue(session, "tests.record", "committed", {"name": "twice?"})
    with db.transaction(write=False) as session:
        assert len(session.scalars(select(Job).where(Job.key == "committed")).all()) == 1


def test_run_retry_and_give_up(db):
    CALLS.clear()
    FAILURES.clear()
    with db.transaction() as session:
        enqueue(session, "tests.record", "flaky", {"name": "flaky", "fail_times": 2})
        enqueue(session, "tests.record", "doomed", {"name": "doomed", "fail_times": 99})
    tasks.run_pending(db)
    assert CALLS == [("flaky", 2)]
    flaky, doomed = _job(db, "flaky"), _job(db, "doomed")
    assert (flaky.status, flaky.attempts) == ("done", 3)
    assert (doomed.status, doomed.attempts) == ("failed", 3)
    assert "doomed failed on purpose" in doomed.last_error
    assert jobs.execute(db, flaky.id) == "skipped"  # done jobs never run again


def test_a_dead_workers_lease_expires_and_the_job_runs_again(db):
    CALLS.clear()
    with db.transaction() as session:
        enqueue(session, "tests.record", "orphan", {"name": "orphan"})
    job_id = _job(db, "orphan").id
    claimed = db.run(lambda s: jobs.claim(s, job_id))  # a worker takes it, then dies
    assert claimed is not None
    assert db.run(lambda s: jobs.claim(s, job_id)) is None  # leased: nobody else may
    later = utcnow() + jobs.LEASE + dt.timedelta(seconds=1)
    assert job_id in db.run(lambda s: jobs.due_jobs(s, now=later))
    assert db.run(lambda s: jobs.claim(s, job_id, now=later)) is not None


def test_the_embedded_worker_runs_committed_jobs(db):
    CALLS.clear()
    worker = tasks.EmbeddedWorker(db, interval=0.05).start()
    tasks.set_dispatcher(db, worker)
    try:
        with db.transaction() as session:
            enqueue(session, "tests.record", "background", {"name": "background"})
        import time

        deadline = time.monotonic() + 20
        while _job(db, "background").status != "done":
            assert time.monotonic() < deadline, "the embedded worker did not run the job"
            time.sleep(0.02)
    finally:
        tasks.set_dispatcher(db, None)
        worker.stop()
    assert ("background", 0) in CALLS


def test_periodic_work_is_enqueued_once_per_period(db):
    now = dt.datetime(2026, 1, 1, 12, 30, tzinfo=dt.UTC)
    tasks.sweep(db, now=now)
    tasks.sweep(db, now=now + dt.timedelta(minutes=10))
    with db.transaction(write=False) as session:
        purges = session.scalars(select(Job).where(Job.name == "api.purge_idempotency_keys")).all()
    assert len(purges) == 1


@pytest.mark.postgres
def test_a_dead_workers_job_is_taken_over_at_once_on_postgres(db):
    CALLS.clear()
    with db.transaction() as session:
        enqueue(session, "tests.record", "crashed", {"name": "crashed"})
    job_id = _job(db, "crashed").id
    # A worker claimed it and died: status running, lease still far in the future, and no
    # advisory lock held (its connection is gone).
    db.run(lambda s: jobs.claim(s, job_id, lease=dt.timedelta(hours=1)))
    assert jobs.execute(db, job_id) == "done"
    assert ("crashed", 0) in CALLS


@pytest.mark.postgres
def test_a_live_workers_job_is_not_run_twice_on_postgres(db):
    with db.transaction() as session:
        enqueue(session, "tests.record", "held", {"name": "held"})
    job_id = _job(db, "held").id
    with jobs._held(db, job_id) as held:  # a live worker holds the job's lock
        assert held
        assert jobs.execute(db, job_id) == "skipped"


def test_committed_jobs_wake_only_their_own_databases_worker(db, tmp_path):
    """A process may hold several databases: a worker told of another database's job
    would only look for it in vain (on PostgreSQL, holding the job's lock meanwhile)."""
    from tests.conftest import make_test_database

    other, drop = make_test_database(tmp_path / "other")
    told: list[list[str]] = []

    class Listener:
        def dispatch(self, job_ids: list[str]) -> None:
            told.append(job_ids)

    tasks.set_dispatcher(other, Listener())
    try:
        with db.transaction() as session:
            enqueue(session, "tests.record", "elsewhere", {"name": "elsewhere"})
        assert told == []
        with other.transaction() as session:
            enqueue(session, "tests.record", "here", {"name": "here"})
        assert told == [[_job(other, "here").id]]
    finally:
        tasks.set_dispatcher(other, None)
        drop()


def test_a_sweep_writes_only_when_a_period_turns_over(db):
    """Sweeps follow every job; most must not take the write lock to schedule nothing."""
    from sqlalchemy import event

    import settlement.runs.jobs  # noqa: F401  (registers periodic work)

    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        now = utcnow()
        tasks.sweep(db, now=now)
        assert "INSERT" in statements
        statements.clear()
        tasks.sweep(db, now=now + dt.timedelta(milliseconds=1))
        assert "INSERT" not in statements and "SELECT" in statements
        statements.clear()
        tasks.sweep(db, now=now + dt.timedelta(days=1))  # every period has turned over
        assert "INSERT" in statements
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)

"""Background work through the service's real worker (embedded, or Celery on a broker)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from api.idempotency import IdempotencyRecord
from core.database import utcnow
from core.ids import new_id
from core.jobs import Job, enqueue


def test_expired_idempotency_keys_are_purged_by_the_worker(service):
    now = utcnow()
    with service.db.transaction() as session:
        session.add(
            IdempotencyRecord(
                id=new_id("idem"),
                scope="test",
                key=new_id("k"),
                fingerprint="x" * 64,
                status="completed",
                created=now - dt.timedelta(days=2),
                expires_at=now - dt.timedelta(days=1),
            )
        )
        key = new_id("purge")
        enqueue(session, "api.purge_idempotency_keys", key)

    def purged() -> bool:
        with service.db.transaction(write=False) as session:
            job = session.scalar(select(Job).where(Job.key == key))
            left = session.scalars(
                select(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now)
            ).all()
            return job.status == "done" and not left

    service.wait_for(purged)

"""Prometheus metrics: what the service did, and the state of its queues.

Two kinds, because the service runs as several processes (API workers, Celery workers):

* **counters of this process** (``prometheus_client``'s default registry): HTTP requests
  and latencies (recorded by :mod:`api.observability`), payment outcomes and every other
  domain event, rate-limit refusals. Payment outcomes are counted from the events the
  domain emits (``payment_intent.succeeded``...) once their transaction commits, so a
  rolled-back or retried request is not counted. With several processes per host, set
  ``PROMETHEUS_MULTIPROC_DIR`` and the scrape aggregates them.
* **read from the database at scrape time** (:func:`database_metrics`): job queue depth,
  lag and failures, webhook deliveries pending, retrying and given up, and ledger
  transfers committed. These are the same whichever process (API or Celery worker) did
  the work, which is what an alert about a stuck queue or silent books needs.

Metric values are counts and seconds; no amount of money is ever exported (a float
cannot carry minor units faithfully).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from core.database import utcnow
from core.events import Event
from core.jobs import Job
from settlement.ledger.tables import LedgerTransfer

HTTP_REQUESTS = Counter(
    "corridor_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "corridor_http_request_duration_seconds",
    "Time from receiving a request to the end of its response (includes the commit).",
    ["method", "route", "status_class"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
HTTP_IN_FLIGHT = Gauge(
    "corridor_http_requests_in_flight", "Requests being served now.", multiprocess_mode="livesum"
)
ADMISSION_WAITING = Gauge(
    "corridor_admission_waiting",
    "Requests waiting for one of their process's CORRIDOR_TRANSACTIONS_PER_WORKER admissions.",
    multiprocess_mode="livesum",
)
ADMISSION_WAIT = Histogram(
    "corridor_admission_wait_seconds",
    "Time a request waited for an admission before its transaction began.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PAYMENT_OUTCOMES = Counter(
    "corridor_payment_outcomes",
    "PaymentIntent state changes committed (payment_intent.* events), by outcome, "
    "currency and, for failures, the decline code.",
    ["outcome", "currency", "reason"],
)
EVENTS = Counter("corridor_events", "Domain events committed, by type.", ["type"])
RATE_LIMITED = Counter(
    "corridor_rate_limited_requests", "Requests refused with 429 (rate_limit), by role.", ["role"]
)
RATE_LIMIT_STORE_ERRORS = Counter(
    "corridor_rate_limit_store_errors",
    "Rate-limit checks that could not reach their store and admitted the request.",
)

_TOKEN = re.compile(r"^[a-z0-9_.]{1,60}$")


def _label(value: Any) -> str:
    """Label values come from a closed vocabulary; anything else is folded to "other"."""
    text = str(value or "").lower()
    return text if _TOKEN.match(text) else "other"


def _count_event(type_: str, data: dict[str, Any]) -> None:
    EVENTS.labels(type=_label(type_)).inc()
    if not type_.startswith("payment_intent."):
        return
    obj = data.get("object") if isinstance(data, dict) else None
    obj = obj if isinstance(obj, dict) else {}
    reason = ""
    if type_ == "payment_intent.payment_failed":
        error = obj.get("last_payment_error") or {}
        reason = _label(error.get("decline_code") or error.get("code")) if error else "other"
    PAYMENT_OUTCOMES.labels(
        outcome=_label(type_.removeprefix("payment_intent.")),
        currency=_label(obj.get("currency")),
        reason=reason,
    ).inc()


# --- counting what commits -----------------------------------------------------------

_PENDING_EVENTS = "corridor.metrics.events"


def _after_flush(session: Session, _context: Any) -> None:
    new = [obj for obj in session.new if isinstance(obj, Event)]
    if new:
        session.info.setdefault(_PENDING_EVENTS, []).extend((e.type, e.data) for e in new)


def _after_commit(session: Session) -> None:
    for type_, data in session.info.pop(_PENDING_EVENTS, ()):
        _count_event(type_, data)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_EVENTS, None)


_installed = threading.Lock()
_listening = False


def install() -> None:
    """Listen to every session of the process (idempotent)."""
    global _listening
    with _installed:
        if _listening:
            return
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
        _listening = True


# --- read from the database at scrape time ------------------------------------------


def _seconds(delta: dt.timedelta) -> float:
    return max(0.0, delta.total_seconds())


def database_metrics(session: Session, now: dt.datetime | None = None) -> list[Metric]:
    """Queue and delivery gauges, read in ``session`` (cheap, index-backed queries)."""
    from payments.webhooks import WebhookDelivery

    now = now or utcnow()
    jobs = GaugeMetricFamily(
        "corridor_jobs",
        "Background jobs not done, by job name and status (queued, running, failed = gave up).",
        labels=["name", "status"],
    )
    for name, status, count in session.execute(
        select(Job.name, Job.status, func.count())
        .where(Job.status.in_(("queued", "running", "failed")))
        .group_by(Job.name, Job.status)
    ):
        jobs.add_metric([name, status], count)

    retrying = GaugeMetricFamily(
        "corridor_jobs_retrying",
        "Queued jobs that have already failed at least once, by job name.",
        labels=["name"],
    )
    lag = GaugeMetricFamily(
        "corridor_job_queue_lag_seconds",
        "How long the oldest due job has been waiting for a worker, by job name.",
        labels=["name"],
    )
    for name, waiting, oldest in session.execute(
        select(Job.name, func.count(), func.min(Job.run_after))
        .where(Job.status == "queued", Job.run_after <= now)
        .group_by(Job.name)
    ):
        lag.add_metric([name], _seconds(now - _aware(oldest)) if waiting else 0.0)
    for name, count in session.execute(
        select(Job.name, func.count())
        .where(Job.status == "queued", Job.attempts > 0)
        .group_by(Job.name)
    ):
        retrying.add_metric([name], count)

    stale = session.scalar(
        select(func.count()).where(Job.status == "running", Job.locked_until < now)
    )
    expired = GaugeMetricFamily(
        "corridor_jobs_expired_leases",
        "Running jobs whose worker lease expired (the worker died or hangs).",
        value=stale or 0,
    )

    deliveries = GaugeMetricFamily(
        "corridor_webhook_deliveries",
        "Outbound webhook deliveries not yet succeeded, by status (pending, failed = gave up).",
        labels=["status"],
    )
    counts = dict(
        session.execute(
            select(WebhookDelivery.status, func.count())
            .where(WebhookDelivery.status.in_(("pending", "failed")))
            .group_by(WebhookDelivery.status)
        ).all()
    )
    for status in ("pending", "failed"):
        deliveries.add_metric([status], counts.get(status, 0))
    failing, oldest_failing = session.execute(
        select(func.count(), func.min(WebhookDelivery.created)).where(
            WebhookDelivery.status == "pending", WebhookDelivery.attempts > 0
        )
    ).one()
    webhook_retrying = GaugeMetricFamily(
        "corridor_webhook_deliveries_retrying",
        "Pending deliveries whose endpoint has failed at least once (timeout, 5xx, refused).",
        value=failing or 0,
    )
    webhook_age = GaugeMetricFamily(
        "corridor_webhook_delivery_oldest_retrying_seconds",
        "Age of the oldest delivery still being retried.",
        value=_seconds(now - _aware(oldest_failing)) if oldest_failing else 0.0,
    )
    transfers = CounterMetricFamily(
        "corridor_ledger_transfers",
        "Ledger transfers (postings) ever committed, by every process: the high-water mark "
        "of their sequence (a rolled-back posting can leave a gap, so it may run ahead).",
        value=session.scalar(select(func.max(LedgerTransfer.seq))) or 0,
    )
    return [jobs, retrying, lag, expired, deliveries, webhook_retrying, webhook_age, transfers]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class _Fixed:
    """A collector that yields metrics computed beforehand (per scrape)."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return iter(self._metrics)


def exposition(session: Session) -> bytes:
    """The text exposition for one scrape: process counters plus database gauges."""
    from prometheus_client import REGISTRY

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process_registry = CollectorRegistry()
        MultiProcessCollector(process_registry)
    else:
        process_registry = REGISTRY
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Fixed(database_metrics(session)))  # type: ignore[arg-type]
    return generate_latest(process_registry) + generate_latest(scrape)


install()

"""The crash-consistency run, end to end: set up, drive under SIGKILL, drain, audit.

:func:`crash_run` is the whole experiment behind ``tests/crash/test_crash_consistency.py``
and can be run by hand (``python -m tests.crash.harness --seconds 90``) against a
PostgreSQL database and a Redis database that it may wipe:

1. a fresh deployment (``corridor migrate``, then ``serve --no-migrate``, ``worker`` and
   ``beat`` as OS processes; see :mod:`tests.crash.deployment`);
2. merchants opened through the API with the admin key, a fee schedule each (finance),
   a webhook endpoint each pointing at the test's verifying receiver, and a rule set
   without the history rules (velocity, structuring, refund ratio): the run's traffic is
   one card at machine speed, which those rules rightly hold for review, and reviews are
   not what this run is about;
3. client threads drive the seeded mix while the API and the worker are SIGKILLed at
   planned random moments and restarted (:mod:`tests.crash.driver`);
4. with every process up again, the queue drains: every webhook job has finished and the
   endpoint has accepted every event;
5. :func:`tests.crash.audit.audit` compares the database with the model.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import and_, func, select

from api.keys import issue_key
from core.database import Database
from core.jobs import Job
from payments.rails import notification_secrets
from payments.webhooks import WebhookDelivery
from tests.crash.audit import Findings, audit, owed_events
from tests.crash.deployment import Deployment, QueueWatch
from tests.crash.driver import Driver
from tests.crash.endpoint import MerchantEndpoints
from tests.crash.model import (
    CURRENCY,
    FIXED_FEE,
    PAYOUT_FEE,
    PERCENT_PPM,
    REFUND_FEE,
    Merchant,
    Model,
)

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_MASTER_SECRET = "crash-harness-provider-notifications"
WORKER_CONCURRENCY = 4
"""Threads of the worker: at most this many deliveries die with each worker kill."""
HISTORY_RULES = frozenset({"velocity", "structuring", "refund_ratio"})
WEBHOOK_JOBS = ("webhooks.fan_out", "webhooks.deliver")


@dataclass
class Summary:
    seed: int
    seconds: float
    findings: Findings
    driver: Driver
    endpoints: MerchantEndpoints
    drained_in: float
    server_errors: dict[str, int] = field(default_factory=dict)
    """Lines of the API's log by kind: retried deadlocks and unhandled (500) errors."""
    queue_peak: int = 0
    """The most job messages seen waiting in the broker at once."""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def problems(self) -> list[str]:
        return self.driver.problems + self.findings.problems

    def render(self) -> str:
        stats, model, faults = self.driver.stats, self.driver.model, self.driver.faults
        retries = ", ".join(f"{k} x{v}" for k, v in sorted(stats.retries.items())) or "none"
        refusals = ", ".join(f"{k} x{v}" for k, v in sorted(model.refusals.items())) or "none"
        figures = self.findings.figures
        lines = [
            f"crash run: seed {self.seed}, {self.seconds:.0f} s of driving, "
            f"{self.driver.threads} client threads, {len(model.merchants)} merchants",
            f"  operations   {stats.operations} sent, {stats.acknowledged} acknowledged, "
            f"{stats.declined} declined (402), {stats.refused} refused (4xx), "
            f"{stats.gave_up} without an answer",
            f"  retries      {sum(stats.retries.values())} ({retries}); "
            f"{stats.idempotent_replays} idempotent replays",
            f"  refusals     {refusals}",
            f"  objects      {len(model.intents)} intents, {len(model.refunds)} refunds, "
            f"{len(model.payouts)} payouts, {len(model.settlement_runs)} settlement runs",
            f"  kills        {sum(faults.killed.values())} SIGKILLs "
            f"(api x{faults.killed['api']}, worker x{faults.killed['worker']})",
            *(f"               {entry}" for entry in faults.log),
            f"  ledger       verify {figures.get('ledger_verify')}, "
            f"{figures.get('ledger_transfers')} transfers",
            *(
                f"  {name:<12} {value}"
                for name, value in figures.items()
                if name.startswith(("balance", "events"))
            ),
            f"  deliveries   drained {self.drained_in:.1f} s after driving stopped; endpoint "
            f"hits {self.endpoints.hits}, {self.endpoints.failed_on_purpose} answered 500 on "
            f"purpose, {self.endpoints.refused_signatures} bad signatures, "
            f"{self.endpoints.duplicates()} duplicate deliveries",
            f"  queue        at most {self.queue_peak} job messages waiting in the broker",
            f"  server log   {self.server_errors.get('deadlocks', 0)} deadlocks (retried by the "
            f"unit of work), {self.server_errors.get('internal', 0)} internal errors logged",
            f"  verdict      {'consistent' if self.ok else f'{len(self.problems)} problems'}",
            *(f"    - {problem}" for problem in self.problems[:40]),
        ]
        return "\n".join(lines)


def _rule_set_without_history() -> dict[str, Any]:
    with (ROOT / "compliance" / "data" / "default_rules.toml").open("rb") as handle:
        rules = tomllib.load(handle)
    rules["name"] = "crash-harness"
    rules["rules"] = [r for r in rules["rules"] if r["type"] not in HISTORY_RULES]
    return rules


def _call(method: str, url: str, key: str, **kwargs: Any) -> dict[str, Any]:
    response = httpx.request(
        method, url, headers={"Authorization": f"Bearer {key}"}, timeout=60.0, **kwargs
    )
    if response.status_code != 200:
        raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:500]}")
    return response.json()


def set_up(
    deployment: Deployment, db: Database, endpoints: MerchantEndpoints, count: int
) -> tuple[list[Merchant], str]:
    """Platform keys, the rule set, and ``count`` merchants ready to take payments."""
    with db.transaction() as session:
        admin, finance, compliance = (
            issue_key(session, role, None, "crash harness").secret
            for role in ("admin", "finance", "compliance")
        )
    base = deployment.base_url
    _call(
        "POST",
        f"{base}/v1/compliance/rules",
        compliance,
        json={"definition": _rule_set_without_history(), "activate": True},
    )
    merchants = []
    for n in range(count):
        account = _call(
            "POST",
            f"{base}/v1/accounts",
            admin,
            json={
                "country": "DE",
                "default_currency": CURRENCY,
                "business_profile": {"name": f"Crash Test Rösterei {n} GmbH"},
                "settings": {
                    "payouts": {"schedule": {"delay_days": 2, "interval": "manual"}},
                    "reserve": {"percent": 10, "days": 30},
                },
                "external_account": {
                    "country": "DE",
                    "currency": CURRENCY,
                    "account_number": "DE89370400440532013000",
                    "account_holder_name": f"Crash Test Rösterei {n} GmbH",
                },
            },
        )
        _call(
            "POST",
            f"{base}/v1/fee_schedules",
            finance,
            json={
                "account": account["id"],
                "percent_ppm": PERCENT_PPM,
                "fixed": {CURRENCY: FIXED_FEE},
                "refund_fixed": {CURRENCY: REFUND_FEE},
                "payout_fixed": {CURRENCY: PAYOUT_FEE},
                "refund_fee_policy": "kept",
            },
        )
        with db.transaction() as session:
            key = issue_key(session, "merchant", account["id"], "crash harness").secret
        endpoint = _call(
            "POST",
            f"{base}/v1/webhook_endpoints",
            key,
            json={"url": endpoints.url(account["id"]), "enabled_events": ["*"]},
        )
        endpoints.secrets[account["id"]] = endpoint["secret"]
        merchants.append(Merchant(account["id"], key, endpoint["id"]))
    return merchants, finance


def _undelivered(db: Database, merchants: list[Merchant], endpoints: MerchantEndpoints) -> int:
    """Events still owed to an endpoint (by the log, or not yet seen by the endpoint)."""
    owed = 0
    with db.transaction(write=False) as session:
        busy = session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.name.in_(WEBHOOK_JOBS), Job.status.in_(("queued", "running")))
        )
        for merchant in merchants:
            events = owed_events(session, merchant)
            done = set(
                session.scalars(
                    select(WebhookDelivery.event_id).where(
                        and_(
                            WebhookDelivery.endpoint_id == merchant.endpoint_id,
                            WebhookDelivery.status == "succeeded",
                        )
                    )
                )
            )
            owed += len(events - done) + len(events - set(endpoints.seen(merchant.id)))
    return owed + (busy or 0)


def drain(
    db: Database, merchants: list[Merchant], endpoints: MerchantEndpoints, timeout: float
) -> float:
    """Wait until every webhook job is finished and every event accepted; seconds taken.

    A job a killed worker held stays leased until its lease runs out, so this can take
    as long as the lease (``core.jobs.LEASE``) after the last worker kill.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if _undelivered(db, merchants, endpoints) == 0:
            return time.monotonic() - started
        time.sleep(1.0)
    return time.monotonic() - started


def crash_run(
    database_url: str,
    broker_url: str,
    workdir: Path,
    *,
    seed: int = 1,
    seconds: float = 90.0,
    kills: int = 6,
    threads: int = 6,
    merchants: int = 2,
    drain_timeout: float = 300.0,
) -> Summary:
    deployment = Deployment(
        database_url,
        broker_url,
        workdir,
        worker_concurrency=WORKER_CONCURRENCY,
        extra_env={
            "CORRIDOR_WEBHOOK_RETRY_BASE_SECONDS": "0.5",
            "CORRIDOR_WEBHOOK_TIMEOUT_SECONDS": "3",
            # The merchants' endpoint is the test's receiver, on loopback.
            "CORRIDOR_WEBHOOK_ALLOW_PRIVATE": "1",
            # The harness plays the wallets and the bank: it signs as they do.
            "CORRIDOR_WALLET_NOTIFICATION_SECRET": PROVIDER_MASTER_SECRET,
        },
    )
    endpoints = MerchantEndpoints(failure_rate=0.03, seed=seed).start()
    deployment.prepare()
    db = Database(database_url, pool_size=4)
    try:
        deployment.start_all()
        model = Model()
        model.merchants, finance = set_up(deployment, db, endpoints, merchants)
        driver = Driver(
            deployment,
            model,
            finance,
            seed,
            threads=threads,
            provider_secrets=notification_secrets.parse(PROVIDER_MASTER_SECRET),
        )
        queue = QueueWatch(broker_url).start()
        driver.run(seconds, kills)
        for name, process in deployment.processes.items():
            if not process.running:
                driver.problems.append(f"{name} was down after the run (exit {process.popen})")
        deployment.ensure_running()
        drained = drain(db, model.merchants, endpoints, drain_timeout)
        queue.stop()
        with db.transaction(write=False) as session:
            findings = audit(session, model, endpoints)
        api = deployment.processes["api"]
        errors = {
            "deadlocks": api.log_count("DeadlockDetected: deadlock detected"),
            "internal": api.log_count("internal error on"),
        }
        return Summary(
            seed, seconds, findings, driver, endpoints, drained, errors, queue_peak=queue.peak
        )
    finally:
        deployment.stop_all()
        endpoints.stop()
        db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("CORRIDOR_CRASH_DATABASE_URL"))
    parser.add_argument("--broker-url", default=os.environ.get("CORRIDOR_CRASH_BROKER_URL"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--threads", type=int, default=6)
    args = parser.parse_args()
    if not args.database_url or not args.broker_url:
        parser.error("--database-url and --broker-url (a database and a Redis db it may wipe)")
    summary = crash_run(
        args.database_url,
        args.broker_url,
        Path(tempfile.mkdtemp(prefix="corridor-crash-")),
        seed=args.seed,
        seconds=args.seconds,
        kills=args.kills,
        threads=args.threads,
    )
    print(summary.render())
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Crash consistency: SIGKILL the API and the worker under load; nothing acknowledged is
lost, nothing is applied twice, every event reaches the merchant.

The run (:func:`tests.crash.harness.crash_run`) needs PostgreSQL and Redis and takes a
few minutes, so it runs in ``.ci/run`` (``CORRIDOR_TEST_BROKER_URL`` set to a Redis URL)
and is skipped elsewhere. It gets databases of its own, never the suite's:

* ``CORRIDOR_CRASH_DATABASE_URL``, else the test database's URL with ``_crash``
  appended to its name (dropped and created for the run);
* ``CORRIDOR_CRASH_BROKER_URL``, else the test broker's Redis server, database 14 (13
  if the suite's broker is 14), flushed for the run.

``CORRIDOR_CRASH_SECONDS`` (default 60) and ``CORRIDOR_CRASH_SEED`` tune the run; the
summary is printed whatever the outcome.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.crash.harness import WORKER_CONCURRENCY, crash_run

BROKER = os.environ.get("CORRIDOR_TEST_BROKER_URL", "")
DATABASE = os.environ.get("CORRIDOR_TEST_DATABASE_URL", "")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not BROKER.startswith("redis://"),
        reason="the crash run needs a Redis broker (CORRIDOR_TEST_BROKER_URL=redis://...)",
    ),
]


def crash_database_url() -> str:
    explicit = os.environ.get("CORRIDOR_CRASH_DATABASE_URL")
    if explicit:
        return explicit
    url = make_url(DATABASE)
    return url.set(database=f"{url.database}_crash").render_as_string(hide_password=False)


def crash_broker_url() -> str:
    explicit = os.environ.get("CORRIDOR_CRASH_BROKER_URL")
    if explicit:
        return explicit
    server, _, number = BROKER.rstrip("/").rpartition("/")
    if not number.isdigit():  # redis://host:port with no database number: db 0
        server = BROKER.rstrip("/")
        number = "0"
    return f"{server}/{13 if number == '14' else 14}"


def test_nothing_acknowledged_is_lost_or_applied_twice_under_sigkill(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = crash_run(
        crash_database_url(),
        crash_broker_url(),
        tmp_path,
        seed=int(os.environ.get("CORRIDOR_CRASH_SEED", "20261122")),
        seconds=float(os.environ.get("CORRIDOR_CRASH_SECONDS", "60")),
        kills=6,
        threads=4,
    )
    with capsys.disabled():
        print("\n" + summary.render())

    killed = summary.driver.faults.killed
    assert killed["api"] >= 2 and killed["worker"] >= 2 and sum(killed.values()) >= 5
    assert summary.ok, "\n".join(summary.problems[:40])
    # Duplicates at the endpoint are each explained by a worker killed mid-delivery (the
    # audit checks that); so they are rare: at most one per worker thread per kill.
    assert summary.endpoints.duplicates() <= killed["worker"] * WORKER_CONCURRENCY

    # The mix really ran: every kind of money movement was acknowledged at least once.
    model = summary.driver.model
    statuses = {i.status for i in model.intents.values()}
    assert {"succeeded", "requires_capture", "canceled", "requires_payment_method"} <= statuses
    assert any(i.capture_method == "manual" and i.amount_received for i in model.intents.values())
    assert model.refunds and model.settlement_runs
    assert {"paid", "failed"} <= {p.status for p in model.payouts.values()}
    assert summary.driver.stats.retries, "no request was interrupted: the kills missed"

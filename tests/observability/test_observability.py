"""Structured logs and Prometheus metrics (``api/logs.py``, ``api/metrics.py``,
``api/observability.py``).

Request lines and metrics are checked over the assembled app (:mod:`tests.integrated_app`)
on the live service; the database gauges and the commit-time counters on a fresh
database, where every row is known.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

import api.models  # noqa: F401  (every table, for the db fixture)
from api.keys import issue_key
from api.logs import configure_logging, make_handler, mask
from api.metrics import database_metrics
from core import jobs
from core.accounts import open_account
from core.database import Database, utcnow
from core.events import emit
from core.ids import new_id
from payments.webhooks import WebhookDelivery, WebhookEndpoint
from settlement.ledger import Ledger, Side, TransferSpec
from tests.integrated_app import build_app


@pytest.fixture(scope="module")
def client(service: Any) -> Iterator[TestClient[Any]]:
    with TestClient(build_app(service)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def merchant(service: Any) -> tuple[str, dict[str, str]]:
    with service.db.transaction() as session:
        account = open_account(
            session, business_name="Observed GmbH", country="DE", default_currency="EUR"
        )
        key = issue_key(session, "merchant", account.id, "observability").secret
    return account.id, {"Authorization": f"Bearer {key}"}


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = make_handler("json", stream)
    logger = logging.getLogger("corridor.access")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_one_json_line_per_request_with_id_account_route_status_latency(
    client: Any, merchant: tuple[str, dict[str, str]], access_lines: io.StringIO
) -> None:
    account_id, auth = merchant
    listed = client.get("/v1/payment_intents?limit=3", headers=auth)
    idem = {**auth, "Idempotency-Key": uuid.uuid4().hex}
    created = client.post(
        "/v1/payment_intents", json={"amount": 700, "currency": "eur"}, headers=idem
    )
    replayed = client.post(
        "/v1/payment_intents", json={"amount": 700, "currency": "eur"}, headers=idem
    )
    missing = client.get(f"/v1/payment_intents/{created.json()['id']}x", headers=auth)
    unrouted = client.get("/v1/no_such_thing", headers=auth)
    anonymous = client.get("/v1/payment_intents")
    lines = _lines(access_lines)
    assert len(lines) == 6, lines
    by_id = {line["request_id"]: line for line in lines}
    for response in (listed, created, replayed, missing, unrouted, anonymous):
        line = by_id[response.headers["request-id"]]
        assert line["status"] == response.status_code
        assert line["logger"] == "corridor.access" and line["level"] == "info"
    first = by_id[listed.headers["request-id"]]
    assert first["route"] == "/v1/payment_intents" and first["method"] == "GET"
    assert first["account"] == account_id and first["role"] == "merchant"
    assert first["key"].startswith("key_") and first["duration_ms"] > 0
    assert "limit" not in first["path"], "query strings are never logged"
    assert by_id[replayed.headers["request-id"]]["replayed"] is True
    assert by_id[created.headers["request-id"]]["replayed"] is False
    assert by_id[missing.headers["request-id"]]["route"] == "/v1/payment_intents/{intent_id}"
    assert by_id[unrouted.headers["request-id"]]["route"] == "<unmatched>"
    assert by_id[anonymous.headers["request-id"]]["account"] is None
    assert all(auth["Authorization"][7:] not in json.dumps(line) for line in lines)


def test_text_format_carries_the_same_fields(
    client: Any, merchant: tuple[str, dict[str, str]]
) -> None:
    stream = io.StringIO()
    handler = make_handler("text", stream)
    logger = logging.getLogger("corridor.access")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        response = client.get("/v1/payment_intents", headers=merchant[1])
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    line = stream.getvalue().strip()
    assert "GET /v1/payment_intents 200" in line
    assert f"request_id={response.headers['request-id']}" in line
    assert f"account={merchant[0]}" in line and "duration_ms=" in line


def test_log_format_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    level = root.level
    monkeypatch.setenv("CORRIDOR_LOG_FORMAT", "json")
    monkeypatch.setenv("CORRIDOR_LOG_LEVEL", "warning")
    stream = io.StringIO()
    handler = configure_logging(stream=stream)
    try:
        logging.getLogger("corridor.test").info("dropped below the level")
        logging.getLogger("corridor.test").warning("kept %s", "sk_test_" + "z" * 40)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        logging.getLogger("uvicorn.access").disabled = False
    (line,) = _lines(stream)
    assert line["level"] == "warning" and line["message"] == "kept sk_test_****zzzz"
    monkeypatch.setenv("CORRIDOR_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="CORRIDOR_LOG_FORMAT"):
        configure_logging(stream=io.StringIO())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4242424242424242 ok", "card ****4242 ok"),
        ("card 4242-4242-4242-4242", "card ****4242"),
        ("not a card 4242424242424241", "not a card 4242424242424241"),
        ('{"cvc": "123", "cvv":"4567"}', '{"cvc": "***", "cvv":"***"}'),
        ("card[cvc]=999&x=1", "card[cvc]=***&x=1"),
        ("Authorization: Bearer sk_test_abcdefghijkl", "Authorization: Bearer ****"),
        ("whsec_0123456789abcdef", "whsec_****"),
        ("pi_123_secret_abcdef", "pi_123_secret_****"),
        ("took 1718000000.123 s", "took 1718000000.123 s"),
    ],
)
def test_mask(text: str, expected: str) -> None:
    assert mask(text) == expected


# --- metrics ----------------------------------------------------------------------


def _scrape(client: Any, headers: dict[str, str]) -> dict[tuple[str, tuple[Any, ...]], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _value(samples: dict[tuple[str, tuple[Any, ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_for_admin_keys_only(
    service: Any, client: Any, merchant: tuple[str, dict[str, str]]
) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=merchant[1]).status_code == 403
    admin = {"Authorization": f"Bearer {service.admin_key}"}
    assert client.get("/metrics", headers=admin).status_code == 200


def test_requests_payment_outcomes_and_ledger_postings_are_counted(
    service: Any, client: Any, merchant: tuple[str, dict[str, str]]
) -> None:
    admin = {"Authorization": f"Bearer {service.admin_key}"}
    auth = merchant[1]
    before = _scrape(client, admin)
    paid = client.post(
        "/v1/payment_intents",
        json={"amount": 1500, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True},
        headers=auth,
    )
    assert paid.json()["status"] == "succeeded"
    declined = client.post(
        "/v1/payment_intents",
        json={
            "amount": 900,
            "currency": "eur",
            "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
            "confirm": True,
        },
        headers=auth,
    )
    assert declined.status_code == 402
    after = _scrape(client, admin)
    route = {"method": "POST", "route": "/v1/payment_intents"}
    assert _value(after, "corridor_http_requests_total", **route, status="200") == (
        _value(before, "corridor_http_requests_total", **route, status="200") + 1
    )
    assert _value(after, "corridor_http_requests_total", **route, status="402") == (
        _value(before, "corridor_http_requests_total", **route, status="402") + 1
    )
    latency = "corridor_http_request_duration_seconds_count"
    assert _value(after, latency, **route, status_class="4xx") >= 1
    succeeded = {"outcome": "succeeded", "currency": "eur", "reason": ""}
    assert _value(after, "corridor_payment_outcomes_total", **succeeded) == (
        _value(before, "corridor_payment_outcomes_total", **succeeded) + 1
    )
    failed = {"outcome": "payment_failed", "currency": "eur", "reason": "insufficient_funds"}
    assert _value(after, "corridor_payment_outcomes_total", **failed) == (
        _value(before, "corridor_payment_outcomes_total", **failed) + 1
    )
    assert _value(after, "corridor_ledger_transfers_total") > _value(
        before, "corridor_ledger_transfers_total"
    )
    assert ("corridor_jobs_expired_leases", ()) in after, "database gauges are scraped too"


def test_queue_and_delivery_gauges_read_the_database(db: Database) -> None:
    now = utcnow()
    with db.transaction() as session:
        jobs.enqueue(session, "obs.late", "late:1", run_after=now - dt.timedelta(seconds=90))
        jobs.enqueue(session, "obs.late", "late:2", run_after=now - dt.timedelta(seconds=30))
        jobs.enqueue(session, "obs.future", "future:1", run_after=now + dt.timedelta(hours=1))
        jobs.enqueue(session, "obs.gave_up", "gave_up:1")
        session.flush()
        session.execute(update(jobs.Job).where(jobs.Job.key == "gave_up:1").values(status="failed"))
        session.execute(update(jobs.Job).where(jobs.Job.key == "late:2").values(attempts=2))
        endpoint = WebhookEndpoint(
            id=new_id("we"),
            account_id=None,
            url="http://127.0.0.1:9/",
            enabled_events=["*"],
            metadata_={},
            status="enabled",
            deleted=False,
            secret_kid="k1",
            secret_nonce=b"0" * 12,
            secret_ciphertext=b"x",
            created=now,
        )
        session.add(endpoint)
        for attempts, status in ((3, "pending"), (0, "pending"), (40, "failed")):
            event = emit(session, None, "obs.test", {"id": "x"})
            session.add(
                WebhookDelivery(
                    id=new_id("whd"),
                    event_id=event.id,
                    endpoint_id=endpoint.id,
                    status=status,
                    attempts=attempts,
                    created=now - dt.timedelta(minutes=10),
                )
            )
    with db.transaction(write=False) as session:
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for metric in database_metrics(session, now=now)
            for s in metric.samples
        }
    assert samples[("corridor_jobs", (("name", "obs.late"), ("status", "queued")))] == 2
    assert samples[("corridor_jobs", (("name", "obs.gave_up"), ("status", "failed")))] == 1
    assert samples[("corridor_jobs", (("name", "obs.future"), ("status", "queued")))] == 1
    assert samples[("corridor_job_queue_lag_seconds", (("name", "obs.late"),))] == 90.0
    assert ("corridor_job_queue_lag_seconds", (("name", "obs.future"),)) not in samples
    assert samples[("corridor_jobs_retrying", (("name", "obs.late"),))] == 1
    assert samples[("corridor_jobs_expired_leases", ())] == 0
    assert samples[("corridor_webhook_deliveries", (("status", "pending"),))] == 2
    assert samples[("corridor_webhook_deliveries", (("status", "failed"),))] == 1
    assert samples[("corridor_webhook_deliveries_retrying", ())] == 1
    assert samples[("corridor_webhook_delivery_oldest_retrying_seconds", ())] == 600.0
    assert samples[("corridor_ledger_transfers_total", ())] == 0


def test_ledger_transfers_are_read_from_the_books(db: Database) -> None:
    with db.transaction() as session:
        ledger = Ledger(session)
        debit = ledger.account("obs", "test_debit", "EUR", normal=Side.DEBIT).id
        credit = ledger.account("obs", "test_credit", "EUR", normal=Side.CREDIT).id

    def spec(n: int) -> TransferSpec:
        return TransferSpec(new_id("t"), debit, credit, 10 + n, "EUR", "test", "metrics")

    def transfers() -> float:
        with db.transaction(write=False) as session:
            (metric,) = [
                m for m in database_metrics(session) if m.name == "corridor_ledger_transfers"
            ]
        return metric.samples[0].value

    with db.transaction() as session:
        Ledger(session).post([spec(1), spec(2), spec(3)], journal=True)
    assert transfers() == 3
    with pytest.raises(RuntimeError), db.transaction() as session:
        Ledger(session).post([spec(4)])
        raise RuntimeError("the request failed after posting: nothing commits")
    assert transfers() == 3
    with db.transaction() as session:
        Ledger(session).post([spec(5)])
    assert transfers() >= 4

"""Backup and restore, as ``docs/operations.md`` tells an operator to do it.

Payments are made through the API on a database of their own, the compliance audit trail
gets entries, then the database is dumped with ``pg_dump --format=custom``, restored with
``pg_restore`` into a database that did not exist before, and the restored copy must
hold the same rows, a ledger that verifies (``settlement.ledger.verify``) and an audit
chain that verifies (``compliance.audit.verify``) under the same signing key. A copy
whose audit trail was edited after restore must fail verification.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import MetaData, func, select, text, update
from sqlalchemy.engine import make_url

from api.keys import issue_key
from compliance import audit
from core.database import Database, get_database, set_database
from settlement.ledger import verify
from tests.conftest import TEST_DATABASE_URL, make_test_database, with_search_path
from tests.integrated_app import build_app

pytestmark = pytest.mark.postgres


def _libpq(url: str, database: str | None = None) -> str:
    """A SQLAlchemy URL as pg_dump/pg_restore take it (no driver, no options)."""
    parsed = make_url(url).set(drivername="postgresql", query={})
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@pytest.fixture
def source(service: Any, tmp_path: Path) -> Iterator[tuple[Database, str]]:
    """A fresh schema of its own, with the service's keys (same data directory)."""
    if not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        pytest.skip("pg_dump/pg_restore are not installed")
    db, drop = make_test_database(tmp_path)
    schema = make_url(db.url).query["options"].removeprefix("-csearch_path=")
    previous = get_database()
    yield db, schema
    set_database(previous)
    drop()


def _make_payments(service: Any, db: Database) -> None:
    settings = dataclasses.replace(service.settings, database_url=db.url)
    app = build_app(dataclasses.replace(service, db=db, settings=settings))
    with db.transaction() as session:
        admin = issue_key(session, "admin", None, "backup").secret
    with TestClient(app) as client:
        admin_auth = {"Authorization": f"Bearer {admin}"}
        account = client.post(
            "/v1/accounts",
            json={"country": "DE", "default_currency": "eur", "business_profile": {"name": "B"}},
            headers=admin_auth,
        ).json()["id"]
        with db.transaction() as session:
            key = issue_key(session, "merchant", account, "backup").secret
        auth = {"Authorization": f"Bearer {key}"}
        paid = []
        for amount in (1000, 2500, 99_999):
            response = client.post(
                "/v1/payment_intents",
                json={
                    "amount": amount,
                    "currency": "eur",
                    "payment_method": "pm_card_visa",
                    "confirm": True,
                },
                headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert response.json()["status"] == "succeeded", response.text
            paid.append(response.json()["id"])
        manual = client.post(
            "/v1/payment_intents",
            json={
                "amount": 5000,
                "currency": "eur",
                "payment_method": "pm_card_mastercard",
                "confirm": True,
                "capture_method": "manual",
            },
            headers=auth,
        ).json()
        captured = client.post(
            f"/v1/payment_intents/{manual['id']}/capture",
            json={"amount_to_capture": 4000},
            headers=auth,
        )
        assert captured.json()["status"] == "succeeded", captured.text
        refund = client.post(
            "/v1/refunds", json={"payment_intent": paid[1], "amount": 700}, headers=auth
        )
        assert refund.status_code == 200, refund.text
    with db.transaction() as session:
        for n in range(5):
            audit.append(session, "tests", "backup.checked", f"ref_{n}", {"n": n})


def _row_counts(db: Database) -> dict[str, int]:
    metadata = MetaData()
    metadata.reflect(db.engine)
    with db.engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }


def test_dump_restore_into_a_fresh_database_verifies_ledger_and_audit(
    service: Any, source: tuple[Database, str], tmp_path: Path
) -> None:
    db, schema = source
    _make_payments(service, db)
    with db.transaction(write=False) as session:
        assert verify(session).ok
        before = audit.verify(session)
        assert before.ok and before.entries_checked >= 6
    counts = _row_counts(db)
    assert counts["ledger_transfers"] >= 5 and counts["compliance_audit_log"] >= 6

    dump = tmp_path / "corridor.dump"
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    subprocess.run(
        [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--schema={schema}",
            f"--file={dump}",
            _libpq(TEST_DATABASE_URL),
        ],
        check=True,
        env=env,
        timeout=300,
    )
    target = f"corridor_restore_{uuid.uuid4().hex[:10]}"
    admin = Database(TEST_DATABASE_URL, pool_size=1)
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{target}"'))
    restored_url = _libpq(TEST_DATABASE_URL, target)
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored_url}", str(dump)],
            check=True,
            env=env,
            timeout=300,
        )
        restored = Database(
            with_search_path(
                make_url(TEST_DATABASE_URL).set(database=target).render_as_string(False), schema
            ),
            pool_size=1,
        )
        try:
            assert _row_counts(restored) == counts
            with restored.transaction(write=False) as session:
                ledger = verify(session)
                assert ledger.ok, ledger.problems[:5]
                chain = audit.verify(session)
                assert chain.ok, chain.problem
                assert (chain.entries_checked, chain.head_hash) == (
                    before.entries_checked,
                    before.head_hash,
                )
            with restored.transaction() as session:
                session.execute(
                    update(audit.AuditLogEntry)
                    .where(audit.AuditLogEntry.sequence == 3)
                    .values(actor="someone else")
                )
            with restored.transaction(write=False) as session:
                tampered = audit.verify(session)
                assert not tampered.ok and tampered.first_bad_sequence == 3
        finally:
            restored.dispose()
    finally:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
        admin.dispose()

"""The migration history builds exactly the schema the models describe."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

import api.models  # noqa: F401  (every table)
from core.database import Base, Database, migrate
from settlement.ledger.storage import procedure
from tests.conftest import TEST_DATABASE_URL, with_search_path


def test_migrations_match_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    migrate(url)
    db = Database(url)
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    db.dispose()
    assert diff == [], f"models and migrations disagree; generate a revision: {diff}"


@pytest.mark.postgres
def test_migrations_match_the_models_on_postgresql():
    """The same history, applied to an empty PostgreSQL schema, builds the same tables."""
    schema = f"m_{uuid.uuid4().hex[:12]}"
    admin = Database(TEST_DATABASE_URL, pool_size=1)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = with_search_path(TEST_DATABASE_URL, schema)
    try:
        migrate(url, "0003")  # a database as the previous release left it, then upgraded
        migrate(url)
        db = Database(url, pool_size=1)
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            # Functions are outside the models' view: the ledger's lone-posting ones too.
            for name in ("ledger_post_lone", "ledger_post_lone_or_abort"):
                function = connection.execute(text(f"SELECT to_regproc('{name}')"))
                assert function.scalar() is not None, f"migrations did not create {name}"
            # An upgraded database runs the body the code ships, not the one it had.
            installed = connection.execute(
                text("SELECT prosrc FROM pg_proc WHERE oid = to_regproc('ledger_post_lone')")
            ).scalar()
            assert installed == procedure.CREATE.split("$fn$")[1]
        db.dispose()
        assert diff == [], f"models and migrations disagree on PostgreSQL: {diff}"
    finally:
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

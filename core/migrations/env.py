"""Alembic environment: one migration history for every domain's tables.

``target_metadata`` is only needed for ``alembic revision --autogenerate``; the model
modules to import for it are named in ``alembic.ini`` (``model_modules``), so core never
imports a domain package.
"""

from __future__ import annotations

import importlib

from alembic import context

from core.database import Base, create_db_engine

config = context.config
for module in (config.get_main_option("model_modules") or "").split():
    importlib.import_module(module)
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = create_db_engine(url, pool_size=1)
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""The PostgreSQL database a benchmark runs in: created on first use.

A fresh machine has the server but not ``corridor_ledger`` or ``corridor_api``; a
benchmark creates its own database (through the server's ``postgres`` database) rather
than failing on the first connection.
"""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def ensure_database(url: str, name: str | None = None) -> None:
    """Create database ``name`` (default: the one ``url`` names) on ``url``'s server."""
    parsed = make_url(url)
    name = name or parsed.database
    if not name:
        return
    admin = create_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()

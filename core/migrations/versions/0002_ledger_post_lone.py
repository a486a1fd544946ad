"""ledger_post_lone: the lone-transfer posting as a PostgreSQL function

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from settlement.ledger.storage import procedure

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(procedure.CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(procedure.DROP)

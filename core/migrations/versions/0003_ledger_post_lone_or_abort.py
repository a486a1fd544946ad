"""ledger_post_lone_or_abort: a lone transfer and its commit in one round trip

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from settlement.ledger.storage import procedure

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(procedure.CREATE_OR_ABORT)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(procedure.DROP_OR_ABORT)

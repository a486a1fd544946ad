"""Storage of the per-currency sub-minor residual of ``fx_rounding``.

See :mod:`settlement.fx.rounding` for the model. The residual row of a currency is read
with a row lock (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite writers are already
serialised by ``BEGIN IMMEDIATE``) and written back in the same transaction as the
capture's postings, so concurrent captures into one currency carry remainders one after
the other and no fraction is lost or counted twice.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import String, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, DecimalText, UTCDateTime, utcnow
from core.money import currency_code
from settlement.fx.rounding import check_residual


class FxRoundingResidual(Base):
    __tablename__ = "fx_rounding_residuals"

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    residual: Mapped[Decimal] = mapped_column(DecimalText())
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime())


def lock_residual(session: Session, currency: str) -> Decimal:
    """The current residual of ``currency`` (0 the first time), locked until commit."""
    currency = currency_code(currency)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(FxRoundingResidual)
        .values(currency=currency, residual=Decimal(0), updated=utcnow())
        .on_conflict_do_nothing(index_elements=["currency"])
    )
    query = select(FxRoundingResidual.residual).where(FxRoundingResidual.currency == currency)
    if dialect == "postgresql":
        query = query.with_for_update()
    return session.execute(query).scalar_one()


def save_residual(session: Session, currency: str, residual: Decimal) -> None:
    """Store the residual after a carry (call :func:`lock_residual` first in this transaction)."""
    check_residual(residual)
    session.execute(
        update(FxRoundingResidual)
        .where(FxRoundingResidual.currency == currency_code(currency))
        .values(residual=residual, updated=utcnow())
        .execution_options(synchronize_session=False)
    )

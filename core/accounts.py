"""Merchant accounts: the owners of payments, balances and payouts.

Every domain refers to an account (payments own intents by it, settlement keeps its
balances and schedule, compliance screens it), so the account row lives in the shared
kernel; what one domain alone needs about an account lives in that domain's tables.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pycountry
from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, UTCDateTime, utcnow
from core.ids import new_id
from core.money import currency_code

PLATFORM = "platform"
"""The owner name of the platform's own ledger accounts."""

STATUSES = ("active", "restricted", "rejected")


class AccountError(ValueError):
    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    business_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    country: Mapped[str] = mapped_column(String(2))
    default_currency: Mapped[str] = mapped_column(String(3))
    """The settlement currency: balances and payouts are kept in it."""
    status: Mapped[str] = mapped_column(String(16), default="active")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Stripe-shaped settings (payouts schedule, statement descriptor, card routing...)."""
    external_account: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """The payout bank account: masked fields plus the vault token of the full number."""
    fee_schedule: Mapped[str | None] = mapped_column(String(40), nullable=True)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)


def country_code(code: str, param: str = "country") -> str:
    """Validate an ISO 3166-1 alpha-2 code with pycountry and return it upper-case."""
    if (
        not isinstance(code, str)
        or len(code) != 2
        or pycountry.countries.get(alpha_2=code.upper()) is None
    ):
        raise AccountError(f"{code!r} is not an ISO 3166-1 alpha-2 country code", param)
    return code.upper()


def open_account(
    session: Session,
    *,
    business_name: str,
    country: str,
    default_currency: str,
    email: str | None = None,
    settings: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
    account_id: str | None = None,
) -> Account:
    try:
        currency = currency_code(default_currency)
    except ValueError as exc:
        raise AccountError(str(exc), "default_currency") from exc
    account = Account(
        id=account_id or new_id("acct", 16),
        business_name=business_name,
        email=email,
        country=country_code(country),
        default_currency=currency,
        status="active",
        settings=settings or {},
        metadata_=metadata or {},
        created=utcnow(),
    )
    session.add(account)
    session.flush()
    return account


def get_account(session: Session, account_id: str) -> Account | None:
    return session.get(Account, account_id)


def list_accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.created)))

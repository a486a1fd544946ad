"""A merchant's payments: search and filters, newest first, always within one account.

The account condition is part of every query, never a filter the page could drop: a
merchant's search cannot return another account's payment whatever it sends. Free text
matches the payment id, the description, the receipt e-mail and the payer's name;
amounts are typed in major units of the chosen currency and compared in minor units.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from core.money import AmountError, CurrencyError, currency_code, parse_major
from payments.intent_state import IntentStatus
from payments.intents import PaymentIntent

PAGE_SIZE: Final = 25
STATUSES: Final = tuple(status.value for status in IntentStatus)


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class PaymentFilter:
    q: str | None = None
    status: str | None = None
    currency: str | None = None
    amount_min: int | None = None
    amount_max: int | None = None
    created_from: dt.date | None = None
    created_to: dt.date | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> PaymentFilter:
        """Lenient: an unusable value is dropped (the form shows what was applied)."""
        status = query.get("status") or None
        try:
            currency = currency_code(query["currency"]) if query.get("currency") else None
        except CurrencyError:
            currency = None

        def amount(name: str) -> int | None:
            raw = (query.get(name) or "").strip().replace(",", "")
            if not raw or currency is None:
                return None
            try:
                return parse_major(raw, currency)
            except (AmountError, ValueError):
                return None

        return cls(
            q=(query.get("q") or "").strip()[:200] or None,
            status=status if status in STATUSES else None,
            currency=currency,
            amount_min=amount("amount_min"),
            amount_max=amount("amount_max"),
            created_from=_day(query.get("created_from")),
            created_to=_day(query.get("created_to")),
        )

    def as_query(self, major: Mapping[str, str]) -> dict[str, str]:
        values = {
            "q": self.q,
            "status": self.status,
            "currency": self.currency,
            "created_from": self.created_from.isoformat() if self.created_from else None,
            "created_to": self.created_to.isoformat() if self.created_to else None,
            **major,
        }
        return {k: str(v) for k, v in values.items() if v}


@dataclass(frozen=True)
class PaymentPage:
    payments: list[PaymentIntent]
    next_after: str | None


def search(
    session: Session,
    account_id: str,
    f: PaymentFilter,
    *,
    after: str | None = None,
    limit: int = PAGE_SIZE,
) -> PaymentPage:
    pi = PaymentIntent
    stmt = select(pi).where(pi.account_id == account_id)
    if f.status:
        stmt = stmt.where(pi.status == f.status)
    if f.currency:
        stmt = stmt.where(pi.currency == f.currency)
        if f.amount_min is not None:
            stmt = stmt.where(pi.amount >= f.amount_min)
        if f.amount_max is not None:
            stmt = stmt.where(pi.amount <= f.amount_max)
    if f.created_from:
        stmt = stmt.where(pi.created >= dt.datetime.combine(f.created_from, dt.time(), dt.UTC))
    if f.created_to:
        end = dt.datetime.combine(f.created_to + dt.timedelta(days=1), dt.time(), dt.UTC)
        stmt = stmt.where(pi.created < end)
    if f.q:
        escaped = f.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        stmt = stmt.where(
            or_(
                pi.id == f.q,
                func.lower(pi.description).like(like, escape="\\"),
                func.lower(pi.receipt_email).like(like, escape="\\"),
                func.lower(pi.payer["name"].as_string()).like(like, escape="\\"),
            )
        )
    if after:
        cursor = session.get(pi, after)
        if cursor is not None and cursor.account_id == account_id:
            stmt = stmt.where(
                or_(
                    pi.created < cursor.created,
                    and_(pi.created == cursor.created, pi.id < cursor.id),
                )
            )
    rows = list(session.scalars(stmt.order_by(pi.created.desc(), pi.id.desc()).limit(limit + 1)))
    return PaymentPage(rows[:limit], rows[limit - 1].id if len(rows) > limit else None)

"""A small world for settlement-run and payout tests: merchants, captures, books.

Each helper works in the caller's session; tests commit between steps as requests would.
The checks compare the merchant's BalanceTransactions with the ledger, which is the
invariant settlement runs and payouts must keep.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import core.events
import core.jobs
import core.vault  # noqa: F401
import settlement.balance_transactions
import settlement.fees.store
import settlement.fx.overrides
import settlement.fx.quotes
import settlement.fx.residuals
import settlement.ledger.tables
import settlement.payouts.tables
import settlement.runs.tables  # noqa: F401
from core.accounts import Account, open_account
from core.database import Database
from core.keyring import Keyring, new_key_spec
from settlement.balance_transactions import AVAILABLE, PENDING, BalanceTransaction
from settlement.bankfiles import bank_account
from settlement.booking import book_capture
from settlement.ledger import Ledger, verify
from settlement.payouts import PayoutBank, set_external_account

T0 = dt.datetime(2025, 3, 3, 10, 0, tzinfo=dt.UTC)
"""A Monday, mid-morning."""
PLATFORM_IBAN = "DE89370400440532013000"
MERCHANT_IBAN = "DE02120300000000202051"


def make_keyring() -> Keyring:
    return Keyring.parse(new_key_spec("test"))


def make_bank(keyring: Keyring) -> PayoutBank:
    return PayoutBank(keyring, bank_account("Corridor Payments GmbH", iban=PLATFORM_IBAN))


def merchant(
    session: Session,
    keyring: Keyring | None = None,
    *,
    country: str = "DE",
    currency: str = "EUR",
    settings: dict[str, Any] | None = None,
    iban: str | None = MERCHANT_IBAN,
    name: str = "Bäckerei Müller GmbH",
) -> Account:
    """A merchant; with a keyring, also its payout bank account (an IBAN by default)."""
    account = open_account(
        session,
        business_name=name,
        country=country,
        default_currency=currency,
        settings=settings or {},
    )
    if keyring is not None and iban is not None:
        set_external_account(
            session,
            account,
            keyring,
            country=country,
            currency=currency,
            account_number=iban,
            account_holder_name=name,
        )
    return account


_count = 0


def capture(
    session: Session,
    account: Account,
    amount: int,
    *,
    at: dt.datetime = T0,
    currency: str | None = None,
    card_country: str | None = None,
) -> BalanceTransaction:
    global _count
    _count += 1
    booked = book_capture(
        session,
        account,
        intent_id=f"pi_test{_count:06d}",
        amount=amount,
        currency=currency or account.default_currency,
        card_country=card_country or account.country,
        at=at,
    )
    return booked.balance_transaction


def balances(session: Session, account_id: str, currency: str = "EUR") -> dict[str, int]:
    """Posted balances of the merchant's accounts, and what it may pay out."""
    ledger = Ledger(session)
    out = {}
    for purpose in ("merchant_pending", "merchant_available", "merchant_reserve"):
        account = ledger.account(account_id, purpose, currency)
        out[purpose.removeprefix("merchant_")] = ledger.balance(account.id).posted
    available = ledger.account(account_id, "merchant_available", currency)
    out["spendable"] = ledger.balance(available.id).available
    return out


def bt_sum(session: Session, account_id: str, status: str) -> int:
    bt = BalanceTransaction
    total = session.scalar(
        select(func.coalesce(func.sum(bt.net), 0)).where(
            bt.account_id == account_id, bt.status == status
        )
    )
    return int(total or 0)


def assert_books_agree(session: Session, account_id: str, currency: str = "EUR") -> None:
    """The merchant's BalanceTransactions explain its ledger balances, and the ledger is sound."""
    books = balances(session, account_id, currency)
    assert bt_sum(session, account_id, AVAILABLE) == books["spendable"]
    assert bt_sum(session, account_id, PENDING) == books["pending"] + books["reserve"]
    report = verify(session)
    assert report.ok, report.problems


@pytest.fixture
def ledger_verified(db: Database) -> Iterator[None]:
    """Use with ``pytestmark = pytest.mark.usefixtures("ledger_verified")``: the ledger
    verifies clean after every test of the module."""
    yield
    with db.transaction(write=False) as session:
        report = verify(session)
    assert report.ok, report.problems

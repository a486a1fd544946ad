"""Fixtures for the ledger tests: a controllable clock and a small posting helper."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

import settlement.ledger.tables  # noqa: F401  (register the ledger tables before `db`)
from core.database import Database
from settlement.ledger import (
    Account,
    Balance,
    Journal,
    Ledger,
    Operation,
    Side,
    TransferResult,
    VerifyReport,
)

START = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


class Clock:
    """A clock the test moves by hand, so timeouts and as-of reads are deterministic."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now


class Books:
    """Each call runs in its own committed transaction, like a request would."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def ledger(self, session) -> Ledger:  # type: ignore[no-untyped-def]
        return Ledger(session, clock=self.clock)

    def account(self, owner: str, purpose: str, currency: str = "EUR", **flags: object) -> Account:
        with self.db.transaction() as session:
            return self.ledger(session).account(owner, purpose, currency, **flags)  # type: ignore[arg-type]

    def adhoc(
        self, name: str, currency: str = "EUR", normal: Side = Side.DEBIT, **flags: bool
    ) -> str:
        """An ad-hoc account without limits (unless flags say otherwise)."""
        return self.account(name, "test_" + normal.value, currency, normal=normal, **flags).id

    def post(
        self, ops: Sequence[Operation], journal: bool | Journal = False
    ) -> list[TransferResult]:
        with self.db.transaction() as session:
            return self.ledger(session).post(ops, journal)

    def one(self, op: Operation) -> TransferResult:
        return self.post([op])[0]

    def balance(self, account_id: str, as_of: dt.datetime | None = None) -> Balance:
        with self.db.transaction(write=False) as session:
            return self.ledger(session).balance(account_id, as_of)

    def verify(self) -> VerifyReport:
        with self.db.transaction(write=False) as session:
            return self.ledger(session).verify()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def books(db: Database, clock: Clock) -> Books:
    return Books(db, clock)

"""Postings queued to the end of the transaction (``Ledger.post_at_commit``).

They must behave exactly like a posting made in place, only later: committed with the
transaction or not at all, once, in order, visible to the transaction's own later reads
and postings, dropped with a savepoint that rolls back, and a refusal must undo the
whole transaction.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from core.database import before_commit
from settlement.ledger import Journal, LedgerError, PostPending, ResultCode, Side, TransferSpec
from settlement.ledger.tables import transfers

Books = Any  # tests/ledger/conftest.py: Books


def _count(books: Books) -> int:
    with books.db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(transfers))


def test_a_queued_posting_commits_with_the_transaction(books: Books) -> None:
    source, target = books.adhoc("source"), books.adhoc("target", normal=Side.CREDIT)
    with books.db.transaction() as session:
        ledger = books.ledger(session)
        journal_id = ledger.post_at_commit(
            [
                TransferSpec("q1", source, target, 700, "EUR", "test", "ref"),
                TransferSpec("q2", source, target, 300, "EUR", "test", "ref"),
            ],
            journal=Journal(code="test", reference="ref"),
        )
        assert journal_id is not None
        assert _count(books) == 0  # nothing is written before the commit
    assert books.balance(target).totals.credits_posted == 1000
    with books.db.transaction(write=False) as session:
        stored = books.ledger(session).transfer("q1")
    assert stored is not None and stored.journal_id == journal_id
    assert books.verify().ok


def test_reads_and_postings_in_the_same_transaction_see_a_queued_posting(books: Books) -> None:
    source = books.adhoc("clearing")
    holds = books.adhoc("holds", normal=Side.CREDIT)
    with books.db.transaction() as session:
        ledger = books.ledger(session)
        ledger.post_at_commit(
            [TransferSpec("hold", source, holds, 500, "EUR", "auth", "pi_1", pending=True)]
        )
        assert ledger.balance(holds).totals.credits_pending == 500
        # A later posting that needs the queued one (it posts the reservation) works.
        ledger.post_or_raise([PostPending("hold:post", "hold", 500, "capture", "pi_1")])
    assert books.balance(holds).totals.credits_posted == 500
    assert _count(books) == 2  # posted once, not again at commit
    assert books.verify().ok


def test_a_rolled_back_transaction_or_savepoint_drops_what_it_queued(books: Books) -> None:
    source, target = books.adhoc("a"), books.adhoc("b", normal=Side.CREDIT)
    session = books.db.session()
    try:
        ledger = books.ledger(session)
        ledger.post_at_commit([TransferSpec("lost", source, target, 1, "EUR", "t", "r")])
        session.rollback()
        # The same session's next transaction does not carry it over.
        ledger.post_at_commit([TransferSpec("kept", source, target, 2, "EUR", "t", "r")])
        with session.begin_nested() as savepoint:
            ledger.post_at_commit([TransferSpec("undone", source, target, 4, "EUR", "t", "r")])
            savepoint.rollback()
        session.commit()
    finally:
        session.close()
    assert books.balance(target).totals.credits_posted == 2
    assert _count(books) == 1


def test_a_refusal_at_commit_rolls_the_whole_transaction_back(books: Books) -> None:
    limited = books.account("acct_1", "merchant_pending").id
    other = books.adhoc("other", normal=Side.CREDIT)
    session = books.db.session()
    try:
        ledger = books.ledger(session)
        ledger.post_or_raise([TransferSpec("in_place", other, limited, 5, "EUR", "t", "r")])
        ledger.post_at_commit([TransferSpec("too_much", limited, other, 50, "EUR", "t", "r")])
        with pytest.raises(LedgerError) as refused:
            session.commit()
        assert refused.value.code == ResultCode.EXCEEDS_CREDITS
        session.rollback()
    finally:
        session.close()
    assert _count(books) == 0  # the posting made in place went with it
    assert books.verify().ok


def test_an_empty_posting_is_refused_at_once(books: Books) -> None:
    with books.db.transaction() as session, pytest.raises(ValueError):
        books.ledger(session).post_at_commit([])


# -- the last posting and the COMMIT in one round trip (PostgreSQL) ----------------------


@pytest.fixture
def fused(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What each ``try_lone_and_commit`` answered (True: posted and committed at once)."""
    from settlement.ledger.storage.portable import PortableStore
    from settlement.ledger.storage.postgres import PostgresStore

    answers: list[bool] = []
    for store in (PostgresStore, PortableStore):
        original = store.try_lone_and_commit

        def spy(self: Any, transfer: Any, _original: Any = original) -> bool:
            answers.append(_original(self, transfer))
            return answers[-1]

        monkeypatch.setattr(store, "try_lone_and_commit", spy)
    return answers


def _names(books: Books) -> set[str]:
    from core.accounts import Account

    with books.db.transaction(write=False) as session:
        return set(session.scalars(select(Account.business_name)))


def _open(session: Any, name: str) -> None:
    from core.accounts import open_account

    open_account(session, business_name=name, country="DE", default_currency="EUR")


def test_a_lone_posting_at_commit_commits_with_every_other_write(
    books: Books, fused: list[bool]
) -> None:
    source, target = books.adhoc("src"), books.adhoc("dst", normal=Side.CREDIT)
    seen: list[str] = []
    with books.db.transaction() as session:
        _open(session, "Fused GmbH")  # an ORM write, flushed before the final statement
        books.ledger(session).post_at_commit(
            [TransferSpec("lone", source, target, 42, "EUR", "t", "r")]
        )
        # Deferred work queued after the posting still runs before it.
        before_commit(session, lambda s: seen.append("audit"))
    assert seen == ["audit"]
    assert fused == [books.db.dialect == "postgresql"]
    assert "Fused GmbH" in _names(books)
    assert books.balance(target).totals.credits_posted == 42
    assert books.verify().ok


@pytest.mark.parametrize("alone", [True, False], ids=["alone", "after-other-writes"])
def test_a_repeat_refused_by_the_fast_path_still_answers_exists_and_commits(
    books: Books, fused: list[bool], alone: bool
) -> None:
    """Alone, the posting is the whole transaction (one autocommit statement); after
    other writes it ends the open transaction behind a savepoint. Either way the
    database function refuses the repeat (the id exists) having written nothing, and the
    engine answers ``exists`` in the same transaction, which then commits."""
    source, target = books.adhoc("src"), books.adhoc("dst", normal=Side.CREDIT)
    op = TransferSpec("once", source, target, 9, "EUR", "t", "r")
    with books.db.transaction() as session:
        books.ledger(session).post_at_commit([op])
    with books.db.transaction() as session:  # a retried request posts the same transfer
        if not alone:
            _open(session, "Retry GmbH")
        books.ledger(session).post_at_commit([op])
    if books.db.dialect == "postgresql":
        assert fused == [True, False]
    assert alone or "Retry GmbH" in _names(books)
    assert _count(books) == 1
    assert books.balance(target).totals.credits_posted == 9


def test_a_session_inside_an_outer_transaction_does_not_commit_it(
    books: Books, fused: list[bool]
) -> None:
    from sqlalchemy.orm import Session

    source, target = books.adhoc("src"), books.adhoc("dst", normal=Side.CREDIT)
    with books.db.engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="rollback_only")
        books.ledger(session).post_at_commit(
            [TransferSpec("inner", source, target, 5, "EUR", "t", "r")]
        )
        session.commit()  # the outer transaction is not the session's to commit
        session.close()
        outer.rollback()
    assert fused == []
    assert _count(books) == 0


def test_a_lone_posting_refused_at_commit_writes_nothing(books: Books, fused: list[bool]) -> None:
    limited = books.account("acct_1", "merchant_pending").id
    other = books.adhoc("other", normal=Side.CREDIT)
    with pytest.raises(LedgerError) as refused, books.db.transaction() as session:
        books.ledger(session).post_at_commit(
            [TransferSpec("overdraw", limited, other, 50, "EUR", "t", "r")]
        )
    assert refused.value.code == ResultCode.EXCEEDS_CREDITS
    assert fused == [False]  # refused by the database function, then by the engine
    assert _count(books) == 0
    assert books.verify().ok


@pytest.mark.postgres
def test_an_autocommit_connection_stays_in_autocommit(books: Books, fused: list[bool]) -> None:
    """The lone call borrows autocommit mode for its one statement and gives back the
    mode it found, even on a connection that was in autocommit already."""
    from sqlalchemy.orm import Session

    source, target = books.adhoc("src"), books.adhoc("dst", normal=Side.CREDIT)
    for transfer_id, amount, autocommit in (("auto", 3, True), ("manual", 4, False)):
        options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
        with books.db.engine.connect().execution_options(**options) as conn:
            session = Session(bind=conn)
            books.ledger(session).post_at_commit(
                [TransferSpec(transfer_id, source, target, amount, "EUR", "t", "r")]
            )
            session.commit()
            session.close()
            assert conn.connection.dbapi_connection.autocommit is autocommit
    assert fused == [True, True]
    assert books.balance(target).totals.credits_posted == 7

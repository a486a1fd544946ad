"""Work deferred to the end of a transaction commits with it, or not at all."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.accounts import Account, open_account
from core.database import before_commit, before_commit_once, uncontended


def _open(name: str):
    def work(session):
        open_account(session, business_name=name, country="DE", default_currency="EUR")

    return work


def _names(db) -> set[str]:
    with db.transaction(write=False) as session:
        return set(session.scalars(select(Account.business_name)))


def test_deferred_work_runs_at_commit_in_order(db):
    seen: list[str] = []
    with db.transaction() as session:
        before_commit(session, lambda s: seen.append("first"))
        before_commit(session, _open("Deferred GmbH"))
        before_commit(session, lambda s: seen.append("last"))
        assert seen == []  # nothing yet: it waits for the commit
    assert seen == ["first", "last"]
    assert "Deferred GmbH" in _names(db)


def test_uncontended_work_runs_first_and_once_work_once(db):
    seen: list[str] = []

    @uncontended
    def fan_out(session):
        seen.append("uncontended")

    with db.transaction() as session:
        before_commit(session, lambda s: seen.append("hot 1"))
        before_commit_once(session, fan_out)
        before_commit(session, lambda s: seen.append("hot 2"))
        before_commit_once(session, fan_out)  # already queued: not again
    assert seen == ["uncontended", "hot 1", "hot 2"]


def test_rollback_drops_deferred_work(db):
    with pytest.raises(RuntimeError), db.transaction() as session:
        before_commit(session, _open("Never GmbH"))
        raise RuntimeError("the business change failed")
    assert "Never GmbH" not in _names(db)
    with db.transaction() as session:  # the next transaction starts clean
        pass
    assert "Never GmbH" not in _names(db)


def test_a_rolled_back_savepoint_drops_only_its_own_work(db):
    with db.transaction() as session:
        before_commit(session, _open("Kept GmbH"))
        savepoint = session.begin_nested()
        before_commit(session, _open("Dropped GmbH"))
        savepoint.rollback()
        before_commit(session, _open("Also Kept GmbH"))
    names = _names(db)
    assert {"Kept GmbH", "Also Kept GmbH"} <= names
    assert "Dropped GmbH" not in names

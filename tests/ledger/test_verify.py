"""``verify`` reports what was changed behind the ledger's back (direct SQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from settlement.ledger import (
    Journal,
    Ledger,
    PostPending,
    Reversal,
    TransferSpec,
    VoidPending,
    verify_database,
)


def spec(id: str, debit: str, credit: str, amount: int, **kw) -> TransferSpec:
    return TransferSpec(id, debit, credit, amount, "EUR", "test", "ref", **kw)


@pytest.fixture
def booked(books):
    """A small, clean history touching every kind of transfer."""
    clearing = books.account("platform", "psp_clearing").id
    available = books.account("acct_m", "merchant_available").id
    bank = books.account("platform", "bank").id
    books.post([spec("in", clearing, available, 1000), spec("fee", available, bank, 30)], True)
    books.one(spec("hold", available, bank, 200, pending=True, timeout_seconds=60))
    books.one(PostPending("hold:post", "hold", 150))
    books.one(Reversal("fee:rev", "fee"))
    report = books.verify()
    assert report.ok, report.problems
    assert (report.accounts, report.transfers, report.journals) == (3, 5, 1)
    return clearing, available, bank


def tamper(db, sql: str, **params) -> None:
    with db.engine.begin() as connection:
        connection.execute(text(sql), params)


def checks(report) -> set[str]:
    return {p.check for p in report.problems}


def test_a_tampered_total_is_reported(books, booked, db):
    _, available, _ = booked
    tamper(
        db,
        "UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = :id",
        id=available,
    )
    report = books.verify()
    assert not report.ok
    assert "account_totals" in checks(report) and "currency_balance" in checks(report)
    problem = next(p for p in report.problems if p.check == "account_totals")
    assert problem.subject == available and "credits_posted=1031 but" in problem.message


def test_an_edited_transfer_is_reported(books, booked, db):
    tamper(db, "UPDATE ledger_transfers SET amount = 999 WHERE id = 'in'")
    report = books.verify()
    assert {"checksum", "account_totals"} <= checks(report)
    assert any(p.subject == "in" for p in report.problems)


def test_an_edited_reference_breaks_only_the_checksum(books, booked, db):
    tamper(db, "UPDATE ledger_transfers SET reference = 'forged' WHERE id = 'fee'")
    report = books.verify()
    assert [(p.check, p.subject) for p in report.problems] == [("checksum", "fee")]


def test_a_deleted_transfer_is_reported(books, booked, db):
    tamper(db, "DELETE FROM ledger_transfers WHERE id = 'hold:post'")
    report = books.verify()
    assert "account_totals" in checks(report)


def test_a_crossed_limit_is_reported(books, booked, db):
    # Inflate a debit of the merchant's account in history: its transfers now sum to
    # more debits than credits, which its limit forbids.
    tamper(db, "UPDATE ledger_transfers SET amount = 5000 WHERE id = 'fee'")
    report = books.verify()
    assert "limit" in checks(report)
    _, available, _ = booked
    assert any(p.check == "limit" and p.subject == available for p in report.problems)


def test_the_database_refuses_a_crossed_limit_itself(books, booked, db):
    _, available, _ = booked
    with pytest.raises(IntegrityError):
        tamper(
            db,
            "UPDATE ledger_accounts SET debits_posted = debits_posted + 5000 WHERE id = :id",
            id=available,
        )


def test_a_broken_journal_is_reported(books, booked, db):
    usd = books.adhoc("usd", "USD")
    tamper(db, "UPDATE ledger_transfers SET credit_account_id = :usd WHERE id = 'in'", usd=usd)
    report = books.verify()
    assert {"currency", "journal_balance", "checksum"} <= checks(report)


def test_a_double_resolution_is_reported(books, booked, db):
    _, available, bank = booked
    books.one(spec("h2", available, bank, 10, pending=True))
    books.one(VoidPending("h2:void", "h2"))
    # Forge: point the void at the reservation that was already posted.
    tamper(db, "DROP INDEX uq_ledger_transfers_pending_id")
    tamper(db, "UPDATE ledger_transfers SET pending_id = 'hold' WHERE id = 'h2:void'")
    report = books.verify()
    messages = [p.message for p in report.problems if p.check == "pending"]
    assert any("resolved twice" in m for m in messages)
    assert any("releases 10, reservation hold held 200" in m for m in messages)


def test_a_forged_reversal_is_reported(books, booked, db):
    tamper(db, "UPDATE ledger_transfers SET reverses_id = 'hold' WHERE id = 'fee:rev'")
    report = books.verify()
    assert "reversal" in checks(report)
    assert any("a pending transfer" in p.message for p in report.problems)


def test_verify_database_uses_its_own_snapshot(books, booked, db):
    assert verify_database(db).ok
    tamper(db, "UPDATE ledger_accounts SET debits_pending = debits_pending + 7")
    report = verify_database(db, max_problems=1)
    assert not report.ok and len(report.problems) == 1 and report.truncated > 0


def test_journal_header_without_transfers(books, booked, db):
    tamper(
        db,
        "INSERT INTO ledger_journals (id, code, reference, metadata, created)"
        " VALUES ('jrn_orphan', 'x', '', '{}', '2025-01-01 00:00:00')",
    )
    report = books.verify()
    assert [(p.check, p.subject) for p in report.problems] == [("journal_balance", "jrn_orphan")]


def test_clean_ledger_with_journal_header(books, booked, db):
    clearing, available, _ = booked
    with db.transaction() as session:
        Ledger(session).post(
            [spec("x1", clearing, available, 5)], journal=Journal(code="c", reference="r")
        )
    assert books.verify().ok

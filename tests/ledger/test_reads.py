"""Reads: balances now and as of a past moment, statements, paginated lists."""

from __future__ import annotations

import pytest

from settlement.ledger import (
    Ledger,
    LedgerError,
    PostPending,
    Reversal,
    Side,
    TransferSpec,
    VoidPending,
)


def spec(id: str, debit: str, credit: str, amount: int, **kw) -> TransferSpec:
    return TransferSpec(id, debit, credit, amount, "EUR", kw.pop("code", "test"), "ref", **kw)


@pytest.fixture
def merchant(books):
    """A merchant's available account, funded from clearing, with a payout flow."""
    clearing = books.account("platform", "psp_clearing").id
    available = books.account("acct_m", "merchant_available").id
    bank = books.account("platform", "bank").id
    return clearing, available, bank


def test_balance_derivations_follow_the_normal_side(books, merchant):
    clearing, available, bank = merchant
    books.one(spec("in", clearing, available, 1000))
    books.one(spec("payout", available, bank, 300, pending=True))
    books.one(spec("incoming", clearing, available, 50, pending=True))
    merchant_balance = books.balance(available)
    assert merchant_balance.normal is Side.CREDIT
    assert merchant_balance.posted == 1000
    assert merchant_balance.pending == 50 - 300
    assert merchant_balance.available == 700
    clearing_balance = books.balance(clearing)
    assert clearing_balance.normal is Side.DEBIT
    assert clearing_balance.posted == 1000 and clearing_balance.pending == 50
    assert clearing_balance.available == 1000


def test_balance_as_of_replays_history(books, merchant, clock):
    clearing, available, bank = merchant
    t0 = clock.now
    books.one(spec("in", clearing, available, 1000))
    t1 = clock.advance(60)
    books.one(spec("hold", available, bank, 400, pending=True))
    t2 = clock.advance(60)
    books.one(PostPending("hold:post", "hold", 250))
    t3 = clock.advance(60)
    books.one(Reversal("in:rev", "in", code="refund"))  # fails: 250 already paid out
    books.one(spec("in2", clearing, available, 10))
    t4 = clock.advance(60)

    def seen(at):
        b = books.balance(available, as_of=at)
        return (b.posted, b.pending, b.available)

    before = t0.replace(year=2000)
    assert seen(before) == (0, 0, 0)
    assert seen(t0) == (1000, 0, 1000)
    assert seen(t1) == (1000, -400, 600)
    assert seen(t2) == (750, 0, 750)
    assert seen(t3) == (760, 0, 760)
    assert seen(t4) == (760, 0, 760)
    now = books.balance(available)
    assert (now.posted, now.pending, now.available) == seen(t4)
    assert books.balance(available, as_of=t1).as_of == t1


def test_as_of_needs_an_aware_timestamp(books, merchant):
    with pytest.raises(ValueError):
        books.balance(merchant[1], as_of=books.clock.now.replace(tzinfo=None))


def test_unknown_account(books):
    with pytest.raises(LedgerError) as raised:
        books.balance("la_nope")
    assert raised.value.code == "account_not_found"


def test_statement_running_balance_and_pages(books, merchant):
    clearing, available, bank = merchant
    books.one(spec("s1", clearing, available, 100))
    books.one(spec("s2", clearing, available, 50))
    books.one(spec("s3", available, bank, 30, pending=True))
    books.one(spec("other", clearing, bank, 999))  # not on the merchant's account
    books.one(VoidPending("s3:void", "s3"))
    books.one(spec("s4", available, bank, 20))
    with books.db.transaction(write=False) as session:
        ledger = Ledger(session)
        whole = ledger.statement(available, limit=100)
        rows = [
            (line.transfer.id, line.side, line.posted_change, line.pending_change,
             line.posted_balance, line.pending_balance)
            for line in whole.lines
        ]  # fmt: skip
        assert rows == [
            ("s1", Side.CREDIT, 100, 0, 100, 0),
            ("s2", Side.CREDIT, 50, 0, 150, 0),
            ("s3", Side.DEBIT, 0, -30, 150, -30),
            ("s3:void", Side.DEBIT, 0, 30, 150, 0),
            ("s4", Side.DEBIT, -20, 0, 130, 0),
        ]
        assert not whole.has_more and (whole.opening_posted, whole.opening_pending) == (0, 0)
        assert whole.lines[-1].posted_balance == ledger.balance(available).posted

        first = ledger.statement(available, limit=2)
        assert [line.transfer.id for line in first.lines] == ["s1", "s2"] and first.has_more
        second = ledger.statement(available, limit=2, starting_after="s2")
        assert second.opening_posted == 150
        assert [line.transfer.id for line in second.lines] == ["s3", "s3:void"]
        assert second.has_more
        third = ledger.statement(available, limit=2, starting_after="s3:void")
        assert [line.posted_balance for line in third.lines] == [130] and not third.has_more
        with pytest.raises(LedgerError):
            ledger.statement(available, starting_after="other")


def test_transfer_list_pagination_and_filters(books, merchant):
    clearing, available, bank = merchant
    ids = [f"t{i:02d}" for i in range(7)]
    for i, transfer_id in enumerate(ids):
        books.one(
            spec(transfer_id, clearing, available, 10 + i, code="even" if i % 2 == 0 else "odd")
        )
    books.one(spec("elsewhere", clearing, bank, 5))
    with books.db.transaction(write=False) as session:
        ledger = Ledger(session)
        page = ledger.transfers(account_id=available, limit=3)
        assert [t.id for t in page] == ["t06", "t05", "t04"] and page.has_more
        page = ledger.transfers(account_id=available, limit=3, starting_after="t04")
        assert [t.id for t in page] == ["t03", "t02", "t01"] and page.has_more
        page = ledger.transfers(account_id=available, limit=3, starting_after="t01")
        assert [t.id for t in page] == ["t00"] and not page.has_more
        page = ledger.transfers(account_id=available, limit=2, ending_before="t03")
        assert [t.id for t in page] == ["t05", "t04"] and page.has_more
        page = ledger.transfers(account_id=available, limit=5, ending_before="t03")
        assert [t.id for t in page] == ["t06", "t05", "t04"] and not page.has_more
        assert [t.id for t in ledger.transfers(code="odd")] == ["t05", "t03", "t01"]
        assert [t.id for t in ledger.transfers(account_id=bank)] == ["elsewhere"]
        assert len(ledger.transfers(reference="ref", limit=100)) == 8
        assert ledger.transfer("t03").amount == 13
        assert ledger.transfer("nope") is None
        with pytest.raises(LedgerError):
            ledger.transfers(starting_after="nope")

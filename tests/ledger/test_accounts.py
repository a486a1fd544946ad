"""Accounts: the purpose table, found-or-created, and the race between two creators."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event

from core.money import CurrencyError
from settlement.ledger import Ledger, LedgerError, Side, policy_for, purposes


def test_purpose_table_covers_the_design():
    table = purposes()
    for name in (
        "psp_clearing",
        "merchant_pending",
        "merchant_available",
        "merchant_reserve",
        "platform_fees",
        "fx_position",
        "fx_rounding",
        "payouts_in_transit",
        "bank",
    ):
        assert name in table and table[name].description
    available = policy_for("merchant_available")
    assert available is not None and available.normal is Side.CREDIT
    assert available.debits_must_not_exceed_credits
    clearing = policy_for("psp_clearing")
    assert clearing is not None and clearing.normal is Side.DEBIT
    assert policy_for("no_such_purpose") is None


def test_found_or_created_by_owner_purpose_currency(books):
    first = books.account("acct_1", "merchant_pending", "eur")
    again = books.account("acct_1", "merchant_pending", "EUR")
    other_currency = books.account("acct_1", "merchant_pending", "JPY")
    other_owner = books.account("acct_2", "merchant_pending", "EUR")
    assert first.id == again.id and first.id.startswith("la_")
    assert len({first.id, other_currency.id, other_owner.id}) == 3
    assert (first.currency, first.normal, first.debits_must_not_exceed_credits) == (
        "EUR",
        Side.CREDIT,
        True,
    )


def test_explicit_flags_must_agree_with_the_purpose(books):
    books.account("acct_1", "merchant_available", "EUR", normal="credit")
    with pytest.raises(LedgerError) as raised:
        books.account("acct_1", "merchant_available", "EUR", normal="debit")
    assert raised.value.code == "account_policy_conflict"


def test_ad_hoc_flags_are_part_of_the_account(books):
    books.account("platform", "loans", "EUR", normal="debit", credits_must_not_exceed_debits=True)
    with pytest.raises(LedgerError) as raised:
        books.account("platform", "loans", "EUR", normal="debit")
    assert raised.value.code == "account_exists_with_different_flags"


@pytest.mark.parametrize(
    ("owner", "purpose", "currency", "error"),
    [
        ("", "bank", "EUR", LedgerError),
        ("acct 1", "bank", "EUR", LedgerError),
        ("acct_1", "Bank", "EUR", LedgerError),
        ("acct_1", "bank", "EURO", CurrencyError),
        ("acct_1", "bank", "XXX", CurrencyError),
    ],
)
def test_invalid_account_keys(books, owner, purpose, currency, error):
    with pytest.raises(error):
        books.account(owner, purpose, currency)


def test_get_and_list_accounts(books):
    ids = sorted(books.account(f"acct_{i}", "merchant_pending", "EUR").id for i in range(5))
    books.account("platform", "platform_fees", "EUR")
    with books.db.transaction(write=False) as session:
        ledger = Ledger(session)
        assert ledger.get_account(ids[0]) is not None and ledger.get_account("la_nope") is None
        page = ledger.accounts(purpose="merchant_pending", limit=2)
        assert [a.id for a in page] == ids[:2] and page.has_more
        page = ledger.accounts(purpose="merchant_pending", limit=2, starting_after=ids[1])
        assert [a.id for a in page] == ids[2:4] and page.has_more
        page = ledger.accounts(purpose="merchant_pending", limit=10, starting_after=ids[3])
        assert [a.id for a in page] == ids[4:] and not page.has_more
        page = ledger.accounts(purpose="merchant_pending", limit=2, ending_before=ids[4])
        assert [a.id for a in page] == ids[2:4] and page.has_more
        assert [a.owner for a in ledger.accounts(owner="platform")] == ["platform"]


@pytest.mark.postgres
def test_concurrent_creators_get_the_same_account(db):
    barrier = threading.Barrier(8)
    found: list[str] = []
    errors: list[BaseException] = []

    def create() -> None:
        try:
            barrier.wait()
            account = db.run(
                lambda session: Ledger(session).account("acct_race", "merchant_pending", "EUR")
            )
            found.append(account.id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(found) == 8 and len(set(found)) == 1


def test_account_ids_are_remembered_only_once_committed(books):
    """``Ledger.account_id`` answers from memory only for accounts a transaction
    committed: an account created by a transaction that rolled back never existed."""
    statements: list[str] = []
    db = books.db

    def counting(conn, cursor, statement, *args):
        statements.append(statement)

    session = db.session(write=True)
    try:
        doomed = Ledger(session).account_id("acct_rb", "merchant_pending", "EUR")
        session.rollback()
        kept = Ledger(session).account_id("acct_rb", "merchant_pending", "EUR")
        session.commit()
    finally:
        session.close()
    assert kept != doomed  # the first one was rolled back and forgotten
    event.listen(db.engine, "before_cursor_execute", counting)
    try:
        with db.transaction() as session:
            again = Ledger(session).account_id("acct_rb", "merchant_pending", "eur")
    finally:
        event.remove(db.engine, "before_cursor_execute", counting)
    assert again == kept
    assert not any("ledger_accounts" in s for s in statements)  # served from memory
    with db.transaction(write=False) as session:
        assert Ledger(session).get_account(kept) is not None
        assert Ledger(session).get_account(doomed) is None
    # A known id asked for under another policy is still refused.
    with pytest.raises(LedgerError), db.transaction() as session:
        Ledger(session).account_id("acct_rb", "merchant_pending", "EUR", normal="debit")

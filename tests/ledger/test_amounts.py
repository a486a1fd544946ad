"""Amounts are exact integers of minor units end to end: near 2**63, and in JPY, EUR, BHD."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import inspect

from core.money import MAX_MINOR_AMOUNT, exponent, from_minor, parse_major
from settlement.ledger import Ledger, PostPending, Side, TransferSpec
from settlement.ledger import tables as ledger_tables


@pytest.mark.parametrize(
    ("currency", "major", "minor"),
    [("JPY", "12000", 12_000), ("EUR", "73.29", 7_329), ("BHD", "4.125", 4_125)],
)
def test_minor_units_per_exponent_round_trip_exactly(books, currency, major, minor):
    assert parse_major(major, currency) == minor
    src, dst = books.adhoc(f"src_{currency}", currency), books.adhoc(f"dst_{currency}", currency)
    result = books.one(TransferSpec(f"t_{currency}", src, dst, minor, currency, "c", "r"))
    assert result.ok
    stored = books.balance(dst).totals.credits_posted
    assert stored == minor and type(stored) is int
    assert from_minor(stored, currency).amount == Decimal(major)
    assert exponent(currency) == {"JPY": 0, "EUR": 2, "BHD": 3}[currency]


@pytest.mark.parametrize("currency", ["JPY", "EUR", "BHD"])
def test_amounts_near_two_to_the_63(books, currency):
    """The largest amounts survive storage, sums, statements and verify to the unit."""
    a = books.adhoc(f"a_{currency}", currency)
    b = books.adhoc(f"b_{currency}", currency, normal=Side.CREDIT)
    c = books.adhoc(f"c_{currency}", currency)
    big = MAX_MINOR_AMOUNT - 1  # not a power of two: a float would round it
    assert int(float(big)) != big
    assert books.one(TransferSpec("big", a, b, big, currency, "c", "r")).ok
    assert books.one(TransferSpec("one", a, b, 1, currency, "c", "r")).ok
    assert books.one(TransferSpec("held", b, c, big, currency, "c", "r", pending=True)).ok
    assert books.one(PostPending("held:post", "held", big - 12345)).ok
    assert books.balance(b).totals.credits_posted == MAX_MINOR_AMOUNT
    assert books.balance(b).posted == MAX_MINOR_AMOUNT - (big - 12345)
    assert books.balance(c).totals.credits_posted == big - 12345
    assert books.balance(b, as_of=books.clock.now).totals.credits_posted == MAX_MINOR_AMOUNT
    with books.db.transaction(write=False) as session:
        lines = Ledger(session).statement(b).lines
    assert [line.posted_balance for line in lines] == [
        big,
        MAX_MINOR_AMOUNT,
        MAX_MINOR_AMOUNT,
        MAX_MINOR_AMOUNT - (big - 12345),
    ]
    assert books.verify().ok


def test_every_amount_column_is_a_64_bit_integer(db):
    for table in (ledger_tables.accounts, ledger_tables.transfers):
        for column in inspect(db.engine).get_columns(table.name):
            name = column["name"]
            if name in {
                "amount",
                "released",
                "debits_pending",
                "debits_posted",
                "credits_pending",
                "credits_posted",
            }:
                assert column["type"].python_type is int, (table.name, name)

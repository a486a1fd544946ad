"""Settlement runs on the ``db`` fixture: T+N availability, the rolling reserve, idempotency,
streaming in batches, negative runs, and the run report."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
from typing import Any

import pytest
from sqlalchemy import event, func, select

from core.database import Database
from settlement.balance_transactions import AVAILABLE, PENDING, BalanceTransaction
from settlement.booking import book_refund
from settlement.fees import FeeSchedule, save_fee_schedule
from settlement.ledger import Ledger
from settlement.ledger.tables import LedgerTransfer
from settlement.runs import (
    COLUMNS,
    FAILED,
    SUCCEEDED,
    ReportNotFound,
    RunTotals,
    SettlementRun,
    SettlementRunError,
    release_due_reserves,
    render_settlement_run,
    report_csv,
    report_json,
    run_settlement,
    settlement_report,
)
from settlement.schedule import cut_off
from tests.settlement.settlement_world import (
    T0,
    assert_books_agree,
    balances,
    capture,
    ledger_verified,  # noqa: F401  (fixture)
    merchant,
)

pytestmark = pytest.mark.usefixtures("ledger_verified")

TEN_PERCENT_30_DAYS = {"reserve": {"percent": 10, "days": 30}}
WEDNESDAY = cut_off(dt.date(2025, 3, 5))  # T0 (Monday) + 2 days


def transfer_count(db: Database) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(LedgerTransfer)) or 0


def test_t_plus_two_run_holds_the_reserve_and_releases_it_once(db: Database) -> None:
    with db.transaction() as session:
        account = merchant(session, settings=TEN_PERCENT_30_DAYS)
        for amount in (10_000, 2_500, 1_234):
            capture(session, account, amount)
        later = capture(session, account, 5_000, at=T0 + dt.timedelta(days=1))
        account_id = account.id
        assert balances(session, account_id)["pending"] == 18_734

    tuesday = run_settlement(db, account_id, "EUR", WEDNESDAY - dt.timedelta(days=1))
    assert (tuesday.status, tuesday.transaction_count, tuesday.net) == (SUCCEEDED, 0, 0)

    run = run_settlement(db, account_id, "eur", WEDNESDAY)
    assert run.status == SUCCEEDED
    assert (run.transaction_count, run.counts) == (3, {"charge": 3})
    assert (run.gross, run.fee, run.net) == (13_734, 0, 13_734)
    assert (run.reserved, run.available) == (1_373, 12_361)  # 1373.4 held, rounded down
    assert run.reserve_release_on == WEDNESDAY + dt.timedelta(days=30)
    with db.transaction() as session:
        assert balances(session, account_id) == {
            "pending": 5_000,
            "available": 12_361,
            "reserve": 1_373,
            "spendable": 12_361,
        }
        rows = session.scalars(
            select(BalanceTransaction).where(BalanceTransaction.account_id == account_id)
        ).all()
        by_status = {(r.type, r.status, r.settlement_run_id == run.id) for r in rows}
        assert by_status == {
            ("charge", AVAILABLE, True),
            ("charge", PENDING, False),  # the capture made a day later is not due yet
            ("reserve_hold", AVAILABLE, True),
            ("reserve_release", PENDING, True),
        }
        assert session.get(BalanceTransaction, later.id).status == PENDING
        assert_books_agree(session, account_id)

        due = run.reserve_release_on
        assert release_due_reserves(session, due - dt.timedelta(seconds=1)) == 0
    with db.transaction() as session:
        assert release_due_reserves(session, due) == 1
    with db.transaction() as session:
        assert release_due_reserves(session, due + dt.timedelta(days=5)) == 0  # once
        assert balances(session, account_id)["reserve"] == 0
        assert balances(session, account_id)["available"] == 13_734
        assert_books_agree(session, account_id)


def test_a_run_repeated_for_the_same_cut_off_moves_nothing_twice(db: Database) -> None:
    with db.transaction() as session:
        account = merchant(session, settings=TEN_PERCENT_30_DAYS)
        capture(session, account, 7_000)
        account_id = account.id
    first = run_settlement(db, account_id, "EUR", WEDNESDAY)
    moved = transfer_count(db)
    again = run_settlement(db, account_id, "EUR", WEDNESDAY)
    assert again.id == first.id
    assert (again.net, again.reserved, again.attempts) == (7_000, 700, 1)
    assert transfer_count(db) == moved

    # A capture due at the same cut-off but booked after the run waits for the next one.
    with db.transaction() as session:
        account = session.get(type(account), account_id)
        account.settings = {**TEN_PERCENT_30_DAYS, "payouts": {"schedule": {"delay_days": 0}}}
        capture(session, account, 300, at=WEDNESDAY + dt.timedelta(hours=1))
    assert run_settlement(db, account_id, "EUR", WEDNESDAY).transaction_count == 1
    thursday = run_settlement(db, account_id, "EUR", WEDNESDAY + dt.timedelta(days=1))
    assert (thursday.transaction_count, thursday.net, thursday.reserved) == (1, 300, 30)
    with db.transaction() as session:
        assert balances(session, account_id)["reserve"] == 730
        assert_books_agree(session, account_id)


def test_concurrent_requests_for_one_cut_off_make_one_run(db: Database) -> None:
    with db.transaction() as session:
        account = merchant(session, settings=TEN_PERCENT_30_DAYS)
        for _ in range(20):
            capture(session, account, 1_000)
        account_id = account.id
    results: list[str] = []
    errors: list[BaseException] = []

    def go() -> None:
        try:
            results.append(run_settlement(db, account_id, "EUR", WEDNESDAY, batch_size=3).id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(results)) == 1
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(SettlementRun)) == 1
        assert balances(session, account_id) == {
            "pending": 0,
            "available": 18_000,
            "reserve": 2_000,
            "spendable": 18_000,
        }
        assert_books_agree(session, account_id)


def test_the_run_streams_in_batches_of_the_configured_size(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.transaction() as session:
        account = merchant(session)
        for i in range(25):
            capture(session, account, 100 + i, at=T0 - dt.timedelta(hours=i))
        account_id = account.id

    batches: list[int] = []
    claims: list[str] = []
    add = RunTotals.add

    def spy(self: RunTotals, rows: list[Any]) -> None:
        batches.append(len(rows))
        add(self, rows)

    def watch(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "UPDATE balance_transactions" in statement and "LIMIT" in statement:
            claims.append(statement)

    monkeypatch.setattr(RunTotals, "add", spy)
    event.listen(db.engine, "before_cursor_execute", watch)
    try:
        run = run_settlement(db, account_id, "EUR", WEDNESDAY, batch_size=4)
    finally:
        event.remove(db.engine, "before_cursor_execute", watch)
    assert run.transaction_count == 25
    assert run.net == sum(100 + i for i in range(25))
    assert run.batches == 7
    assert batches == [4, 4, 4, 4, 4, 4, 1]  # never more than one batch in memory
    assert len(claims) == 7  # one claiming statement per batch
    with db.transaction() as session:
        assert_books_agree(session, account_id)


def test_refunds_before_settlement_are_netted_in_the_run(db: Database) -> None:
    with db.transaction() as session:
        account = merchant(session, settings=TEN_PERCENT_30_DAYS)
        save_fee_schedule(
            session, FeeSchedule(owner=account.id, percent_ppm=29_000, fixed={"EUR": 30})
        )
        paid = capture(session, account, 10_000)  # fee 290 + 30 = 320, net 9 680
        refund = book_refund(
            session,
            account,
            refund_id="re_test1",
            intent_id=paid.source,
            capture=paid,
            amount=4_000,
            already_refunded=0,
        )
        assert refund.net == -4_000  # the fee is kept (Stripe's default)
        account_id = account.id
    run = run_settlement(db, account_id, "EUR", WEDNESDAY)
    assert run.counts == {"charge": 1, "refund": 1}
    assert (run.gross, run.fee, run.net) == (6_000, 320, 5_680)
    assert (run.reserved, run.available) == (568, 5_112)
    with db.transaction() as session:
        assert_books_agree(session, account_id)


def test_a_negative_run_the_balance_cannot_cover_fails_moving_nothing_then_retries(
    db: Database,
) -> None:
    with db.transaction() as session:
        account = merchant(session, settings=TEN_PERCENT_30_DAYS)
        save_fee_schedule(session, FeeSchedule(owner=account.id, fixed={"EUR": 100}))
        paid = capture(session, account, 1_000)  # net 900, due Wednesday
        capture(session, account, 5_000, at=T0 + dt.timedelta(days=3))  # funds the refund
        book_refund(
            session,
            account,
            refund_id="re_full",
            intent_id=paid.source,
            capture=paid,
            amount=1_000,
            already_refunded=0,
        )
        account_id = account.id
        before = balances(session, account_id)

    failed = run_settlement(db, account_id, "EUR", WEDNESDAY)
    assert (failed.status, failed.failure_code, failed.attempts) == (
        FAILED,
        "balance_insufficient",
        1,
    )
    assert (failed.transaction_count, failed.net, failed.journal_id) == (0, 0, None)
    with db.transaction() as session:
        assert balances(session, account_id) == before
        claimed = session.scalar(
            select(func.count())
            .select_from(BalanceTransaction)
            .where(BalanceTransaction.settlement_run_id.is_not(None))
        )
        assert claimed == 0
        assert_books_agree(session, account_id)
        # Later that day a payment settling same-day (T+0) arrives: the retry covers it.
        account = session.get(type(account), account_id)
        account.settings = {**TEN_PERCENT_30_DAYS, "payouts": {"schedule": {"delay_days": 0}}}
        capture(session, account, 2_000, at=WEDNESDAY - dt.timedelta(hours=2))

    retried = run_settlement(db, account_id, "EUR", WEDNESDAY)
    assert retried.id == failed.id
    assert (retried.status, retried.attempts, retried.failure_code) == (SUCCEEDED, 2, None)
    assert retried.counts == {"charge": 2, "refund": 1}
    assert retried.net == 900 - 1_000 + 1_900
    with db.transaction() as session:
        assert_books_agree(session, account_id)


def test_a_negative_run_moves_the_shortfall_back_from_available(db: Database) -> None:
    with db.transaction() as session:
        account = merchant(session)
        save_fee_schedule(session, FeeSchedule(owner=account.id, fixed={"EUR": 100}))
        capture(session, account, 3_000, at=T0 - dt.timedelta(days=3))  # net 2 900, settles first
        paid = capture(session, account, 1_000)
        capture(session, account, 5_000, at=T0 + dt.timedelta(days=3))
        book_refund(
            session,
            account,
            refund_id="re_full2",
            intent_id=paid.source,
            capture=paid,
            amount=1_000,
            already_refunded=0,
        )
        account_id = account.id
    first = run_settlement(db, account_id, "EUR", WEDNESDAY - dt.timedelta(days=2))
    assert first.net == 2_900
    negative = run_settlement(db, account_id, "EUR", WEDNESDAY)
    assert (negative.status, negative.net, negative.reserved, negative.available) == (
        SUCCEEDED,
        -100,
        0,
        -100,
    )
    with db.transaction() as session:
        assert balances(session, account_id)["available"] == 2_800
        assert_books_agree(session, account_id)


def test_the_report_lists_every_row_with_fees_and_rates(db: Database) -> None:
    with db.transaction() as session:
        account = merchant(session, settings=TEN_PERCENT_30_DAYS)
        save_fee_schedule(
            session,
            FeeSchedule(
                owner=account.id, percent_ppm=29_000, fixed={"EUR": 30}, cross_border_ppm=10_000
            ),
        )
        capture(session, account, 12_000, currency="JPY", card_country="JP")
        capture(session, account, 5_000, card_country="FR")
        paid = capture(session, account, 2_000)
        book_refund(
            session,
            account,
            refund_id="re_report",
            intent_id=paid.source,
            capture=paid,
            amount=500,
            already_refunded=0,
        )
        account_id = account.id
    run = run_settlement(db, account_id, "EUR", WEDNESDAY, batch_size=2)

    with db.transaction(write=False) as session:
        rows = list(settlement_report(session, run.id, batch_size=2))
        assert len(rows) == 6
        assert [r["balance_transaction"] for r in rows] == sorted(
            r["balance_transaction"] for r in rows
        )
        payments = [r for r in rows if r["type"] in ("charge", "refund")]
        reserve = {
            r["type"]: r["net"] for r in rows if r["reporting_category"] == "risk_reserved_funds"
        }
        assert sum(r["net"] for r in payments) == run.net
        assert sum(r["fee"] for r in payments) == run.fee
        assert reserve == {"reserve_hold": -run.reserved, "reserve_release": run.reserved}
        for row in rows:
            fees = row["corridor_fee"] + row["cross_border_fee"] + row["fx_fee"] + row["other_fee"]
            assert fees == row["fee"]
            assert row["net"] == row["amount"] - row["fee"]
        converted = next(r for r in rows if r["presentment_currency"] == "jpy")
        assert converted["presentment_amount"] == 12_000
        assert converted["exchange_rate"] is not None and float(converted["exchange_rate"]) > 0
        assert converted["cross_border_fee"] > 0

        parsed = list(csv.DictReader(io.StringIO("".join(report_csv(session, run.id)))))
        assert [p["balance_transaction"] for p in parsed] == [
            r["balance_transaction"] for r in rows
        ]
        assert list(parsed[0]) == list(COLUMNS)
        assert sum(int(p["net"]) for p in parsed) == run.net
        assert parsed[0]["created"].endswith("+00:00")

        document = json.loads("".join(report_json(session, run.id, batch_size=4)))
        assert document["settlement_run"] == render_settlement_run(run)
        assert document["data"] == rows
        with pytest.raises(ReportNotFound):
            settlement_report(session, "sr_missing")


def test_render_and_refusals(db: Database) -> None:
    with db.transaction() as session:
        account = merchant(session, settings=TEN_PERCENT_30_DAYS)
        capture(session, account, 1_000)
        account_id = account.id
    run = run_settlement(db, account_id, "EUR", WEDNESDAY + dt.timedelta(microseconds=999))
    shown = render_settlement_run(run)
    assert shown["object"] == "settlement_run"
    assert shown["cut_off"] == int(WEDNESDAY.timestamp())
    assert shown["available"] + shown["reserved"] == shown["net"] == 1_000
    assert shown["reserve"] == {
        "amount": 100,
        "rate_ppm": 100_000,
        "release_on": int((WEDNESDAY + dt.timedelta(days=30)).timestamp()),
    }
    with db.transaction() as session:
        with pytest.raises(SettlementRunError) as raised:
            run_settlement(session, "acct_missing", "EUR", WEDNESDAY)
        assert raised.value.code == "resource_missing"
        with pytest.raises(SettlementRunError) as raised:
            run_settlement(session, account_id, "EUR", dt.datetime(2025, 3, 5))
        assert raised.value.param == "as_of"
        with pytest.raises(SettlementRunError) as raised:
            run_settlement(session, account_id, "EURO", WEDNESDAY)
        assert raised.value.param == "currency"
        assert Ledger(session).verify().ok

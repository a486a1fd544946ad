"""Many writers on a few hot accounts (PostgreSQL): no lost update, no crossed limit."""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict

import pytest

from core.database import Database
from settlement.ledger import (
    Ledger,
    PostPending,
    ResultCode,
    Reversal,
    TransferKind,
    TransferResult,
    TransferSpec,
    VoidPending,
    verify_database,
)

THREADS = 16
ROUNDS = 120  # per thread; with batches and journals: ~4,000 transfers in all


@pytest.mark.postgres
def test_sixteen_writers_on_hot_accounts(db: Database) -> None:
    def setup(session):
        ledger = Ledger(session)
        source = ledger.account("platform", "psp_clearing", "EUR").id
        sink = ledger.account("platform", "bank", "EUR").id
        merchants = [ledger.account(f"acct_{i}", "merchant_available", "EUR").id for i in range(3)]
        ledger.post_or_raise(
            [TransferSpec(f"seed:{m}", source, m, 3_000, "EUR", "seed", "seed") for m in merchants]
        )
        return source, sink, merchants

    source, sink, merchants = db.run(setup)
    committed: list[TransferResult] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def writer(n: int) -> None:
        rng = random.Random(n)
        holds: list[str] = []
        posted: list[str] = []
        try:
            start.wait()
            for i in range(ROUNDS):
                tag = f"w{n}:{i}"
                merchant, other = rng.sample(merchants, 2)
                choice = rng.random()
                journal = False
                if choice < 0.25:
                    ops = [
                        TransferSpec(tag, source, merchant, rng.randint(1, 60), "EUR", "in", tag)
                    ]
                elif choice < 0.5:
                    ops = [
                        TransferSpec(tag, merchant, sink, rng.randint(1, 120), "EUR", "out", tag)
                    ]
                elif choice < 0.6:
                    ops = [
                        TransferSpec(tag, merchant, sink, rng.randint(1, 90), "EUR", "hold", tag,
                                     pending=True)
                    ]  # fmt: skip
                elif choice < 0.7 and holds:
                    hold = holds.pop(rng.randrange(len(holds)))
                    ops = [
                        PostPending(tag, hold, rng.choice([None, 1]))
                        if rng.random() < 0.5
                        else VoidPending(tag, hold)
                    ]
                elif choice < 0.8:
                    journal = True  # merchant -> other merchant -> sink, all or nothing
                    amount = rng.randint(1, 100)
                    ops = [
                        TransferSpec(f"{tag}:a", merchant, other, amount, "EUR", "move", tag),
                        TransferSpec(f"{tag}:b", other, sink, amount + 1, "EUR", "move", tag),
                    ]
                elif choice < 0.85 and posted:
                    ops = [Reversal(tag, posted.pop(rng.randrange(len(posted))))]
                else:
                    ops = [
                        TransferSpec(f"{tag}:{k}", rng.choice([source, *merchants]),
                                     rng.choice([sink, *merchants]), rng.randint(1, 80),
                                     "EUR", "batch", tag)
                        for k in range(5)
                    ]  # fmt: skip
                    ops = [op for op in ops if op.debit != op.credit]

                def work(session, ops=ops, journal=journal):
                    return Ledger(session).post(ops, journal=journal)

                results = db.run(work, retries=50)
                with lock:
                    committed.extend(results)
                for result in results:
                    t = result.transfer
                    if result.created and t is not None:
                        if t.kind is TransferKind.PENDING:
                            holds.append(t.id)
                        elif t.kind is TransferKind.POSTED and t.reverses_id is None:
                            posted.append(t.id)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [], errors[:3]
    codes = Counter(r.code for r in committed)
    created = [r.transfer for r in committed if r.created and r.transfer is not None]
    assert len(created) > 2_000, codes
    assert codes[ResultCode.EXCEEDS_CREDITS] > 0, codes  # limits did bite
    assert set(codes) <= {
        ResultCode.OK,
        ResultCode.EXCEEDS_CREDITS,
        ResultCode.LINKED_EVENT_FAILED,
    }, codes

    # No lost update: every account's totals are exactly the sum of what committed.
    expected: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    with db.transaction(write=False) as session:
        ledger = Ledger(session)
        seeds = [ledger.transfer(f"seed:{m}") for m in merchants]
        for t in [*seeds, *created]:
            assert t is not None
            expected[t.debit_account_id][0] += t.pending_change
            expected[t.debit_account_id][1] += t.posted_amount
            expected[t.credit_account_id][2] += t.pending_change
            expected[t.credit_account_id][3] += t.posted_amount
        for account_id in [source, sink, *merchants]:
            totals = ledger.balance(account_id).totals
            actual = [
                totals.debits_pending,
                totals.debits_posted,
                totals.credits_pending,
                totals.credits_posted,
            ]
            assert actual == expected[account_id], account_id
        for merchant in merchants:  # no crossed limit
            balance = ledger.balance(merchant)
            assert balance.available >= 0
            totals = balance.totals
            assert totals.debits_posted + totals.debits_pending <= totals.credits_posted
        stored = ledger.transfers(limit=10_000)
        assert len(stored) == len(created) + len(seeds)
    report = verify_database(db)
    assert report.ok, report.problems[:5]


@pytest.mark.postgres
def test_large_batches_in_parallel_take_the_lane(db: Database) -> None:
    """Batches over many accounts (beyond LARGE_POSTING_ACCOUNTS) from 4 writers at once."""
    from settlement.ledger.storage.postgres import LARGE_POSTING_ACCOUNTS

    def setup(session):
        ledger = Ledger(session)
        source = ledger.account("platform", "psp_clearing", "EUR").id
        ids = [ledger.account(f"acct_{i}", "merchant_available", "EUR").id for i in range(150)]
        ledger.post_or_raise(
            [TransferSpec(f"seed:{m}", source, m, 1_000, "EUR", "seed", "seed") for m in ids]
        )
        return ids

    merchants = db.run(setup)
    errors: list[BaseException] = []
    totals: Counter[str] = Counter()
    lock = threading.Lock()

    def writer(n: int) -> None:
        rng = random.Random(n)
        try:
            for b in range(5):
                ops = []
                for k in range(200):
                    debit, credit = rng.sample(merchants, 2)
                    ops.append(TransferSpec(f"w{n}:{b}:{k}", debit, credit, rng.randint(1, 50),
                                            "EUR", "batch", "bench"))  # fmt: skip
                assert len({a for op in ops for a in (op.debit, op.credit)}) > (
                    LARGE_POSTING_ACCOUNTS
                )
                results = db.run(lambda session, ops=ops: Ledger(session).post(ops), retries=50)
                with lock:
                    totals.update(str(r.code) for r in results)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(totals.values()) == 4 * 5 * 200 and totals["ok"] > 3000
    report = verify_database(db)
    assert report.ok, report.problems[:5]

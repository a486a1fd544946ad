"""Benchmark: settlement runs over many captured payments on PostgreSQL.

For each size (default 100,000 then 1,000,000 payments) it builds a fresh schema with
1,000 merchants in 10 settlement currencies (JPY, BHD and the two-decimal ones), every
merchant with a 10 % rolling reserve; the payments are pending ``charge``
BalanceTransactions due over the five days before the cut-off (bulk-loaded with
``COPY``), and the ledger holds what they imply (each merchant's ``merchant_pending``
funded from ``psp_clearing``). Generation is not timed. Then:

* **baseline**: one plain ``UPDATE balance_transactions SET status='available', ...``
  over exactly the due rows: the bare cost of touching them (rolled back after);
* **settlement**: one :func:`settlement.runs.run_settlement` per (merchant, currency),
  each its own transaction (keyset batches, claim, journal, reserve rows), spread over
  ``--workers`` threads with a connection each, as job-queue workers would run them;
* **one big run**: a single merchant with a tenth of the payments settled in one
  streaming run (``--batch-size`` rows per batch), with ``tracemalloc`` on, to show
  that a run's memory does not depend on how many rows it settles.

Printed per size: payments/s, the ratio to the baseline, peak RSS of the settlement
phase (``VmHWM`` after resetting it through ``/proc/self/clear_refs``) and the Python
heap peak of the big run; then the 1M/100k ratios (time ~10x, memory flat).

    python bench/settlement.py                     # 100k and 1M (CORRIDOR_BENCH_DATABASE_URL
                                                   # or the corridor_settlement database)
    python bench/settlement.py --quick             # 2k and 20k, for CI
    python bench/settlement.py --url postgresql+psycopg://postgres@127.0.0.1:5432/db
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import random
import sys
import time
import tracemalloc
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import api.models  # noqa: F401  (every table)
import settlement.fees.store
import settlement.fx.overrides
import settlement.fx.quotes
import settlement.fx.residuals
import settlement.ledger.tables
import settlement.payouts.tables  # noqa: F401
from bench.postgres import ensure_database
from core.database import Base, Database
from settlement.balance_transactions import BalanceTransaction
from settlement.ledger import Ledger, TransferSpec, verify
from settlement.runs import SettlementRun, run_settlement

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/corridor_settlement"
SCHEMA = "bench_settlement"
CURRENCIES = {
    "EUR": "DE",
    "USD": "US",
    "GBP": "GB",
    "JPY": "JP",
    "CHF": "CH",
    "SEK": "SE",
    "AUD": "AU",
    "CAD": "CA",
    "BHD": "BH",
    "PLN": "PL",
}
CUT_OFF = dt.datetime(2026, 3, 9, tzinfo=dt.UTC)
RESERVE = {"reserve": {"percent": 10, "days": 30}}
COPY_COLUMNS = (
    "id",
    "account_id",
    "type",
    "reporting_category",
    "amount",
    "fee",
    "net",
    "currency",
    "fee_details",
    "source",
    "status",
    "available_on",
    "details",
    "created",
)


def _with_search_path(url: str, schema: str) -> str:
    return (
        make_url(url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def reset_rss_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def rss_peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Result:
    payments: int
    accounts: int
    generate_s: float
    baseline_s: float
    settle_s: float
    runs: int
    batches: int
    rss_peak_mb: float
    big_rows: int = 0
    big_s: float = 0.0
    big_batches: int = 0
    big_heap_peak_mb: float = 0.0

    @property
    def per_second(self) -> float:
        return self.payments / self.settle_s


class World:
    """A fresh schema holding ``payments`` due charges over ``accounts`` merchants."""

    def __init__(self, url: str, payments: int, accounts: int, seed: int = 7) -> None:
        self.url = url
        self.payments = payments
        self.accounts = accounts
        self.rng = random.Random(seed)
        admin = Database(url, pool_size=1)
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
        admin.dispose()
        self.db = Database(_with_search_path(url, SCHEMA), pool_size=8)
        Base.metadata.create_all(self.db.engine)
        self.pairs: list[tuple[str, str]] = []

    def add_accounts(self, count: int, prefix: str) -> list[tuple[str, str]]:
        now = dt.datetime.now(dt.UTC)
        codes = list(CURRENCIES)
        rows = []
        pairs = []
        for i in range(count):
            currency = codes[i % len(codes)]
            account_id = f"acct_{prefix}{i:06d}"
            pairs.append((account_id, currency))
            rows.append(
                {
                    "id": account_id,
                    "business_name": f"Merchant {prefix}{i}",
                    "country": CURRENCIES[currency],
                    "default_currency": currency,
                    "status": "active",
                    "settings": RESERVE,
                    "metadata": {},
                    "created": now,
                }
            )
        from core.accounts import Account

        with self.db.transaction() as session:
            session.execute(Account.__table__.insert(), rows)
        return pairs

    def load_charges(self, pairs: list[tuple[str, str]], count: int) -> dict[tuple[str, str], int]:
        """COPY ``count`` due charges spread over ``pairs``; returns each pair's net total."""
        nets: dict[tuple[str, str], int] = defaultdict(int)
        created = CUT_OFF - dt.timedelta(days=7)
        days = [CUT_OFF - dt.timedelta(days=d) for d in range(5)]
        rng = self.rng
        raw = self.db.engine.raw_connection()
        try:
            connection = raw.driver_connection
            columns = ", ".join(COPY_COLUMNS)
            copy_sql = f"COPY balance_transactions ({columns}) FROM STDIN"
            with connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for n in range(count):
                    account_id, currency = pairs[n % len(pairs)]
                    amount = rng.randrange(500, 50_000)
                    fee = amount * 29 // 1000 + 30
                    net = amount - fee
                    nets[(account_id, currency)] += net
                    copy.write_row(
                        (
                            "txn_" + uuid.uuid4().hex[:24],
                            account_id,
                            "charge",
                            "charge",
                            amount,
                            fee,
                            net,
                            currency,
                            "[]",
                            f"pi_{n:023d}",
                            "pending",
                            days[n % len(days)],
                            "{}",
                            created,
                        )
                    )
            connection.commit()
        finally:
            raw.close()
        return nets

    def fund_ledger(self, nets: dict[tuple[str, str], int]) -> None:
        """The ledger state the charges imply: each merchant's pending funds, from clearing
        (and its available and reserve accounts, as a merchant settled before has them)."""
        with self.db.transaction() as session:
            ledger = Ledger(session)
            for account_id, currency in nets:
                ledger.account(account_id, "merchant_available", currency)
                ledger.account(account_id, "merchant_reserve", currency)
            ops = [
                TransferSpec(
                    id=f"opening:{account_id}:{currency}",
                    debit=ledger.platform_account("psp_clearing", currency).id,
                    credit=ledger.account(account_id, "merchant_pending", currency).id,
                    amount=net,
                    currency=currency,
                    code="capture",
                    reference=f"opening:{account_id}",
                )
                for (account_id, currency), net in sorted(nets.items())
            ]
            for start in range(0, len(ops), 500):
                ledger.post_or_raise(ops[start : start + 500])

    def analyze(self) -> None:
        with self.db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text("VACUUM ANALYZE balance_transactions"))
            conn.execute(text("VACUUM ANALYZE ledger_accounts"))

    def close(self) -> None:
        self.db.dispose()
        admin = Database(self.url, pool_size=1)
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        admin.dispose()


def baseline(db: Database) -> float:
    """The bare cost of touching the due rows once: one UPDATE, then rolled back."""
    with db.engine.connect() as conn:
        started = time.perf_counter()
        conn.execute(
            text(
                "UPDATE balance_transactions SET status = 'available', settlement_run_id = 'base' "
                "WHERE status = 'pending' AND settlement_run_id IS NULL AND available_on <= :cut"
            ),
            {"cut": CUT_OFF},
        )
        elapsed = time.perf_counter() - started
        conn.rollback()
    return elapsed


def measure(url: str, payments: int, accounts: int, batch_size: int, workers: int) -> Result:
    started = time.perf_counter()
    world = World(url, payments, accounts)
    try:
        fleet = world.add_accounts(accounts, "f")
        nets = world.load_charges(fleet, payments)
        world.fund_ledger(nets)
        big_rows = payments // 10
        [big] = world.add_accounts(1, "big")
        big_nets = world.load_charges([big], big_rows)
        world.fund_ledger(big_nets)
        world.analyze()
        generate_s = time.perf_counter() - started
        print(f"  generated {payments:,} + {big_rows:,} payments in {generate_s:.1f}s", flush=True)

        # The baseline touches the fleet's rows and the big account's: scale to the fleet.
        base_s = baseline(world.db) * payments / (payments + big_rows)
        world.analyze()

        gc.collect()
        reset = reset_rss_peak()
        started = time.perf_counter()

        def settle(pairs: list[tuple[str, str]]) -> int:
            done = 0
            for account_id, currency in pairs:
                run = run_settlement(world.db, account_id, currency, CUT_OFF, batch_size=batch_size)
                assert run.status == "succeeded", run.failure_message
                done += run.batches
            return done

        with ThreadPoolExecutor(workers) as pool:
            shares = [fleet[i::workers] for i in range(workers)]
            batches = sum(pool.map(settle, shares))
        settle_s = time.perf_counter() - started
        peak = rss_peak_mb() if reset else float("nan")

        gc.collect()
        tracemalloc.start()
        started = time.perf_counter()
        run = run_settlement(world.db, big[0], big[1], CUT_OFF, batch_size=batch_size)
        big_s = time.perf_counter() - started
        heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        assert run.transaction_count == big_rows

        with world.db.transaction(write=False) as session:
            settled = session.query(BalanceTransaction).filter_by(status="pending").count()
            runs = session.query(SettlementRun).count()
            report = verify(session)
        assert settled == len(fleet) + 1, "only the reserve releases (one per run) stay pending"
        assert report.ok, report.problems[:5]
        return Result(
            payments=payments,
            accounts=accounts,
            generate_s=generate_s,
            baseline_s=base_s,
            settle_s=settle_s,
            runs=runs - 1,
            batches=batches,
            rss_peak_mb=peak,
            big_rows=big_rows,
            big_s=big_s,
            big_batches=run.batches,
            big_heap_peak_mb=heap_peak,
        )
    finally:
        world.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", default=os.environ.get("CORRIDOR_BENCH_DATABASE_URL") or DEFAULT_URL
    )
    parser.add_argument("--sizes", default="100000,1000000", help="payments per round")
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, help="rows per batch (2000; 500 with --quick)")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="runs in parallel (threads, one connection each), as job-queue workers would",
    )
    parser.add_argument("--quick", action="store_true", help="2k and 20k payments, 100 accounts")
    args = parser.parse_args()
    if make_url(args.url).get_backend_name() != "postgresql":
        parser.error("this benchmark runs on PostgreSQL (--url postgresql+psycopg://...)")
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick:
        sizes, args.accounts = [2_000, 20_000], 100
    args.batch_size = args.batch_size or (500 if args.quick else 2000)

    print(
        f"settlement runs: {args.accounts} merchants x {len(CURRENCIES)} currencies, "
        f"10% reserve, batch size {args.batch_size}, {args.workers} worker(s), "
        f"database {make_url(args.url).render_as_string(hide_password=True)}"
    )
    results = []
    for size in sizes:
        print(f"- {size:,} payments", flush=True)
        ensure_database(args.url)
        result = measure(args.url, size, args.accounts, args.batch_size, args.workers)
        results.append(result)
        print(
            f"  baseline UPDATE {result.baseline_s:.2f}s "
            f"({result.payments / result.baseline_s:,.0f} rows/s)\n"
            f"  settlement      {result.settle_s:.2f}s "
            f"({result.per_second:,.0f} payments/s; {result.runs} runs, {result.batches} batches; "
            f"{result.settle_s / result.baseline_s:.1f}x the baseline)\n"
            f"  peak RSS during settlement {result.rss_peak_mb:.1f} MiB\n"
            f"  one big run: {result.big_rows:,} payments in {result.big_batches} batches, "
            f"{result.big_s:.2f}s ({result.big_rows / result.big_s:,.0f}/s), "
            f"Python heap peak {result.big_heap_peak_mb:.2f} MiB",
            flush=True,
        )
    if len(results) >= 2:
        small, large = results[0], results[-1]
        # Both sizes make the same number of runs, so the time is (per-run cost x runs) +
        # (per-payment cost x payments): a straight line through the two measurements.
        per_payment = (large.settle_s - small.settle_s) / (large.payments - small.payments)
        per_run = (small.settle_s - per_payment * small.payments) / small.runs
        print(
            f"{large.payments:,} vs {small.payments:,} payments "
            f"(x{large.payments / small.payments:.0f}): "
            f"settlement time x{large.settle_s / small.settle_s:.1f}, "
            f"baseline time x{large.baseline_s / small.baseline_s:.1f}, "
            f"peak RSS x{large.rss_peak_mb / small.rss_peak_mb:.2f}; "
            f"one big run: time x{large.big_s / small.big_s:.1f}, "
            f"heap x{large.big_heap_peak_mb / small.big_heap_peak_mb:.2f}\n"
            f"linear fit: {per_payment * 1e6:.1f} us per payment "
            f"(baseline {large.baseline_s / large.payments * 1e6:.1f} us per row) "
            f"+ {per_run * 1e3:.1f} ms per run"
        )


if __name__ == "__main__":
    main()

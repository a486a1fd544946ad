"""Ledger throughput on PostgreSQL, against pgbench measured in the same run.

For 1, 4 and 16 concurrent writers (separate processes, so Python's GIL does not cap
the client side), it measures transfers per second

- with one transfer per commit and with batches (``--batch`` transfers per call),
- over spread-out accounts (random pairs among ``--accounts`` merchant accounts) and
  over a few hot accounts (``--hot``), every one of them limit-checked
  (``debits_must_not_exceed_credits``; funded so that no transfer fails),

and runs ``pgbench`` (TPC-B-like, its default script) with the same client count and
duration immediately before each measurement, in a scratch database of its own (on a
shared machine the baseline drifts; each ratio compares two neighbouring runs). It
prints each figure and the ratio ours / pgbench. Targets (issue 3): single-transfer
commits >= 50% of pgbench's TPS at the same concurrency; batched posting >= 10,000
transfers/s.

Each writer holds one connection and session for the whole run, as pgbench's clients
hold theirs, and commits each posting in its own transaction. A single transfer is
queued with ``Ledger.post_at_commit``, as the payment flow posts captures, so it
travels with its commit in one round trip; a batch posts with ``post_or_raise`` and
then commits. ``--via-run`` goes through ``Database.run`` instead: a pooled session per
transaction, as the API does.

    python bench/ledger.py                    # full run (about 6 minutes)
    python bench/ledger.py --quick            # a few seconds, for CI
    python bench/ledger.py --url postgresql+psycopg://user@host:5432/db --seconds 20

The ledger's tables go into their own schema (``ledger_bench``) of the target database,
recreated at the start; pgbench's into the database ``--pgbench-db``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.postgres import ensure_database
from core.database import Base, Database, is_retryable
from settlement.ledger import Ledger, TransferSpec

DEFAULT_URL = os.environ.get(
    "CORRIDOR_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/corridor_ledger"
)
SCHEMA = "ledger_bench"
FUNDING = 10**15
console = Console(width=130)


@dataclass(frozen=True)
class Scenario:
    name: str
    batch: int
    hot: bool

    @property
    def slug(self) -> str:
        """A transfer-id-safe tag."""
        return f"b{self.batch}{'h' if self.hot else 's'}"


@dataclass
class Figure:
    scenario: Scenario
    writers: int
    transfers: int
    commits: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.transfers / self.seconds


def schema_url(url: str) -> str:
    return (
        make_url(url)
        .update_query_dict({"options": f"-csearch_path={SCHEMA}"})
        .render_as_string(hide_password=False)
    )


def prepare(url: str, accounts: int, hot: int) -> tuple[list[str], list[str]]:
    """Recreate the bench schema; create and fund the merchant accounts."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    admin.dispose()
    db = Database(schema_url(url), pool_size=2)
    Base.metadata.create_all(db.engine)

    def create(names: list[str]) -> list[str]:
        def work(session: Session) -> list[str]:
            ledger = Ledger(session)
            source = ledger.account("platform", "psp_clearing", "EUR").id
            ids = [ledger.account(name, "merchant_available", "EUR").id for name in names]
            ledger.post_or_raise(
                [
                    TransferSpec(f"fund:{i}", source, i, FUNDING, "EUR", "funding", "bench")
                    for i in ids
                ]
            )
            return ids

        return db.run(work)

    spread = create([f"acct_spread_{i}" for i in range(accounts)])
    hot_ids = create([f"acct_hot_{i}" for i in range(hot)])
    with db.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    db.dispose()
    return spread, hot_ids


def writer(
    url: str,
    accounts: list[str],
    batch: int,
    seconds: float,
    tag: str,
    via_run: bool,
    ready: Any,
    results: Any,
) -> None:
    """One writer process: warm up, wait for every writer, then post for ``seconds``."""
    db = Database(url, pool_size=1)
    rng = random.Random(tag)
    counter = 0

    def make_ops() -> list[TransferSpec]:
        nonlocal counter
        ops = []
        for _ in range(batch):
            counter += 1
            debit, credit = rng.sample(accounts, 2)
            ops.append(
                TransferSpec(f"{tag}:{counter}", debit, credit, rng.randint(1, 10_000), "EUR",
                             "bench", tag)
            )  # fmt: skip
        return ops

    connection = db.engine.connect()
    session = Session(bind=connection)  # one session for the writer's life, like a worker

    def post(on: Session, ops: list[TransferSpec]) -> None:
        if len(ops) == 1:
            # As the payment flow posts: last, with the commit in the same round trip.
            Ledger(on).post_at_commit(ops)
        else:
            Ledger(on).post_or_raise(ops)

    def post_once(ops: list[TransferSpec]) -> None:
        if via_run:
            db.run(lambda s: post(s, ops))
            return
        for _attempt in range(50):
            try:
                post(session, ops)
                session.commit()
                return
            except Exception as exc:
                session.rollback()
                if not is_retryable(exc):
                    raise
        raise RuntimeError("too many retries")

    for _ in range(3):  # warm up: connection, prepared statements
        post_once(make_ops())
    ready.wait()
    started = time.perf_counter()
    stop_at = started + seconds
    transfers = commits = 0
    while time.perf_counter() < stop_at:
        post_once(make_ops())
        transfers += batch
        commits += 1
    elapsed = time.perf_counter() - started
    session.close()
    connection.close()
    db.dispose()
    results.put((transfers, commits, elapsed))


def measure(
    url: str, accounts: list[str], scenario: Scenario, writers: int, seconds: float, via_run: bool
) -> Figure:
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(writers)
    results = ctx.Queue()
    processes = [
        ctx.Process(
            target=writer,
            args=(
                url,
                accounts,
                scenario.batch,
                seconds,
                f"{scenario.slug}-{writers}-{n}-{time.time_ns()}",
                via_run,
                ready,
                results,
            ),
        )
        for n in range(writers)
    ]
    for process in processes:
        process.start()
    collected = [results.get(timeout=seconds + 900) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"a writer failed (exit code {process.exitcode})")
    # A writer's last posting may end after its deadline: divide by the longest real span.
    elapsed = max(r[2] for r in collected)
    return Figure(
        scenario, writers, sum(r[0] for r in collected), sum(r[1] for r in collected), elapsed
    )


def vacuum(url: str) -> None:
    """Vacuum the accounts table before a measurement, as pgbench vacuums its branches
    and tellers before each of its runs: the rows every transfer updates. (A deployment
    leaves this to autovacuum; the server here may run without it, and otherwise each
    measurement would inherit the dead row versions of the ones before it.)"""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM (ANALYZE) ledger_accounts"))
    engine.dispose()


def pgbench_tps(url: str, database: str, clients: int, seconds: int) -> float | None:
    """pgbench's TPS (TPC-B-like) for ``clients`` clients, or None when it is not installed."""
    binary = shutil.which("pgbench")
    if binary is None:
        return None
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    command = [
        binary,
        "-h", parsed.host or "127.0.0.1",
        "-p", str(parsed.port or 5432),
        "-U", parsed.username or "postgres",
        "-c", str(clients),
        "-j", str(min(clients, os.cpu_count() or 1)),
        "-T", str(seconds),
        database,
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", output)
    return float(match.group(1)) if match else None


def pgbench_init(url: str, database: str, scale: int) -> bool:
    binary = shutil.which("pgbench")
    if binary is None:
        console.print("[yellow]pgbench not found: ratios are not available[/]")
        return False
    ensure_database(url, database)
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    subprocess.run(
        [binary, "-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432),
         "-U", parsed.username or "postgres", "-i", "-q", "-s", str(scale), database],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--pgbench-db", default="corridor_pgbench")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--writers", default="1,4,16")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--hot", type=int, default=4)
    parser.add_argument("--scale", type=int, default=16, help="pgbench scale factor")
    parser.add_argument("--via-run", action="store_true", help="one Database.run per posting")
    parser.add_argument("--quick", action="store_true", help="a small variant that runs in seconds")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.writers, args.batch, args.accounts, args.scale = 1.0, "1,4", 200, 100, 1
    writer_counts = [int(w) for w in args.writers.split(",")]
    if not args.url.startswith("postgresql"):
        console.print("[red]the benchmark needs PostgreSQL (--url)[/]")
        return 2

    console.print(
        f"[bold]Ledger benchmark[/] {make_url(args.url).render_as_string(hide_password=True)}"
        f"  {args.seconds:g}s per run, writers {writer_counts}, batch {args.batch},"
        f" {args.accounts} spread / {args.hot} hot accounts, pgbench scale {args.scale},"
        f" {os.cpu_count()} CPUs"
    )
    ensure_database(args.url)
    spread, hot = prepare(args.url, args.accounts, args.hot)
    have_pgbench = pgbench_init(args.url, args.pgbench_db, args.scale)
    url = schema_url(args.url)
    scenarios = [
        Scenario("single, spread", 1, False),
        Scenario("single, hot", 1, True),
        Scenario(f"batch {args.batch}, spread", args.batch, False),
        Scenario(f"batch {args.batch}, hot", args.batch, True),
    ]
    # pgbench runs immediately before each of our measurements, with the same client
    # count and duration: on a shared machine the baseline drifts, so each ratio compares
    # two runs taken under the same conditions.
    rows: list[tuple[Figure, float | None]] = []
    for writers in writer_counts:
        for scenario in scenarios:
            base = (
                pgbench_tps(args.url, args.pgbench_db, writers, max(1, round(args.seconds)))
                if have_pgbench
                else None
            )
            accounts = hot if scenario.hot else spread
            vacuum(url)
            figure = measure(url, accounts, scenario, writers, args.seconds, args.via_run)
            rows.append((figure, base))
            console.print(
                f"  {scenario.name:<22} writers={writers:<3}"
                f" {figure.per_second:>10,.0f} transfers/s"
                f"  (pgbench just before: {base or 0:,.0f} tps)"
            )

    table = Table(title="Ledger vs pgbench (same run, same server)")
    for column in ("scenario", "writers", "transfers/s", "commits/s", "pgbench tps", "ratio",
                   "target", "met"):  # fmt: skip
        table.add_column(column, justify="right" if column != "scenario" else "left")
    met_all = True
    for figure, base in rows:
        ratio = figure.per_second / base if base else None
        if figure.scenario.batch == 1:
            target = "ratio >= 0.50"
            met = ratio is not None and ratio >= 0.5
        else:
            target = ">= 10,000/s"
            met = figure.per_second >= 10_000
        met_all = met_all and met
        table.add_row(
            figure.scenario.name,
            str(figure.writers),
            f"{figure.per_second:,.0f}",
            f"{figure.commits / figure.seconds:,.0f}",
            f"{base:,.0f}" if base else "n/a",
            f"{ratio:.2f}" if ratio is not None else "n/a",
            target,
            "[green]yes[/]" if met else "[red]no[/]",
        )
    console.print(table)
    console.print(
        "pgbench: TPC-B-like default script, 5 statements per transaction, one client per"
        " writer; ours: one posting (1 or --batch transfers) per commit, verified limits."
    )
    return 0 if met_all or args.quick else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Payments over HTTP on PostgreSQL, against a bare Litestar handler measured in the same run.

The service runs as production runs it: ``uvicorn api.app:create_app --factory`` with
``--workers`` processes on PostgreSQL (background jobs in each process's embedded worker,
or on a Celery worker with ``--broker redis://...``). ``--clients`` concurrent clients
(threads spread over ``--client-processes`` processes, each with its own keep-alive
connection) each loop over create -> confirm -> capture of a manual-capture
PaymentIntent (a new card each time, inline), form-encoded with an Idempotency-Key as
Stripe's SDKs send them.

Then the same clients, for the same time, POST to a bare Litestar handler
(``bench/bare_litestar.py``) served by the same uvicorn with the same workers.

It prints payments/s, payment requests/s (create, confirm and capture each count),
p50/p99 latency of both, and the ratios. Targets (issue 9): payment requests/s >= 20%
of the bare handler's, payment p99 < 10x the bare handler's p99. Afterwards the ledger
must verify and every captured payment must be ``succeeded``.

    python bench/api.py                      # 20 s per phase, 16 clients, 2 workers
    python bench/api.py --quick              # a few seconds, for CI
    python bench/api.py --url postgresql+psycopg://user@host:5432/db --clients 32

The service's tables go into the ``public`` schema of ``--url``, recreated at the start.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the project's own modules are imported inside functions

from bench import cpu_share  # noqa: E402
from bench.postgres import ensure_database  # noqa: E402

DEFAULT_URL = os.environ.get(
    "CORRIDOR_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/corridor_api"
)
console = Console(width=130)


@dataclass
class Sample:
    """What one client process measured: latencies in seconds, and counts."""

    latencies: list[float] = field(default_factory=list)
    payments: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    """The client process's own CPU time over the phase, all its threads."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def _serve(target: list[str], port: int, workers: int, env: dict[str, str]) -> Any:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        *target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- clients (run in child processes) ------------------------------------------------


def _card_number() -> str:
    """A random Visa number that passes Luhn (the sandbox approves any valid card)."""
    body = "4" + "".join(random.choice("0123456789") for _ in range(14))
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char) * (2 if index % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return body + str((10 - total % 10) % 10)


def _payment_loop(
    base: str, key: str, deadline: float, sample: Sample, lock: threading.Lock
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        while time.monotonic() < deadline:
            order = uuid.uuid4().hex[:12]
            steps = [
                (
                    "/v1/payment_intents",
                    {
                        "amount": "2599",
                        "currency": "eur",
                        "capture_method": "manual",
                        # A card and a payer of its own, as real traffic has: one test
                        # card for every payment would (rightly) trip card velocity.
                        "payment_method_data[type]": "card",
                        "payment_method_data[card][number]": _card_number(),
                        "payment_method_data[card][exp_month]": "12",
                        "payment_method_data[card][exp_year]": "2034",
                        "payment_method_data[card][cvc]": "123",
                        "payer[email]": f"payer-{order}@example.com",
                        "metadata[order]": order,
                    },
                ),
                ("/v1/payment_intents/{id}/confirm", {}),
                ("/v1/payment_intents/{id}/capture", {"amount_to_capture": "2599"}),
            ]
            intent_id = ""
            ok = True
            for path, form in steps:
                started = time.perf_counter()
                response = client.post(
                    path.format(id=intent_id),
                    data=form,
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                )
                elapsed = time.perf_counter() - started
                with lock:
                    sample.latencies.append(elapsed)
                if response.status_code != 200:
                    with lock:
                        name = f"{path} {response.status_code}"
                        sample.errors[name] = sample.errors.get(name, 0) + 1
                    ok = False
                    break
                intent_id = response.json()["id"]
            if ok:
                with lock:
                    sample.payments += 1


def _bare_loop(base: str, key: str, deadline: float, sample: Sample, lock: threading.Lock) -> None:
    with httpx.Client(base_url=base, timeout=60) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = client.post("/v1/bare", json={"amount": 2599, "currency": "eur"})
            elapsed = time.perf_counter() - started
            with lock:
                sample.latencies.append(elapsed)
                if response.status_code != 200:
                    sample.errors[str(response.status_code)] = (
                        sample.errors.get(str(response.status_code), 0) + 1
                    )


def _client_process(kind: str, base: str, key: str, threads: int, seconds: float) -> Sample:
    started = time.process_time()
    sample = Sample()
    lock = threading.Lock()
    loop = _payment_loop if kind == "payments" else _bare_loop
    deadline = time.monotonic() + seconds
    workers = [
        threading.Thread(target=loop, args=(base, key, deadline, sample, lock))
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    sample.cpu_seconds = time.process_time() - started
    return sample


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    requests: int
    payments: int
    p50: float
    p99: float
    errors: dict[str, int]
    cpu: cpu_share.Share

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def cpu_ms(self, seconds: float | None) -> str:
        """CPU milliseconds per request, or '?' where it could not be read."""
        return (
            "?" if seconds is None or not self.requests else f"{seconds / self.requests * 1000:.2f}"
        )


def _run_phase(
    kind: str,
    base: str,
    key: str,
    clients: int,
    processes: int,
    seconds: float,
    server: list[int],
) -> Phase:
    """Drive ``clients`` for ``seconds``; ``server`` are the pids whose process trees serve."""
    processes = max(1, min(processes, clients))
    split = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        before = cpu_share.read(server)
        started = time.monotonic()
        results = pool.starmap(
            _client_process, [(kind, base, key, threads, seconds) for threads in split]
        )
        elapsed = time.monotonic() - started
        after = cpu_share.read(server)
    latencies = sorted(x for sample in results for x in sample.latencies)
    errors: dict[str, int] = {}
    for sample in results:
        for name, count in sample.errors.items():
            errors[name] = errors.get(name, 0) + count
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return Phase(
        kind,
        min(elapsed, seconds + 5),
        len(latencies),
        sum(sample.payments for sample in results),
        quantiles[49],
        quantiles[98],
        errors,
        cpu_share.Share.between(before, after, sum(sample.cpu_seconds for sample in results)),
    )


# --- the service ----------------------------------------------------------------------


def _prepare_database(url: str) -> tuple[str, str]:
    """Recreate the schema, migrate, and issue a merchant key; returns (account, key)."""
    from api.keys import issue_key
    from core.accounts import open_account
    from core.database import Database, migrate

    reset = Database(url, pool_size=1)
    with reset.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    reset.dispose()
    migrate(url)
    db = Database(url, pool_size=1)
    with db.transaction() as session:
        account = open_account(
            session, business_name="Bench GmbH", country="DE", default_currency="EUR"
        )
        key = issue_key(session, "merchant", account.id, "bench").secret
    db.dispose()
    return account.id, key


def _check_books(url: str, account_id: str, payments: int) -> list[str]:
    """The ledger verifies, and every payment a client saw complete is succeeded."""
    import api.models  # noqa: F401
    from core.database import Database
    from payments.intents import PaymentIntent
    from settlement.ledger import verify

    db = Database(url, pool_size=1)
    problems: list[str] = []
    with db.transaction(write=False) as session:
        report = verify(session)
        if not report.ok:
            problems.append(f"ledger.verify: {report.problems[:3]}")
        succeeded = len(
            session.scalars(
                select(PaymentIntent.id).where(
                    PaymentIntent.account_id == account_id, PaymentIntent.status == "succeeded"
                )
            ).all()
        )
    db.dispose()
    if succeeded < payments:
        problems.append(f"{payments} payments completed for clients, {succeeded} succeeded")
    return problems


def _print_cpu(payments: Phase, bare: Phase) -> None:
    """CPU per request by where it was spent, and what the throughput target leaves.

    Both phases share the machine's cores with their clients and the database, so the
    target (payment requests/s >= 20% of bare requests/s) amounts to: a payment request
    may cost at most 5x the CPU a bare request costs, clients and database included."""
    table = Table(title="CPU per request, ms (all processes on this machine)")
    for column in ("phase", "clients", "server", "PostgreSQL", "all"):
        table.add_column(column, justify="right")
    for name, phase in (("create+confirm+capture", payments), ("bare Litestar handler", bare)):
        share = phase.cpu
        table.add_row(
            name,
            phase.cpu_ms(share.clients),
            phase.cpu_ms(share.server),
            phase.cpu_ms(share.database),
            phase.cpu_ms(share.total),
        )
    console.print(table)
    if bare.cpu.total is None or payments.cpu.database is None or not payments.requests:
        return
    budget = 5 * bare.cpu.total / bare.requests * 1000
    outside = (payments.cpu.clients + payments.cpu.database) / payments.requests * 1000
    console.print(
        f"at 20% of the bare handler's requests/s a payment request may use {budget:.2f} ms "
        f"of CPU in all; its clients and PostgreSQL alone use {outside:.2f} ms, leaving "
        f"{budget - outside:.2f} ms for the service (it uses "
        f"{payments.cpu.server / payments.requests * 1000:.2f} ms)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL (SQLAlchemy URL)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase")
    parser.add_argument("--broker", help="run jobs on a Celery worker on this broker")
    parser.add_argument("--quick", action="store_true", help="4 s phases, 8 clients (CI)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.clients = 4.0, 8

    ensure_database(args.url)
    account_id, key = _prepare_database(args.url)
    data_dir = tempfile.mkdtemp(prefix="corridor-bench-")
    env = {
        **os.environ,
        "CORRIDOR_DATABASE_URL": args.url,
        "CORRIDOR_DATA_DIR": data_dir,
        "CORRIDOR_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("CORRIDOR_BROKER_URL", None)
    celery = None
    if args.broker:
        env["CORRIDOR_BROKER_URL"] = args.broker
        celery = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "worker", "--loglevel", "WARNING"],
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )

    port = _free_port()
    service = _serve(["api.app:create_app", "--factory"], port, args.workers, env)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base}/health", service)
        server = [service.pid] + ([celery.pid] if celery is not None else [])
        _run_phase("payments", base, key, 2, 1, 1.0, server)  # warm every worker's pools
        payments = _run_phase(
            "payments", base, key, args.clients, args.client_processes, args.seconds, server
        )
    finally:
        _stop(service)
        if celery is not None:
            _stop(celery)

    port = _free_port()
    bare_env = {**env, "PYTHONPATH": f"{ROOT / 'bench'}{os.pathsep}{ROOT}"}
    bare_server = _serve(["bare_litestar:app"], port, args.workers, bare_env)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base}/schema", bare_server)
        server = [bare_server.pid]
        _run_phase("bare", base, key, 2, 1, 1.0, server)
        bare = _run_phase(
            "bare", base, key, args.clients, args.client_processes, args.seconds, server
        )
    finally:
        _stop(bare_server)

    problems = _check_books(args.url, account_id, payments.payments)
    table = Table(
        title=f"API on PostgreSQL: {args.clients} clients, {args.workers} uvicorn workers, "
        f"{args.seconds:.0f} s per phase"
    )
    for column in ("phase", "requests/s", "payments/s", "p50 ms", "p99 ms", "errors"):
        table.add_column(column, justify="right")
    table.add_row(
        "create+confirm+capture",
        f"{payments.per_second:,.0f}",
        f"{payments.payments / payments.seconds:,.1f}",
        f"{payments.p50 * 1000:.1f}",
        f"{payments.p99 * 1000:.1f}",
        str(sum(payments.errors.values())),
    )
    table.add_row(
        "bare Litestar handler",
        f"{bare.per_second:,.0f}",
        "",
        f"{bare.p50 * 1000:.1f}",
        f"{bare.p99 * 1000:.1f}",
        str(sum(bare.errors.values())),
    )
    console.print(table)
    throughput = payments.per_second / bare.per_second if bare.per_second else 0.0
    tail = payments.p99 / bare.p99 if bare.p99 else float("inf")
    console.print(
        f"payment requests/s / bare requests/s = {throughput:.1%} (target >= 20%): "
        f"{'met' if throughput >= 0.20 else 'MISSED'}"
    )
    console.print(
        f"payment p99 / bare p99 = {tail:.1f}x (target < 10x): {'met' if tail < 10 else 'MISSED'}"
    )
    _print_cpu(payments, bare)
    if payments.errors or bare.errors:
        console.print(f"errors: payments {payments.errors}, bare {bare.errors}")
    for problem in problems:
        console.print(f"[red]PROBLEM[/red] {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

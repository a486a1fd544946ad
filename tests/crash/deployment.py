"""A production-shaped Corridor as real OS processes: ``serve``, ``worker`` and ``beat``.

The crash harness needs processes it can SIGKILL, so nothing here runs in the test's
own interpreter: each role is ``python -m api.cli ...`` in its own session (a kill
never reaches pytest), sharing one environment (database, broker, data directory with
the vault and audit key files), and appending to its own log file across restarts so
a failure can be read afterwards.

The deployment gets databases of its own: a PostgreSQL database dropped and created for
the run, and a Redis database flushed for it, never those of the rest of the suite
(the live ``service`` fixture resets its own schema and runs its own Celery worker,
which would otherwise take this deployment's job messages).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_postgres_database(url: str) -> str:
    """Drop and create the database ``url`` names (its owner's server must allow it)."""
    parsed = make_url(url)
    name = parsed.database
    if not name or parsed.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL database URL: {parsed!r}")
    maintenance: URL = parsed.set(database="postgres")
    engine = create_engine(maintenance, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return url


def fresh_redis_database(url: str) -> str:
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url


@dataclass
class QueueWatch:
    """Samples the broker's backlog (messages waiting in the ``celery`` list) each second."""

    broker_url: str
    samples: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> QueueWatch:
        def watch() -> None:
            client = redis.Redis.from_url(self.broker_url)
            try:
                while not self._stop.wait(1.0):
                    with contextlib.suppress(redis.RedisError):
                        self.samples.append(int(client.llen("celery")))
            finally:
                client.close()

        self._thread = threading.Thread(target=watch, name="queue-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def peak(self) -> int:
        return max(self.samples, default=0)


@dataclass
class Process:
    """One role of the deployment: started, killed and restarted by its name."""

    name: str
    argv: list[str]
    env: Mapping[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _log: IO[bytes] | None = None

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self._log = self.log_path.open("ab")
        self._log.write(f"\n===== start {self.starts + 1} =====\n".encode())
        self._log.flush()
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "api.cli", *self.argv],
            cwd=ROOT,
            env=dict(self.env),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    def kill(self) -> None:
        """SIGKILL, no warning: whatever the process had in flight is simply gone."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)
        self._close_log()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM and wait (the orderly shutdown at the end of a run)."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=timeout)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_count(self, needle: str) -> int:
        """How many lines of this role's log (over all its lives) contain ``needle``."""
        try:
            with self.log_path.open(errors="replace") as log:
                return sum(needle in line for line in log)
        except FileNotFoundError:
            return 0

    def log_tail(self, lines: int = 40) -> str:
        try:
            content = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return ""
        return "\n".join(content[-lines:])


def cli(env: Mapping[str, str], *argv: str, timeout: float = 120.0) -> str:
    """Run one ``corridor`` command to completion and return its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", *argv],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"corridor {' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-2000:]}"
        )
    return done.stdout.decode().strip()


@dataclass
class Deployment:
    """API, worker and beat on one PostgreSQL database and one Redis broker."""

    database_url: str
    broker_url: str
    workdir: Path
    extra_env: Mapping[str, str] = field(default_factory=dict)
    worker_concurrency: int = 4
    port: int = field(default_factory=free_port)
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORRIDOR_")}
        env.update(
            {
                "CORRIDOR_DATA_DIR": str(self.workdir / "data"),
                "CORRIDOR_DATABASE_URL": self.database_url,
                "CORRIDOR_BROKER_URL": self.broker_url,
                "CORRIDOR_PUBLIC_BASE_URL": self.base_url,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def prepare(self) -> None:
        """Fresh databases, the schema, and the key files every process will share."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        fresh_postgres_database(self.database_url)
        fresh_redis_database(self.broker_url)
        cli(self.env, "migrate")
        env = self.env
        logs = self.workdir / "logs"
        logs.mkdir(exist_ok=True)
        roles = {
            "api": ["serve", "--no-migrate", "--port", str(self.port)],
            "worker": [
                "worker",
                "--concurrency",
                str(self.worker_concurrency),
                "--loglevel",
                "WARNING",
            ],
            "beat": ["beat", "--loglevel", "WARNING"],
        }
        for name, argv in roles.items():
            self.processes[name] = Process(name, argv, env, logs / f"{name}.log")

    def key(self, role: str, account: str | None = None) -> str:
        argv = ["keys", "create", "--role", role, "--description", "crash harness"]
        if account:
            argv += ["--account", account]
        return cli(self.env, *argv)

    def start_all(self) -> None:
        for name in ("api", "worker", "beat"):
            self.processes[name].start()
        self.wait_api_ready()

    def restart(self, name: str) -> None:
        self.processes[name].start()
        if name == "api":
            self.wait_api_ready()

    def kill(self, name: str) -> None:
        self.processes[name].kill()

    def wait_api_ready(self, timeout: float = READY_TIMEOUT) -> None:
        api = self.processes["api"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not api.running:
                raise RuntimeError(f"the API process exited:\n{api.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the API did not become ready in {timeout:.0f} s:\n{api.log_tail()}")

    def ensure_running(self) -> None:
        """Every role up (a crash the harness did not cause is restarted, and reported)."""
        for name, process in self.processes.items():
            if not process.running:
                self.restart(name)

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.stop()

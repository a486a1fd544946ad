"""Where a load test's CPU went: the server's processes, PostgreSQL's, and the clients'.

On one machine the load generator, the service and the database share the cores, so
requests/s alone cannot say whether a slower phase is slower because of the service, the
database or the clients that drive it. Each phase of ``bench/api.py`` therefore reads the
CPU time of every process it involves before and after, and reports it per request.

Client processes report their own CPU time (``time.process_time`` over all their threads);
the server's process tree and the database's backends are read with psutil. Backends of
another user may be unreadable without privileges: their share is then reported as
unknown, never as zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psutil


def _cpu_seconds(process: psutil.Process) -> float | None:
    try:
        times = process.cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    return times.user + times.system


def _tree(roots: Iterable[int]) -> list[psutil.Process]:
    processes: list[psutil.Process] = []
    for pid in roots:
        try:
            root = psutil.Process(pid)
            processes += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return processes


def _database_backends() -> list[psutil.Process]:
    return [
        process
        for process in psutil.process_iter(["name"])
        if (process.info.get("name") or "").startswith("postgres")
    ]


@dataclass(frozen=True)
class Reading:
    """CPU seconds at one moment, by process id, for the server tree and the database."""

    server: dict[int, float]
    database: dict[int, float]
    database_readable: bool


def read(server_roots: Iterable[int]) -> Reading:
    server = {p.pid: t for p in _tree(server_roots) if (t := _cpu_seconds(p)) is not None}
    backends = _database_backends()
    database = {p.pid: t for p in backends if (t := _cpu_seconds(p)) is not None}
    return Reading(server, database, bool(backends) and len(database) == len(backends))


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two readings; a process first seen in ``after`` started in between."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


@dataclass(frozen=True)
class Share:
    """CPU seconds one phase spent, by where they were spent."""

    clients: float
    server: float
    database: float | None
    """``None`` when the database's processes could not be read (another machine, or
    another user's processes without the privilege to read them)."""

    @classmethod
    def between(cls, before: Reading, after: Reading, clients: float) -> Share:
        readable = before.database_readable and after.database_readable
        return cls(
            clients=clients,
            server=_spent(before.server, after.server),
            database=_spent(before.database, after.database) if readable else None,
        )

    @property
    def total(self) -> float | None:
        if self.database is None:
            return None
        return self.clients + self.server + self.database

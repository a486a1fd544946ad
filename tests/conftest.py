"""Shared fixtures.

The suite runs on the embedded default (SQLite files, the in-process worker) unless
``CORRIDOR_TEST_DATABASE_URL`` names a PostgreSQL database; then ``db`` fixtures get a
fresh schema each, the live service runs on the ``public`` schema, and, with
``CORRIDOR_TEST_BROKER_URL`` set too, background jobs go through a real Celery worker
process on that broker. Tests marked ``postgres`` need PostgreSQL and are skipped on
SQLite.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

import api.models  # noqa: F401  (all tables)
from core.database import Base, Database, migrate

TEST_DATABASE_URL = os.environ.get("CORRIDOR_TEST_DATABASE_URL", "")
TEST_BROKER_URL = os.environ.get("CORRIDOR_TEST_BROKER_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")


def _missing_fonts() -> list[str]:
    """The Debian packages whose Noto fonts PDF receipts need and this machine lacks."""
    from i18n.fonts import FONTS, find_font_file

    return sorted({face.package for face in FONTS if find_font_file(face) is None})


DATABASE_FIXTURES = frozenset({"db", "service", "live"})
"""The fixtures through which a test reaches a database (each builds on
:func:`make_test_database` or on the live service's database)."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ON_POSTGRES and os.environ.get("CORRIDOR_TEST_DATABASE_ONLY") == "1":
        # CI's PostgreSQL pass: tests that never reach a database (pure domain logic)
        # ran in the SQLite pass already and would only repeat themselves.
        keep, drop = [], []
        for item in items:
            touches = DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
            (keep if touches or "postgres" in item.keywords else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    if any("fonts" in item.keywords for item in items):
        missing = _missing_fonts()
        if missing and os.environ.get("CORRIDOR_REQUIRE_FONTS") != "1":
            # A fresh machine may lack them; CI installs them and requires these tests.
            skip = pytest.mark.skip(
                reason=f"PDF receipts need the Noto fonts: apt-get install {' '.join(missing)}"
            )
            for item in items:
                if "fonts" in item.keywords:
                    item.add_marker(skip)
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set CORRIDOR_TEST_DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def with_search_path(url: str, schema: str) -> str:
    parsed = make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


def make_test_database(tmp_path: Path) -> tuple[Database, Callable[[], None]]:
    """A database with the current schema, and how to throw it away."""
    if ON_POSTGRES:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = Database(TEST_DATABASE_URL, pool_size=1)
        with admin.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        db = Database(with_search_path(TEST_DATABASE_URL, schema), pool_size=20)
        Base.metadata.create_all(db.engine)

        def drop() -> None:
            db.dispose()
            with admin.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

        return db, drop
    db = Database(f"sqlite:///{tmp_path / 'corridor.db'}")
    Base.metadata.create_all(db.engine)
    return db, db.dispose


@pytest.fixture
def own_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Keys (vault, audit signing) in a temporary data directory, unless a live service in
    this process already chose one (then this process uses the service's keys, as the
    service does)."""
    if os.environ.get("CORRIDOR_DATA_DIR"):
        yield
        return
    from core.settings import get_settings

    monkeypatch.setenv("CORRIDOR_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database, drop = make_test_database(tmp_path)
    yield database
    drop()


# --- the live service ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Service:
    """A running Corridor: HTTP base URL, its database, and the settings it runs with."""

    base_url: str
    db: Database
    settings: Any
    admin_key: str
    mailbox: list[bytes]
    """Every message the service's SMTP relay (a local aiosmtpd) has received."""

    def stripe(self, key: str, **options: Any) -> Any:
        import stripe

        options.setdefault("max_network_retries", 0)
        return stripe.StripeClient(key, base_addresses={"api": self.base_url}, **options)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Background work is asynchronous: poll until it shows."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            time.sleep(0.05)


def _service_database(tmp_root: Path) -> str:
    if ON_POSTGRES:
        url = TEST_DATABASE_URL
        reset = Database(url, pool_size=1)
        with reset.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        reset.dispose()
        return url
    return f"sqlite:///{tmp_root / 'service.db'}"


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    import uvicorn
    from aiosmtpd.controller import Controller

    from api.app import create_app
    from api.keys import issue_key
    from core.settings import load_settings

    root = tmp_path_factory.mktemp("service")
    url = _service_database(root)
    mailbox: list[bytes] = []

    class Relay:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            mailbox.append(envelope.content)
            return "250 OK"

    smtp = Controller(Relay(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {
        "CORRIDOR_DATA_DIR": str(root),
        "CORRIDOR_DATABASE_URL": url,
        "CORRIDOR_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
        "CORRIDOR_WEBHOOK_TIMEOUT_SECONDS": "2",
        "CORRIDOR_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
        # The tests' webhook receivers listen on loopback.
        "CORRIDOR_WEBHOOK_ALLOW_PRIVATE": "1",
    }
    port = free_port()
    env["CORRIDOR_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    if TEST_BROKER_URL:
        env["CORRIDOR_BROKER_URL"] = TEST_BROKER_URL
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from core.settings import get_settings

    get_settings.cache_clear()
    settings = load_settings()
    migrate(url)
    db = Database(url, pool_size=20)
    with db.transaction() as session:
        admin_key = issue_key(session, "admin", None, "tests").secret

    processes: list[subprocess.Popen[bytes]] = []
    if TEST_BROKER_URL:
        for command in (["worker", "--concurrency", "4"], ["beat"]):
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "api.cli", *command, "--loglevel", "WARNING"],
                    env={**os.environ},
                )
            )
    app = create_app(db, settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield Service(f"http://127.0.0.1:{port}", db, settings, admin_key, mailbox)
    server.should_exit = True
    thread.join(timeout=10)
    for process in processes:
        process.terminate()
        process.wait(timeout=20)
    smtp.stop()
    db.dispose()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()


@dataclass
class Merchant:
    account_id: str
    key: str
    client: Any


@pytest.fixture
def make_merchant(service: Service) -> Callable[..., Merchant]:
    """Open a fresh merchant through the API (admin key) and issue it a key."""
    from api.keys import issue_key

    def make(country: str = "DE", currency: str = "eur", name: str = "Test Merchant") -> Merchant:
        admin = service.stripe(service.admin_key)
        account = admin.v1.accounts.create(
            params={
                "country": country,
                "default_currency": currency,
                "business_profile": {"name": name},
            }
        )
        with service.db.transaction() as session:
            key = issue_key(session, "merchant", account.id, "tests").secret
        return Merchant(account.id, key, service.stripe(key))

    return make


@pytest.fixture
def merchant(make_merchant: Callable[..., Merchant]) -> Merchant:
    return make_merchant()


@pytest.fixture
def platform_key(service: Service) -> Callable[[str], str]:
    from api.keys import issue_key

    def make(role: str) -> str:
        with service.db.transaction() as session:
            return issue_key(session, role, None, "tests").secret

    return make

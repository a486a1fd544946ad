"""Console fixtures: the app with the console mounted, signed-in clients, a small world.

``console`` is the real app (``api.app.create_app``) over a fresh database, driven by
Litestar's TestClient on an ``https://`` base URL (the session cookie is ``Secure``).
Until the app mounts the console itself, the fixture registers its router.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

import api.console.sessions
import api.models  # noqa: F401
import core.database
from api.console import console_router
from api.keys import issue_key
from core.accounts import open_account
from core.database import Database, set_database
from core.settings import get_settings, load_settings


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: end-to-end test in a real browser (system Chromium)"
    )


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def mount_console(app: Litestar) -> Litestar:
    """The console's routes, unless the app already serves them."""
    if not any(route.path == "/console/login" for route in app.routes):
        app.register(console_router())
    return app


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@dataclass
class Console:
    client: TestClient[Any]
    db: Database

    def sign_in(self, secret: str, *, next_path: str = "") -> Any:
        form = self.client.get("/console/login")
        assert form.status_code == 200, form.text
        return self.client.post(
            "/console/login",
            data={"api_key": secret, "csrf_token": csrf_of(form.text), "next": next_path},
            follow_redirects=False,
        )

    def csrf(self, path: str = "/console") -> str:
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        return csrf_of(page.text)

    def post(self, path: str, data: dict[str, Any], *, token_from: str | None = None) -> Any:
        token = self.csrf(token_from or path)
        return self.client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)

    def api(self, method: str, path: str, key: str, **kwargs: Any) -> Any:
        response = self.client.request(
            method, path, headers={"Authorization": f"Bearer {key}"}, **kwargs
        )
        assert response.status_code < 400, response.text
        return response.json()


def make_app(db: Database) -> Litestar:
    from api.app import create_app

    return mount_console(create_app(db, load_settings(), embedded_worker=False))


@pytest.fixture
def console(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Console]:
    monkeypatch.setenv("CORRIDOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CORRIDOR_AUDIT_SIGNING_KEY", raising=False)
    get_settings.cache_clear()
    previous = core.database._current
    app = make_app(db)
    try:
        with TestClient(app, base_url="https://testserver.local") as client:
            yield Console(client, db)
    finally:
        set_database(previous)
        get_settings.cache_clear()


@dataclass(frozen=True)
class Merchant:
    account_id: str
    key: str


@pytest.fixture
def make_merchant(console: Console) -> Callable[..., Merchant]:
    def make(
        name: str = "Bäckerei Müller GmbH", country: str = "DE", currency: str = "EUR"
    ) -> Merchant:
        with console.db.transaction() as session:
            account = open_account(
                session, business_name=name, country=country, default_currency=currency
            )
            return Merchant(account.id, issue_key(session, "merchant", account.id).secret)

    return make


@pytest.fixture
def platform_key(console: Console) -> Callable[[str], str]:
    def make(role: str) -> str:
        with console.db.transaction() as session:
            return issue_key(session, role).secret

    return make

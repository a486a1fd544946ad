"""The service's ASGI app as it is meant to be assembled, for in-process tests.

``api/app.py`` belongs to the lead. The observability middleware and hook, the
``/metrics`` route and the OpenAPI contract (``api/observability.py``,
``api/openapi_contract.py``) are wired in there by a few lines he adds; until then this
builder adds exactly those pieces to what :func:`api.app.create_app` returns, and once
they are there it adds nothing (each step first checks whether the app has it).

The app shares the live ``service`` fixture's database and environment (vault key,
data directory), so everything it writes is visible to, and verified with, the rest of
the suite, and the process-wide settings are never swapped under the live server.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar import Litestar
from litestar.utils import ensure_async_callable

import api.app
from api.app import create_app
from api.observability import ObservabilityMiddleware, metrics_endpoint, observe_unrouted
from api.openapi_contract import refine


def _has_route(app: Litestar, path: str) -> bool:
    return any(route.path == path for route in app.routes)


@contextmanager
def _observed_unit_of_work() -> Any:
    """Make ``create_app`` stack the observability middleware outside the unit of work."""
    original = api.app.UnitOfWorkMiddleware
    if getattr(original, "observed", False):
        yield
        return

    class Observed:
        observed = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.unit_of_work = original(*args, **kwargs)
            self.observability = ObservabilityMiddleware()

        def __call__(self, app: Any) -> Any:
            return self.observability(self.unit_of_work(app))

    api.app.UnitOfWorkMiddleware = Observed  # type: ignore[misc]
    try:
        yield
    finally:
        api.app.UnitOfWorkMiddleware = original  # type: ignore[misc]


def middleware_integrated() -> bool:
    """Whether ``create_app`` already installs :class:`ObservabilityMiddleware` itself."""
    return "ObservabilityMiddleware" in inspect.getsource(api.app)


def build_app(service: Any, **setting_overrides: Any) -> Litestar:
    """A fully assembled app on ``service``'s database, with settings overridden as given."""
    settings = dataclasses.replace(service.settings, **setting_overrides)
    if middleware_integrated():
        app = create_app(service.db, settings, embedded_worker=False)
    else:
        with _observed_unit_of_work():
            app = create_app(service.db, settings, embedded_worker=False)
    if not _has_route(app, "/metrics"):
        app.register(metrics_endpoint)
    if "observe_unrouted" not in inspect.getsource(api.app):
        app.before_send.append(ensure_async_callable(observe_unrouted))
    refine(app)
    return app


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a loopback port (for SDK clients); yields its URL."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

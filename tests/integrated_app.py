"""The service's ASGI app with some settings overridden, for in-process tests.

The app shares the live ``service`` fixture's database and environment (vault key,
data directory), so everything it writes is visible to, and verified with, the rest of
the suite, and the process-wide settings are never swapped under the live server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar import Litestar

from api.app import create_app


def build_app(service: Any, **setting_overrides: Any) -> Litestar:
    """The app on ``service``'s database, with settings overridden as given."""
    settings = dataclasses.replace(service.settings, **setting_overrides)
    return create_app(service.db, settings, embedded_worker=False)


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

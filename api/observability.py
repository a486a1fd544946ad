"""What the app needs to be observable: the request log line, request metrics, ``/metrics``.

The lead wires these into :func:`api.app.create_app`:

* :class:`ObservabilityMiddleware`, first in ``middleware=[...]`` (outside the unit of
  work, so the latency it measures includes the commit): one log line per request on
  the ``corridor.access`` logger with ``request_id``, ``account``, ``role``, ``key``,
  ``method``, ``route`` (the template, e.g. ``/v1/payment_intents/{intent_id}``),
  ``path``, ``status``, ``duration_ms`` and ``replayed``; and the request counters and
  latency histogram of :mod:`api.metrics`;
* :func:`observe_unrouted` in ``before_send=[...]``: requests no route matched (404, 405)
  never reach route middleware, and are counted and logged by this hook instead;
* :data:`metrics_endpoint`, ``GET /metrics`` in Prometheus' text format, for admin keys
  (Prometheus sends one as ``authorization: {credentials_file: ...}``);
* :func:`configure_logging` (from :mod:`api.logs`) once per process, by the CLI.

No query string is logged (it can carry ``client_secret``), never a header or a body.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from litestar import Response, get
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST

from api import metrics
from api.auth import ADMIN, roles
from api.context import SessionDep
from api.logs import configure_logging
from core.ids import new_id

access_log = logging.getLogger("corridor.access")

UNMATCHED = "<unmatched>"


def _route(scope: Scope) -> str:
    template = scope.get("path_template")
    return str(template) if template else UNMATCHED


def _header(message: Message, name: bytes) -> str | None:
    for key, value in message.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def record(scope: Scope, status: int, seconds: float | None, replayed: bool = False) -> None:
    """Count and log one answered request."""
    method = scope.get("method", "")
    route = _route(scope)
    metrics.HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    if seconds is not None:
        metrics.HTTP_LATENCY.labels(
            method=method, route=route, status_class=f"{status // 100}xx"
        ).observe(seconds)
    state = scope.get("state", {})
    principal = state.get("principal")
    client = scope.get("client")
    fields: dict[str, Any] = {
        "request_id": state.get("request_id"),
        "method": method,
        "route": route,
        "path": scope.get("path"),
        "status": status,
        "duration_ms": round(seconds * 1000, 2) if seconds is not None else None,
        "account": getattr(principal, "account_id", None),
        "role": getattr(principal, "role", None),
        "key": getattr(principal, "key_id", None),
        "replayed": replayed,
        "client": client[0] if client else None,
    }
    level = logging.WARNING if status >= 500 else logging.INFO
    access_log.log(level, "%s %s %s", method, scope.get("path"), status, extra=fields)


class ObservabilityMiddleware(ASGIMiddleware):
    """Time, count and log every routed HTTP request (see the module docstring)."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        state = scope.setdefault("state", {})
        state.setdefault("request_id", new_id("req", 14))
        state["observed"] = True
        started = time.perf_counter()
        status = 500
        replayed = False

        async def watch(message: Message) -> None:
            nonlocal status, replayed
            if message["type"] == "http.response.start":
                status = message["status"]
                replayed = _header(message, b"idempotent-replayed") == "true"
            await send(message)

        metrics.HTTP_IN_FLIGHT.inc()
        try:
            await next_app(scope, receive, watch)
        finally:
            metrics.HTTP_IN_FLIGHT.dec()
            record(scope, status, time.perf_counter() - started, replayed)


async def observe_unrouted(message: Message, scope: Scope) -> None:
    """``before_send`` hook: count and log responses that no route (so no middleware) saw."""
    if message["type"] != "http.response.start" or scope.get("type") != "http":
        return
    state = scope.setdefault("state", {})
    if state.get("observed"):
        return
    state["observed"] = True
    record(scope, message["status"], None)


@get(
    "/metrics",
    opt={**roles(ADMIN), "admission": False, "media_types": (CONTENT_TYPE_LATEST,)},
    sync_to_thread=True,
    tags=["operations"],
    media_type=CONTENT_TYPE_LATEST,
)
def metrics_endpoint(session: SessionDep) -> Response[bytes]:
    """Prometheus metrics: this process's counters and the queue gauges from the database."""
    return Response(metrics.exposition(session), media_type=CONTENT_TYPE_LATEST)


__all__ = [
    "ObservabilityMiddleware",
    "configure_logging",
    "metrics_endpoint",
    "observe_unrouted",
    "record",
]

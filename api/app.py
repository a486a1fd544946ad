"""The Litestar application: routes, the unit of work, guards, errors and OpenAPI."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import Message, Scope

from api import console, wiring
from api.auth import role_guard
from api.context import DEPENDENCIES
from api.errors import error_response
from api.observability import ObservabilityMiddleware, metrics_endpoint, observe_unrouted
from api.openapi_contract import OpenAPIContract
from api.resources import (
    compliance_audit,
    compliance_lists,
    compliance_reviews,
    compliance_rules,
    compliance_screenings,
    fee_schedules,
    ledger,
    payouts,
    provider_webhooks,
    receipts,
    reconciliation,
    settlement_runs,
    test_helpers,
)
from api.resources.accounts import AccountController, own_account
from api.resources.balance import BalanceTransactionController, balance
from api.resources.events import EventController, WebhookEndpointController
from api.resources.fx import FxQuoteController, fx_rates
from api.resources.health import health
from api.resources.payment_intents import PaymentIntentController
from api.resources.payment_methods import PaymentMethodController
from api.resources.refunds import RefundController
from api.startup import load_reference_data
from api.unit_of_work import MAX_UPLOAD, UnitOfWorkMiddleware
from core import tasks
from core.database import Database, set_database
from core.ids import new_id
from core.settings import Settings, get_settings

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
]


async def _stamp(message: Message, scope: Scope) -> None:
    """Every response carries a Request-Id and the security headers."""
    if message["type"] != "http.response.start":
        return
    state = scope.setdefault("state", {})
    request_id = state.setdefault("request_id", new_id("req", 14))
    headers = list(message.get("headers", []))
    present = {name.lower() for name, _ in headers}
    headers.append((b"request-id", request_id.encode()))
    headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
    message["headers"] = headers


def route_handlers() -> Sequence[Any]:
    return [
        health,
        metrics_endpoint,
        AccountController,
        own_account,
        EventController,
        WebhookEndpointController,
        PaymentMethodController,
        PaymentIntentController,
        RefundController,
        balance,
        BalanceTransactionController,
        fx_rates,
        FxQuoteController,
        *provider_webhooks.ROUTES,
        *test_helpers.ROUTES,
        *receipts.ROUTES,
        *compliance_reviews.ROUTES,
        *compliance_screenings.ROUTES,
        *compliance_lists.ROUTES,
        *compliance_rules.ROUTES,
        *compliance_audit.ROUTES,
        console.router,
        *ledger.ROUTES,
        *fee_schedules.ROUTES,
        *payouts.ROUTES,
        *settlement_runs.ROUTES,
        *reconciliation.ROUTES,
    ]


def create_app(
    db: Database | None = None,
    settings: Settings | None = None,
    *,
    embedded_worker: bool | None = None,
) -> Litestar:
    """Build the app; with no broker configured, an in-process worker runs background jobs."""
    settings = settings or get_settings()
    db = db or Database(settings.database_url)
    set_database(db)
    tasks.configure(settings, db)
    wiring.install()
    run_worker = settings.embedded_tasks if embedded_worker is None else embedded_worker
    worker: list[tasks.EmbeddedWorker] = []

    def start_worker() -> None:
        if run_worker:
            embedded = tasks.EmbeddedWorker(db).start()
            tasks.set_dispatcher(db, embedded)
            worker.append(embedded)

    def stop_worker() -> None:
        for embedded in worker:
            embedded.stop()
            tasks.set_dispatcher(db, None)
        worker.clear()

    return Litestar(
        route_handlers=route_handlers(),
        middleware=[ObservabilityMiddleware(), UnitOfWorkMiddleware(db, settings)],
        guards=[role_guard],
        dependencies=DEPENDENCIES,
        exception_handlers={Exception: error_response},
        before_send=[_stamp, observe_unrouted],
        plugins=[OpenAPIContract()],
        # Corridor configures logging itself (api/logs.py: JSON or text, secrets masked).
        logging_config=None,
        # Litestar's own 10 MB cap would stop statement uploads before ours (32 MiB).
        request_max_body_size=MAX_UPLOAD,
        on_startup=[load_reference_data, start_worker],
        on_shutdown=[stop_worker],
        openapi_config=OpenAPIConfig(
            title="Corridor API",
            version="2024-06-20",
            description="Cross-border payments, settlement and compliance in Stripe's API dialect.",
            path="/schema",
            components=Components(
                security_schemes={
                    "bearerAuth": SecurityScheme(
                        type="http", scheme="bearer", description="Secret key sk_test_..."
                    )
                }
            ),
            security=[{"bearerAuth": []}],
        ),
        debug=False,
    )

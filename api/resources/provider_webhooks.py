"""Inbound provider webhooks: Stripe, wallets and the bank, each verified by its rail.

These routes are public (providers sign instead of authenticating) and take the body
byte for byte, since the signature covers exactly those bytes.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.params import FromPath, RawBody

from api.auth import PUBLIC
from api.context import SessionDep
from api.errors import InvalidRequest
from core.settings import get_settings
from payments import notifications
from payments.rails.base import WALLET_PROVIDERS, NotificationError

RAW = {**PUBLIC, "raw_body": True}


def _receive(session: Any, rail: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    try:
        event = notifications.receive(session, get_settings(), rail, headers, body)
    except NotificationError as exc:
        raise InvalidRequest(exc.message, code="invalid_notification") from exc
    return {"received": True, "id": event.id, "outcome": event.outcome}


@post(
    "/v1/webhooks/stripe", opt=RAW, status_code=200, sync_to_thread=True, tags=["provider webhooks"]
)
def stripe_webhook(request: Request[Any, Any, Any], session: SessionDep, body: RawBody) -> dict:
    return _receive(session, "stripe", dict(request.headers), body)


@post(
    "/v1/webhooks/wallets/{provider:str}",
    opt=RAW,
    status_code=200,
    sync_to_thread=True,
    tags=["provider webhooks"],
)
def wallet_webhook(
    provider: FromPath[str], request: Request[Any, Any, Any], session: SessionDep, body: RawBody
) -> dict:
    if provider not in WALLET_PROVIDERS:
        return Response(
            {
                "error": {
                    "type": "invalid_request_error",
                    "message": f"Unknown wallet provider: {provider}",
                }
            },
            status_code=404,
        )  # type: ignore[return-value]
    return _receive(session, provider, dict(request.headers), body)


@post(
    "/v1/webhooks/bank_transfers",
    opt=RAW,
    status_code=200,
    sync_to_thread=True,
    tags=["provider webhooks"],
)
def bank_webhook(request: Request[Any, Any, Any], session: SessionDep, body: RawBody) -> dict:
    return _receive(session, "bank_transfer", dict(request.headers), body)


ROUTES = [stripe_webhook, wallet_webhook, bank_webhook]

"""Who is calling: secret keys, roles, the acting account, and the guard on every route.

Every route declares the roles it admits in ``opt={"roles": ...}`` (or ``public=True``);
a route that declares neither is refused to everyone, so a forgotten guard fails closed.
Platform keys (finance, compliance, admin) act on one merchant by sending
``Stripe-Account: acct_...``; a merchant key always acts on its own account.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.orm import Session

from api.errors import ApiError, AuthenticationFailed, Forbidden, InvalidRequest
from api.keys import KeyIdentity, identify, remembered
from core.accounts import get_account

MERCHANT = "merchant"
FINANCE = "finance"
COMPLIANCE = "compliance"
ADMIN = "admin"

ALL_ROLES = frozenset({MERCHANT, FINANCE, COMPLIANCE, ADMIN})


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: str
    account_id: str | None
    """The account the request acts on: the merchant's own, or a platform key's Stripe-Account."""

    @property
    def idempotency_scope(self) -> str:
        return self.account_id or f"key:{self.key_id}"

    @property
    def is_platform(self) -> bool:
        return self.role != MERCHANT

    def require_account(self) -> str:
        if self.account_id is None:
            raise InvalidRequest(
                "This request acts on a merchant account: send the Stripe-Account header "
                "with a platform key.",
                param="Stripe-Account",
            )
        return self.account_id

    def owns(self, account_id: str | None) -> bool:
        """Whether an object of ``account_id`` is visible (merchants see only their own)."""
        if self.role == MERCHANT:
            return account_id == self.account_id
        return self.account_id is None or account_id == self.account_id


def roles(*names: str) -> dict[str, Any]:
    """Route option: ``@get(..., opt=roles(FINANCE, ADMIN))``."""
    unknown = set(names) - ALL_ROLES
    if unknown:  # pragma: no cover - programming error
        raise ValueError(f"unknown roles {unknown}")
    return {"roles": frozenset(names)}


PUBLIC: dict[str, Any] = {"public": True}


def _secret_from(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name.lower() != b"authorization":
            continue
        text = value.decode("latin-1").strip()
        scheme, _, credential = text.partition(" ")
        if scheme.lower() == "bearer":
            return credential.strip()
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credential.strip()).decode("utf-8")
            except Exception:
                return ""
            return decoded.split(":", 1)[0]
        return ""
    return None


def _mask(secret: str) -> str:
    return f"{secret[:8]}{'*' * 12}{secret[-4:]}" if len(secret) > 12 else "****"


def _header_account(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    return next(
        (v.decode("latin-1").strip() for n, v in headers if n.lower() == b"stripe-account"), None
    )


def _principal(
    key: KeyIdentity, header_account: str | None, session: Session | None
) -> Principal | None:
    """Who acts, and on which account; ``None`` if that needs ``session`` and there is none."""
    if key.role == MERCHANT:
        if header_account and header_account != key.account_id:
            raise Forbidden(
                f"The provided key does not have access to account '{header_account}' "
                "(or that account does not exist)."
            )
        return Principal(key.id, key.role, key.account_id)
    if header_account:
        if session is None:
            return None
        if get_account(session, header_account) is None:
            raise Forbidden(
                f"The provided key does not have access to account '{header_account}' "
                "(or that account does not exist)."
            )
        return Principal(key.id, key.role, header_account)
    return Principal(key.id, key.role, None)


def remembered_principal(headers: list[tuple[bytes, bytes]]) -> Principal | None:
    """The principal of a key identified moments ago, when no account has to be read
    for it; ``None`` means :func:`authenticate_request` must answer (with the database).
    Most requests are answered here, without a transaction or a thread."""
    secret = _secret_from(headers)
    key = remembered(secret) if secret else None
    return None if key is None else _principal(key, _header_account(headers), None)


def authenticate_request(session: Session, headers: list[tuple[bytes, bytes]]) -> Principal:
    secret = _secret_from(headers)
    if not secret:
        raise AuthenticationFailed(
            "You did not provide an API key. Provide it in the Authorization header "
            "(Authorization: Bearer YOUR_SECRET_KEY)."
        )
    key = identify(session, secret)
    if key is None:
        raise AuthenticationFailed(f"Invalid API Key provided: {_mask(secret)}")
    principal = _principal(key, _header_account(headers), session)
    assert principal is not None  # a session was given
    return principal


def is_public(path: str, opt: dict[str, Any]) -> bool:
    """Public routes: health, the OpenAPI document, and provider webhooks (they sign instead)."""
    return bool(opt.get("public")) or path == "/schema" or path.startswith("/schema/")


def role_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The one guard on every route (installed app-wide)."""
    if is_public(connection.url.path, handler.opt):
        return
    allowed = handler.opt.get("roles")
    if not allowed:
        raise Forbidden("This route has no access rule and is closed.")
    principal = connection.scope.get("state", {}).get("principal")
    if principal is None:  # pragma: no cover - the unit of work authenticates first
        raise ApiError("Not authenticated.", status=401)
    if principal.role not in allowed:
        raise Forbidden(
            f"The {principal.role} role cannot use {connection.method} {connection.url.path}."
        )

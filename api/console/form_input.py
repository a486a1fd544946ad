"""Reading what a console form sent, whatever way it came.

The API's unit of work decodes every urlencoded body (Stripe's bracket notation
included) into ``scope["state"]["params"]`` before a handler runs; multipart bodies
(file uploads) pass through untouched and are read with Litestar's form parser. Values
arrive as text; the helpers here turn them into what the domain wants, refusing rather
than guessing (an amount in major units is parsed with the currency's exponent).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request

from core.money import AmountError, CurrencyError, parse_major

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class FormProblem(ValueError):
    """A field that cannot be used as sent; ``field`` names it for the page."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def params_of(request: Request[Any, Any, Any]) -> Mapping[str, Any]:
    """The decoded urlencoded body (empty for GET and for multipart bodies)."""
    params = request.scope.get("state", {}).get("params")
    if not isinstance(params, dict) or set(params) == {"sha256"}:
        return {}
    return params


def text(params: Mapping[str, Any], name: str, *, max_length: int = 2000) -> str | None:
    """A stripped single value, ``None`` when absent or blank."""
    value = params.get(name)
    if isinstance(value, list):
        value = value[-1] if value else None
    if value is None:
        return None
    value = str(value).strip()
    if len(value) > max_length:
        raise FormProblem(name, f"{name} is longer than {max_length} characters")
    return value or None


def required(params: Mapping[str, Any], name: str, *, max_length: int = 2000) -> str:
    value = text(params, name, max_length=max_length)
    if value is None:
        raise FormProblem(name, f"{name} is required")
    return value


def minor_amount(params: Mapping[str, Any], name: str, currency: str) -> int | None:
    """An amount typed in major units (``12.34``) as integer minor units of ``currency``."""
    value = text(params, name, max_length=40)
    if value is None:
        return None
    try:
        amount = parse_major(value.replace(",", "").replace(" ", ""), currency)
    except (AmountError, CurrencyError, ValueError) as exc:
        raise FormProblem(name, str(exc)) from exc
    if amount <= 0:
        raise FormProblem(name, f"{name} must be positive")
    return amount


async def csrf_presented(request: Request[Any, Any, Any]) -> str | None:
    """The CSRF token a POST carried: the htmx header, else the form field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    value = params_of(request).get(CSRF_FIELD)
    if isinstance(value, str):
        return value
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        field = form.get(CSRF_FIELD)
        return field if isinstance(field, str) else None
    return None

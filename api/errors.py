"""Stripe's error envelope for every failure the API can produce.

``{"error": {"type", "code", "message", "param", "decline_code"?}}`` with Stripe's status
codes, so each official SDK raises its typed exception (``InvalidRequestError``,
``CardError``, ``IdempotencyError`` ...). Nothing else ever leaves the API: unknown
routes, wrong methods, malformed bodies and internal errors all take this shape, and an
internal error shows a request id, never a stack trace.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)

from core.database import is_retryable
from core.money import AmountError, CurrencyError

log = logging.getLogger("corridor.api")


class ApiError(Exception):
    """An error a client can act on, rendered in Stripe's envelope."""

    status = 400
    type = "invalid_request_error"
    code: str | None = None
    headers: dict[str, str] = {}  # noqa: RUF012 - never mutated; instances assign their own
    """Extra response headers (``Retry-After`` on 429)."""

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        decline_code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        keep_changes: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:  # else the class's own code (RateLimited: rate_limit)
            self.code = code
        self.decline_code = decline_code
        if status is not None:
            self.status = status
        self.extra = extra or {}
        self.keep_changes = keep_changes
        """Commit what the request changed before failing (e.g. a declined confirm)."""

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        if self.decline_code:
            error["decline_code"] = self.decline_code
        error.update(self.extra)
        return {"error": error}


class InvalidRequest(ApiError):
    pass


class NotFound(ApiError):
    status = 404

    def __init__(self, kind: str, object_id: str, *, param: str = "id") -> None:
        super().__init__(
            f"No such {kind}: '{object_id}'", param=param, code="resource_missing", status=404
        )


class CardError(ApiError):
    status = 402
    type = "card_error"


class AuthenticationFailed(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403
    type = "invalid_request_error"


class IdempotencyError(ApiError):
    type = "idempotency_error"


class Conflict(ApiError):
    status = 409


class RateLimited(ApiError):
    status = 429
    code = "rate_limit"


def unexpected_state(kind: str, status: str, action: str, param: str | None = None) -> ApiError:
    return InvalidRequest(
        f"This {kind}'s status is {status}, but you can only {action} it from another status.",
        code=f"{kind.replace(' ', '_')}_unexpected_state",
        param=param,
    )


# --- translating other exceptions -------------------------------------------------------

_DOMAIN_ERRORS: list[tuple[type[BaseException], Callable[[Any], ApiError]]] = []


def translate(
    exc_type: type[BaseException],
) -> Callable[[Callable[[Any], ApiError]], Callable[[Any], ApiError]]:
    """Register how a domain exception becomes an API error (domains never import api)."""

    def register(fn: Callable[[Any], ApiError]) -> Callable[[Any], ApiError]:
        _DOMAIN_ERRORS.append((exc_type, fn))
        return fn

    return register


@translate(CurrencyError)
def _currency_error(exc: CurrencyError) -> ApiError:
    """A currency code reaches the domain only from a client: refuse it, never a 500."""
    return InvalidRequest(f"Invalid currency: {exc}.", code="parameter_invalid")


@translate(AmountError)
def _amount_error(exc: AmountError) -> ApiError:
    return InvalidRequest(f"Invalid amount: {exc}.", code="parameter_invalid")


def as_api_error(exc: BaseException) -> ApiError | None:
    if isinstance(exc, ApiError):
        return exc
    for exc_type, fn in _DOMAIN_ERRORS:
        if isinstance(exc, exc_type):
            return fn(exc)
    return None


_PATH_SEGMENT = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def param_from_path(path: str) -> str:
    """msgspec's ``$.metadata.order`` / ``$.items[0].price`` -> Stripe's ``metadata[order]``."""
    path = path.removeprefix("$")
    parts = [
        m.group(1) if m.group(1) is not None else m.group(2) for m in _PATH_SEGMENT.finditer(path)
    ]
    if not parts:
        return path.strip(".") or ""
    return parts[0] + "".join(f"[{p}]" for p in parts[1:])


_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
_AT_PATH = re.compile(r" - at `([^`]+)`$")


def _from_validation(exc: ValidationException) -> ApiError:
    extra = exc.extra if isinstance(exc.extra, list) else []
    detail = str(exc.detail or "")
    if not extra:
        if "malformed" in detail.lower() or "decode" in detail.lower():
            return InvalidRequest(
                "Invalid request body: it could not be parsed.", code="parameter_invalid"
            )
        return InvalidRequest(detail or "Invalid request.", code="parameter_invalid")
    first = extra[0] if isinstance(extra[0], dict) else {"message": str(extra[0])}
    message = str(first.get("message", detail))
    key = str(first.get("key") or "")
    source = first.get("source")
    unknown = _UNKNOWN_FIELD.search(message)
    at_path = _AT_PATH.search(message)
    if at_path:
        message = message[: at_path.start()]
        key = ".".join(
            filter(
                None, [key, param_from_path(at_path.group(1)).replace("[", ".").replace("]", "")]
            )
        )

    def within(name: str) -> str:
        """``name`` inside the object at ``key`` (``business_profile[name]``)."""
        parent = key if key not in ("data", "body") else ""
        return param_from_path("$." + ".".join(filter(None, [parent, name])))

    if unknown:
        param = within(unknown.group(1))
        return InvalidRequest(
            f"Received unknown parameter: {param}", param=param, code="parameter_unknown"
        )
    missing = _MISSING_FIELD.search(message)
    if missing:
        param = within(missing.group(1))
        return InvalidRequest(
            f"Missing required param: {param}.", param=param, code="parameter_missing"
        )
    param = param_from_path("$." + key) if key and key not in ("data", "body") else None
    if source == "query" and key:
        # Query aliases of Python keywords are spelled with a trailing "_" (type_, format_).
        param = key.removesuffix("_")
    if "required" in message.lower() or "missing" in message.lower():
        return InvalidRequest(
            f"Missing required param: {param}.", param=param, code="parameter_missing"
        )
    if param:
        message = (
            f"Invalid {param}: {message[0].lower() + message[1:] if message else 'invalid value'}"
        )
    return InvalidRequest(message, param=param, code="parameter_invalid")


def _to_api_error(exc: BaseException) -> ApiError:
    api_error = as_api_error(exc)
    if api_error is not None:
        return api_error
    if isinstance(exc, ValidationException):
        return _from_validation(exc)
    if isinstance(exc, NotFoundException):
        return InvalidRequest("Unrecognized request URL.", status=404, code="resource_missing")
    if isinstance(exc, MethodNotAllowedException):
        return InvalidRequest("This method is not allowed on this URL.", status=405)
    if isinstance(exc, HTTPException):
        status = exc.status_code
        if status == 401:
            return AuthenticationFailed(str(exc.detail))
        if status == 403:
            return Forbidden(str(exc.detail))
        if status == 413:
            return InvalidRequest("The request body is too large.", status=413)
        if status == 415:
            return InvalidRequest(
                "Unsupported media type: send application/x-www-form-urlencoded "
                "or application/json.",
                status=415,
            )
        if status == 429:
            return RateLimited("Too many requests hit the API too quickly.", status=429)
        if status < 500:
            return InvalidRequest(str(exc.detail), status=status)
    return ApiError(
        "An internal error occurred. The request was not applied; it is safe to retry.",
        status=500,
    )


def error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    api_error = _to_api_error(exc)
    if api_error.status >= 500:
        api_error.type = "api_error"
        if is_retryable(exc):  # the unit of work runs the request again: not an error yet
            log.info("transaction lost a race on %s %s; retrying", request.method, request.url.path)
        else:
            log.error(
                "internal error on %s %s (request %s)",
                request.method,
                request.url.path,
                request.scope.get("state", {}).get("request_id"),
                exc_info=exc,
            )
    state = request.scope.setdefault("state", {})
    state["keep_changes"] = api_error.keep_changes
    state["exception"] = exc
    return Response(
        content=api_error.body(),
        status_code=api_error.status,
        media_type="application/json",
        headers=api_error.headers or None,
    )


def api_error_response(error: ApiError) -> Response[Any]:
    return Response(content=error.body(), status_code=error.status, media_type="application/json")

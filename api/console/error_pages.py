"""Failures on console routes become pages in the reader's language, never JSON.

The handler also records the exception where the API's unit of work looks for it, so
a transaction that lost a race (deadlock, serialization failure, busy SQLite) is rolled
back and the request runs again, exactly as for the JSON API; the page of an internal
error shows the request id and nothing of the exception.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException

from api.console.templating import page

log = logging.getLogger("corridor.console")


class CsrfRefused(PermissionDeniedException):
    """A POST without the session's CSRF token (or the sign-in form's)."""

    def __init__(self) -> None:
        super().__init__(detail="csrf")


class SectionClosed(PermissionDeniedException):
    """The signed-in role may not open this section."""

    def __init__(self, section: str) -> None:
        super().__init__(detail=f"section:{section}")


class NotYours(NotFoundException):
    """No such object — or one of another account, which a merchant must not learn of."""

    def __init__(self) -> None:
        super().__init__(detail="not found")


def error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    state = request.scope.setdefault("state", {})
    state["exception"] = exc
    state["keep_changes"] = False
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status >= 500:
        log.error(
            "console error on %s %s (request %s)",
            request.method,
            request.url.path,
            state.get("request_id"),
            exc_info=exc,
        )
    kind = "csrf" if isinstance(exc, CsrfRefused) else str(status)
    return page(
        request,
        "error.html",
        status=status,
        kind=kind,
        status_code=status,
        request_id=state.get("request_id"),
    )

"""What a handler receives: the request's session, the caller, and what it asked to expand."""

from __future__ import annotations

from typing import Any, TypeAlias

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.orm import Session

from api.auth import Principal


def _session(request: Request[Any, Any, Any]) -> Session:
    return request.scope["state"]["session"]


def _principal(request: Request[Any, Any, Any]) -> Principal:
    return request.scope["state"]["principal"]


def _expand(request: Request[Any, Any, Any]) -> list[str]:
    """``expand`` from the body, or the query in any of its spellings (``expand[]``,
    ``expand[0]``, ``expand``)."""
    from_body = request.scope["state"].get("expand") or []
    from_query = [
        value
        for key, value in request.query_params.multi_items()
        if key == "expand" or (key.startswith("expand[") and key.endswith("]"))
    ]
    return [str(item) for item in [*from_body, *from_query]]


SessionDep: TypeAlias = NamedDependency[Session]
PrincipalDep: TypeAlias = NamedDependency[Principal]
ExpandDep: TypeAlias = NamedDependency[list[str]]

DEPENDENCIES = {
    "session": Provide(_session, sync_to_thread=False),
    "principal": Provide(_principal, sync_to_thread=False),
    "expand": Provide(_expand, sync_to_thread=False),
}

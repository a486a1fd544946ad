"""Stripe's list envelope and cursor pagination (``limit``, ``starting_after``, ``ending_before``).

Lists are newest first, ordered by (created, id) so the order is total and stable even for
objects created in the same microsecond; a cursor is an object id, which must itself be
visible to the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session

from api.errors import InvalidRequest

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    limit: int
    starting_after: str | None
    ending_before: str | None


def page_params(
    limit: Annotated[int, QueryParameter(ge=1, le=100, description="1 to 100, default 10")] = 10,
    starting_after: Annotated[str | None, QueryParameter(max_length=255)] = None,
    ending_before: Annotated[str | None, QueryParameter(max_length=255)] = None,
) -> Page:
    # An empty cursor ("starting_after=") is no cursor, as in Stripe's API.
    starting_after, ending_before = starting_after or None, ending_before or None
    if starting_after and ending_before:
        raise InvalidRequest(
            "You may only specify one of these parameters: starting_after, ending_before.",
            param="ending_before",
        )
    return Page(limit, starting_after, ending_before)


PageDep = NamedDependency[Page]
PAGE = {"page": Provide(page_params, sync_to_thread=False)}
"""Route option ``dependencies=PAGE`` gives a handler ``page: PageDep``."""


def owned(column: Any, principal: Any) -> list[Any]:
    """Filters that keep a list to what the caller may see: its account's rows, or all of
    them for a platform key that names no account."""
    return [] if principal.account_id is None else [column == principal.account_id]


def paginate(
    session: Session,
    model: Any,
    query: Select[Any],
    page: Page,
    *,
    cursor_visible: Callable[[Any], bool],
) -> tuple[list[Any], bool]:
    """Rows of ``query`` (a ``select(model)`` with the caller's filters) for one page."""
    cursor_id = page.starting_after or page.ending_before
    key = tuple_(model.created, model.id)
    if cursor_id:
        cursor = session.get(model, cursor_id)
        param = "starting_after" if page.starting_after else "ending_before"
        if cursor is None or not cursor_visible(cursor):
            raise InvalidRequest(
                f"No such object: '{cursor_id}'", param=param, code="resource_missing"
            )
        bound = tuple_(cursor.created, cursor.id)
        query = query.where(key < bound if page.starting_after else key > bound)
    if page.ending_before:
        rows = list(session.scalars(query.order_by(model.created, model.id).limit(page.limit + 1)))
        has_more = len(rows) > page.limit
        return list(reversed(rows[: page.limit])), has_more
    rows = list(
        session.scalars(query.order_by(model.created.desc(), model.id.desc()).limit(page.limit + 1))
    )
    return rows[: page.limit], len(rows) > page.limit


def list_object(url: str, data: Sequence[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": list(data), "has_more": has_more, "url": url}


def list_of(
    session: Session,
    model: Any,
    page: Page,
    url: str,
    render: Callable[[Any], dict[str, Any]],
    *,
    where: Sequence[Any] = (),
    cursor_visible: Callable[[Any], bool] = lambda _row: True,
) -> dict[str, Any]:
    """The whole list response for a simple model: filter, page, render, envelope."""
    query = select(model)
    for condition in where:
        query = query.where(condition)
    rows, has_more = paginate(session, model, query, page, cursor_visible=cursor_visible)
    return list_object(url, [render(row) for row in rows], has_more)

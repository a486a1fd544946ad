"""``/health``: is this process able to serve? (no auth: load balancers call it)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from sqlalchemy import text

from api.auth import PUBLIC
from core.database import get_database


@get(
    "/health",
    opt={**PUBLIC, "admission": False},
    sync_to_thread=True,
    include_in_schema=True,
    tags=["operations"],
)
def health() -> Response[dict[str, Any]]:
    try:
        with get_database().transaction(write=False) as session:
            session.execute(text("SELECT 1"))
    except Exception:
        return Response({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return Response({"status": "ok", "database": "ok"}, status_code=200)

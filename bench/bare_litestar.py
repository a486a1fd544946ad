"""The baseline for ``bench/api.py``: one bare Litestar handler, nothing behind it.

Served by the same uvicorn, with the same number of worker processes, as the service,
so the ratio between the two isolates what Corridor adds per request (unit of work,
authentication, idempotency, the domain, PostgreSQL commits) from what the server stack
costs anyway.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, post


@post("/v1/bare", status_code=200, sync_to_thread=False)
def bare(data: dict[str, Any]) -> dict[str, Any]:
    return {"id": "bare_1", "object": "bare", "received": len(data)}


app = Litestar(route_handlers=[bare], debug=False)

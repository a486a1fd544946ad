"""Admission: one server process runs at most ``transactions_per_worker`` requests against
the database at once; the others wait their turn and then complete.

The unit of work's ``_run`` (the request's transaction) is wrapped to count how many run
at the same time, and holds its slot a little longer than it needs, so that every
request of the burst has arrived while the first ones still run.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import httpx
import pytest
from prometheus_client import REGISTRY

from api.unit_of_work import UnitOfWorkMiddleware
from tests.integrated_app import build_app, serving


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _burst(service: Any, merchant: Any, monkeypatch: Any, limit: int) -> tuple[int, list[int]]:
    """Send 8 requests at once to an app admitting ``limit``; (peak concurrency, statuses)."""
    app = build_app(service, transactions_per_worker=limit)
    running = peak = 0
    original = UnitOfWorkMiddleware._run

    async def counted(self: UnitOfWorkMiddleware, *args: Any, **kwargs: Any) -> Any:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await anyio.sleep(0.05)
            return await original(self, *args, **kwargs)
        finally:
            running -= 1

    monkeypatch.setattr(UnitOfWorkMiddleware, "_run", counted)
    headers = {"Authorization": f"Bearer {merchant.key}"}

    async def send_all(url: str) -> list[int]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            responses = await asyncio.gather(
                *(client.get("/v1/payment_intents", headers=headers) for _ in range(8))
            )
        return [response.status_code for response in responses]

    with serving(app) as url:
        statuses = asyncio.run(send_all(url))
    return peak, statuses


@pytest.mark.parametrize("limit", [1, 3])
def test_no_more_transactions_run_at_once_than_admitted(
    service: Any, merchant: Any, monkeypatch: Any, limit: int
) -> None:
    waits_before = _sample("corridor_admission_wait_seconds_count")
    slow_before = _sample("corridor_admission_wait_seconds_bucket", le="0.025")
    peak, statuses = _burst(service, merchant, monkeypatch, limit)
    assert statuses == [200] * 8, "every waiting request is served in its turn"
    assert peak == limit
    assert _sample("corridor_admission_wait_seconds_count") == waits_before + 8
    # Each admitted request holds its admission for at least 50 ms, so with 8 arriving
    # together at least 8 - limit of them waited longer than 25 ms.
    waited_long = 8 - (_sample("corridor_admission_wait_seconds_bucket", le="0.025") - slow_before)
    assert waited_long >= 8 - limit
    assert _sample("corridor_admission_waiting") == 0, "nobody is left counted as waiting"


def test_the_limit_is_what_holds_the_burst_back(
    service: Any, merchant: Any, monkeypatch: Any
) -> None:
    """With room for all eight, they do run together: the test above is not vacuous."""
    peak, statuses = _burst(service, merchant, monkeypatch, 8)
    assert statuses == [200] * 8
    assert peak > 3


def test_probes_do_not_queue_behind_transactions(
    service: Any, merchant: Any, monkeypatch: Any
) -> None:
    """/health answers while every admission is taken and requests wait for one."""
    app = build_app(service, transactions_per_worker=1)
    finished: list[str] = []
    original = UnitOfWorkMiddleware._run

    async def slow(self: UnitOfWorkMiddleware, scope: Any, *args: Any, **kwargs: Any) -> Any:
        if scope["path"] != "/health":
            await anyio.sleep(0.2)
        return await original(self, scope, *args, **kwargs)

    monkeypatch.setattr(UnitOfWorkMiddleware, "_run", slow)
    headers = {"Authorization": f"Bearer {merchant.key}"}

    async def send_all(url: str) -> tuple[int, list[int]]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:

            async def get(path: str, with_headers: dict[str, str]) -> int:
                response = await client.get(path, headers=with_headers)
                finished.append(path)
                return response.status_code

            queued = [asyncio.create_task(get("/v1/payment_intents", headers)) for _ in range(4)]
            await asyncio.sleep(0.05)  # the first holds the one admission, three wait
            health = await get("/health", {})
            return health, list(await asyncio.gather(*queued))

    with serving(app) as url:
        health, statuses = asyncio.run(send_all(url))
    assert health == 200 and statuses == [200] * 4
    assert "/health" in finished[:2], f"/health waited its turn: {finished}"

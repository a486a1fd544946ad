"""Per-key rate limiting (``api/rate_limit.py``): the bucket, its stores, and the 429.

The bucket arithmetic runs on an injected clock; the Redis store runs against the real
Redis at 127.0.0.1:6379 (skipped when none is running); the 429 is checked over HTTP with
the official ``stripe`` SDK, which must raise its ``RateLimitError``.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from typing import Any

import httpx
import pytest
import stripe
from litestar.testing import TestClient
from prometheus_client import REGISTRY

from api import rate_limit
from api.keys import issue_key
from api.rate_limit import Bucket, MemoryStore, RateLimiter, RedisStore
from tests.integrated_app import build_app, serving

REDIS_URL = "redis://127.0.0.1:6379/14"


class Clock:
    """A settable clock for the bucket (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_refills_continuously_up_to_capacity() -> None:
    bucket = Bucket(0.0, 0.0)
    bucket, decision = bucket.take(0.0, capacity=60, per_second=1.0)
    assert not decision.allowed and decision.retry_after == 1
    bucket, decision = bucket.take(1.0, capacity=60, per_second=1.0)
    assert decision.allowed and bucket.tokens == 0.0
    bucket, _ = bucket.take(10_000.0, capacity=60, per_second=1.0)
    assert bucket.tokens == 59.0  # capped at 60, then one taken


def test_memory_store_allows_a_burst_then_refuses_with_retry_after() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    limiter = RateLimiter(6, store)  # 6 a minute: one token every 10 s
    assert [limiter.check("key_a").allowed for _ in range(6)] == [True] * 6
    refused = limiter.check("key_a")
    assert not refused.allowed and refused.retry_after == 10
    assert limiter.check("key_b").allowed, "buckets are per key"
    clock.now += 9.9
    assert not limiter.check("key_a").allowed
    clock.now += 0.2
    assert limiter.check("key_a").allowed
    assert not limiter.check("key_a").allowed


def test_memory_store_forgets_least_recently_used_keys_beyond_its_bound() -> None:
    store = MemoryStore(clock=Clock(), max_keys=3)
    for key in ("a", "b", "c", "d"):
        store.take(key, 1, 1 / 60)
    assert not store.take("d", 1, 1 / 60).allowed
    assert store.take("a", 1, 1 / 60).allowed, "a was evicted and comes back full"


def test_memory_store_never_admits_more_than_capacity_under_threads() -> None:
    store = MemoryStore(clock=Clock())
    allowed: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(50):
            decision = store.take("shared", 100, 1e-9)
            with lock:
                allowed.append(decision.allowed)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 100


def test_settings_choose_the_store() -> None:
    from core.settings import load_settings

    base = load_settings()
    assert rate_limit.from_settings(dataclasses.replace(base, rate_limit_per_minute=0)) is None
    memory = rate_limit.from_settings(
        dataclasses.replace(base, rate_limit_per_minute=5, broker_url=None)
    )
    assert isinstance(memory, RateLimiter) and isinstance(memory.store, MemoryStore)
    amqp = rate_limit.from_settings(
        dataclasses.replace(base, rate_limit_per_minute=5, broker_url="amqp://guest@localhost//")
    )
    assert amqp is not None and isinstance(amqp.store, MemoryStore)
    redis_backed = rate_limit.from_settings(
        dataclasses.replace(base, rate_limit_per_minute=5, broker_url=REDIS_URL)
    )
    assert redis_backed is not None and isinstance(redis_backed.store, RedisStore)


@pytest.fixture
def redis_store() -> Any:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    store = RedisStore(REDIS_URL)
    yield store
    store.close()


def test_redis_store_takes_tokens_atomically_across_threads(redis_store: RedisStore) -> None:
    key = f"test_{uuid.uuid4().hex}"
    results: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(25):
            decision = redis_store.take(key, 40, 1e-6)  # refill negligible during the test
            with lock:
                results.append(decision.allowed)

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 40 and len(results) == 150
    refused = redis_store.take(key, 40, 1e-6)
    assert not refused.allowed and refused.retry_after >= 1


def test_redis_store_refills_and_expires(redis_store: RedisStore) -> None:
    import redis

    key = f"test_{uuid.uuid4().hex}"
    assert redis_store.take(key, 1, 1000.0).allowed  # 1000 tokens a second
    ttl = redis.Redis.from_url(REDIS_URL).pttl(rate_limit.KEY_PREFIX + key)
    assert 0 < ttl <= 1001, "an idle bucket expires once it would be full again"


def test_an_unreachable_redis_admits_and_counts_the_error() -> None:
    store = RedisStore("redis://127.0.0.1:1/0", timeout=0.2)
    name = "corridor_rate_limit_store_errors_total"
    before = REGISTRY.get_sample_value(name) or 0.0
    assert store.take("anyone", 1, 1.0).allowed
    assert REGISTRY.get_sample_value(name) == before + 1


# --- over HTTP ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited_app(service: Any) -> Any:
    return build_app(service, rate_limit_per_minute=3)


def _merchant_key(service: Any) -> str:
    from core.accounts import open_account

    with service.db.transaction() as session:
        account = open_account(
            session, business_name="Rate GmbH", country="DE", default_currency="EUR"
        )
        return issue_key(session, "merchant", account.id, "rate limit").secret


def test_the_fourth_request_in_a_minute_gets_429_in_the_error_envelope(
    service: Any, limited_app: Any
) -> None:
    key, other = _merchant_key(service), _merchant_key(service)
    with TestClient(limited_app) as client:
        auth = {"Authorization": f"Bearer {key}"}
        statuses = [client.get("/v1/payment_intents", headers=auth).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        refused = client.get("/v1/payment_intents", headers=auth)
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "rate_limit" and error["type"] == "invalid_request_error"
        assert 1 <= int(refused.headers["retry-after"]) <= 20
        assert refused.headers["request-id"].startswith("req_")
        other_auth = {"Authorization": f"Bearer {other}"}
        assert client.get("/v1/payment_intents", headers=other_auth).status_code == 200


def test_a_refused_post_does_not_use_up_its_idempotency_key(service: Any) -> None:
    key = _merchant_key(service)
    app = build_app(service, rate_limit_per_minute=60)  # one token a second
    headers = {"Authorization": f"Bearer {key}"}
    body = {"amount": 500, "currency": "eur"}
    with TestClient(app) as client:
        while client.get("/v1/payment_intents", headers=headers).status_code != 429:
            pass
        idem = {**headers, "Idempotency-Key": uuid.uuid4().hex}
        refused = client.post("/v1/payment_intents", json=body, headers=idem)
        assert refused.status_code == 429
        time.sleep(int(refused.headers["retry-after"]) + 0.1)
        created = client.post("/v1/payment_intents", json=body, headers=idem)
        assert created.status_code == 200, created.text
        assert "idempotent-replayed" not in created.headers
        assert created.json()["amount"] == 500


def test_the_stripe_sdk_raises_its_rate_limit_error(service: Any, limited_app: Any) -> None:
    key = _merchant_key(service)
    with serving(limited_app) as url:
        client = stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=0)
        for _ in range(3):
            client.v1.payment_intents.list()
        with pytest.raises(stripe.RateLimitError) as raised:
            client.v1.payment_intents.list()
        assert raised.value.json_body["error"]["code"] == "rate_limit"
        assert httpx.get(f"{url}/health").status_code == 200, "public routes are not limited"

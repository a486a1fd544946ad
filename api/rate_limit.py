"""Per-key rate limiting: a token bucket per API key, answered with 429 and Retry-After.

Each key owns a bucket holding up to ``CORRIDOR_RATE_LIMIT_PER_MINUTE`` tokens that
refills continuously at that rate; every authenticated request takes one token, and a
request finding the bucket empty is refused with Stripe's ``rate_limit`` error and
``Retry-After`` (whole seconds until a token is back). A bucket, unlike a fixed window,
allows a short burst without letting a client double its rate across a window edge.

Where the buckets live:

* one process (the embedded default): :class:`MemoryStore`, a dict under a lock;
* several API processes sharing a Redis broker (``CORRIDOR_BROKER_URL=redis://...``):
  :class:`RedisStore`, where one Lua script reads, refills, takes and writes the bucket
  atomically with Redis' own clock, so all processes share one bucket per key and clock
  skew between API hosts does not matter.

If Redis cannot be reached the request is admitted (and the failure logged and counted):
the limiter protects capacity, and refusing every request because its store is down
would turn a Redis outage into an API outage. Authentication does not depend on it.

The unit of work calls :meth:`RateLimiter.admit` right after authenticating a request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import anyio

from api.errors import RateLimited
from core.settings import Settings

log = logging.getLogger("corridor.rate_limit")

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
KEY_PREFIX = "corridor:rate:"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int
    """Whole seconds until a token is available (0 when allowed)."""


@dataclass(frozen=True)
class Bucket:
    """The pure arithmetic of one bucket: ``tokens`` at time ``at`` (seconds)."""

    tokens: float
    at: float

    def take(self, now: float, capacity: float, per_second: float) -> tuple[Bucket, Decision]:
        elapsed = max(0.0, now - self.at)
        tokens = min(capacity, self.tokens + elapsed * per_second)
        if tokens >= 1.0:
            return Bucket(tokens - 1.0, now), Decision(True, 0)
        wait = math.ceil((1.0 - tokens) / per_second)
        return Bucket(tokens, now), Decision(False, max(1, wait))


class Store(Protocol):
    blocking: bool
    """Whether :meth:`take` does I/O (and so runs in a worker thread)."""

    def take(self, key: str, capacity: int, per_second: float) -> Decision: ...


class MemoryStore:
    """Buckets in this process; the least recently used are forgotten beyond ``max_keys``.

    A forgotten bucket comes back full, which only ever errs towards admitting.
    """

    blocking = False

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, capacity: int, per_second: float) -> Decision:
        now = self._clock()
        with self._lock:
            bucket = self._buckets.pop(key, None) or Bucket(float(capacity), now)
            bucket, decision = bucket.take(now, float(capacity), per_second)
            self._buckets[key] = bucket
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        return decision


# KEYS[1] bucket; ARGV[1] capacity (tokens), ARGV[2] refill (tokens per millisecond).
# Returns {allowed (0/1), milliseconds until a token is available}.
TAKE_SCRIPT = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
local elapsed = now - at
if elapsed < 0 then elapsed = 0 end
tokens = math.min(capacity, tokens + elapsed * per_ms)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / per_ms)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / per_ms) + 1000)
return {allowed, wait}
"""


class RedisStore:
    """Buckets in Redis, shared by every API process (see the module docstring)."""

    blocking = True

    def __init__(self, url: str, *, timeout: float = 0.25) -> None:
        import redis

        self._errors = (redis.RedisError, OSError)
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._script = self._client.register_script(TAKE_SCRIPT)
        self._last_warning = 0.0

    def take(self, key: str, capacity: int, per_second: float) -> Decision:
        try:
            allowed, wait_ms = self._script(
                keys=[KEY_PREFIX + key], args=[capacity, repr(per_second / 1000.0)]
            )
        except self._errors as exc:
            from api.metrics import RATE_LIMIT_STORE_ERRORS

            RATE_LIMIT_STORE_ERRORS.inc()
            now = time.monotonic()
            if now - self._last_warning > 60:
                self._last_warning = now
                log.warning("rate limit store unreachable, admitting requests: %s", exc)
            return Decision(True, 0)
        if int(allowed):
            return Decision(True, 0)
        return Decision(False, max(1, math.ceil(int(wait_ms) / 1000)))

    def close(self) -> None:
        self._client.close()


class RateLimitExceeded(RateLimited):
    """429 in Stripe's envelope (``code: rate_limit``) with ``Retry-After``."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many requests hit the API too quickly with this key. "
            f"Retry after {retry_after} second{'s' if retry_after != 1 else ''}.",
            code="rate_limit",
        )
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class RateLimiter:
    """``per_minute`` requests per key, in bursts of up to ``per_minute``."""

    def __init__(self, per_minute: int, store: Store) -> None:
        if per_minute < 1:
            raise ValueError("a rate limiter needs a positive rate; 0 means no limiter")
        self.per_minute = per_minute
        self.store = store

    def check(self, key_id: str) -> Decision:
        return self.store.take(key_id, self.per_minute, self.per_minute / 60.0)

    async def admit(self, key_id: str, role: str = "") -> None:
        """Take a token for ``key_id`` or raise :class:`RateLimitExceeded`."""
        if self.store.blocking:
            decision = await anyio.to_thread.run_sync(self.check, key_id)
        else:
            decision = self.check(key_id)
        if not decision.allowed:
            from api.metrics import RATE_LIMITED

            RATE_LIMITED.labels(role=role or "unknown").inc()
            raise RateLimitExceeded(decision.retry_after)


def from_settings(settings: Settings) -> RateLimiter | None:
    """The configured limiter: none at 0, Redis-backed with a Redis broker, else in memory."""
    if settings.rate_limit_per_minute <= 0:
        return None
    broker = settings.broker_url or ""
    store: Store = RedisStore(broker) if broker.startswith(REDIS_SCHEMES) else MemoryStore()
    return RateLimiter(settings.rate_limit_per_minute, store)

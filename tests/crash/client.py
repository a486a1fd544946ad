"""A client that keeps asking until it gets an answer: the checkout's side of a crash.

Every write carries an ``Idempotency-Key`` and is sent again, with the same key and the
same body, after a connection error, a timeout, a 5xx or a 409 (the key is still held
by a request the crash interrupted), until Corridor acknowledges it (2xx) or refuses it
for good (any other 4xx). A 402 decline is an answer too: Corridor committed the
declined attempt. Merchants speak through the official ``stripe`` SDK, finance through
httpx; both are classified the same way.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import stripe

RETRY_STATUSES = frozenset({409, 500, 502, 503, 504})


class Refused(Exception):
    """A definitive answer that is not a success: the server changed nothing."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(f"{status}: {error.get('code') or error.get('type')}")
        self.status = status
        self.error = error


class Declined(Exception):
    """402: the attempt was declined and recorded (the intent exists, unpaid)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("decline_code") or error.get("code"))
        self.error = error


class GaveUp(Exception):
    """No definitive answer before the deadline: the operation's fate is unknown."""


class _Retry(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Stats:
    operations: int = 0
    acknowledged: int = 0
    refused: int = 0
    declined: int = 0
    gave_up: int = 0
    retries: Counter[str] = field(default_factory=Counter)
    idempotent_replays: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def retried(self, reason: str) -> None:
        with self.lock:
            self.retries[reason] += 1


def _stripe_outcome(exc: stripe.StripeError) -> Exception:
    status = exc.http_status or 0
    body = exc.json_body if isinstance(exc.json_body, dict) else {}
    error = body.get("error") or {}
    if isinstance(exc, stripe.APIConnectionError) or status == 0:
        return _Retry("connection")
    if status in RETRY_STATUSES:
        return _Retry(str(status))
    if status == 402:
        return Declined(error)
    return Refused(status, error)


class Client:
    """One per thread: a stripe client per key and an httpx client, sharing ``stats``."""

    def __init__(self, base_url: str, stats: Stats, *, deadline: float = 300.0) -> None:
        self.base_url = base_url
        self.stats = stats
        self.deadline = deadline
        self._stripe: dict[str, stripe.StripeClient] = {}
        self._http = httpx.Client(base_url=base_url, timeout=httpx.Timeout(30.0))

    def stripe(self, key: str) -> stripe.StripeClient:
        if key not in self._stripe:
            self._stripe[key] = stripe.StripeClient(
                key,
                base_addresses={"api": self.base_url},
                max_network_retries=0,
                http_client=stripe.RequestsClient(timeout=30),
            )
        return self._stripe[key]

    def close(self) -> None:
        self._http.close()

    def until_answered(self, send: Callable[[], Any]) -> Any:
        """Send until acknowledged; raise :class:`Refused`, :class:`Declined` or
        :class:`GaveUp` otherwise. Retries sleep with jittered exponential backoff."""
        self.stats.add(operations=1)
        started = time.monotonic()
        delay = 0.1
        while True:
            try:
                result = send()
            except stripe.StripeError as exc:
                outcome = _stripe_outcome(exc)
            except (Refused, Declined, _Retry) as exc:
                outcome = exc
            except httpx.TransportError:
                outcome = _Retry("connection")
            else:
                self.stats.add(acknowledged=1)
                return result
            if isinstance(outcome, Declined):
                self.stats.add(declined=1)
                raise outcome
            if isinstance(outcome, Refused):
                self.stats.add(refused=1)
                raise outcome
            assert isinstance(outcome, _Retry)
            self.stats.retried(outcome.reason)
            if time.monotonic() - started > self.deadline:
                self.stats.add(gave_up=1)
                raise GaveUp(outcome.reason)
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)

    # --- the two dialects ------------------------------------------------------------------

    def sdk(self, key: str, call: Callable[[stripe.StripeClient], Any]) -> dict[str, Any]:
        """A merchant call through the SDK; returns the object as a plain dict."""

        def send() -> dict[str, Any]:
            obj = call(self.stripe(key))
            response = obj.last_response
            if response is not None and response.headers.get("Idempotent-Replayed") == "true":
                self.stats.add(idempotent_replays=1)
            return obj.to_dict()

        return self.until_answered(send)

    def provider(self, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        """A provider's signed notification, sent again (the same bytes) until a 2xx."""
        return self.http(None, "POST", path, headers=headers, content=body)

    def http(
        self,
        key: str | None,
        method: str,
        path: str,
        *,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        headers = dict(headers or {})
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key

        def send() -> dict[str, Any]:
            response = self._http.request(method, path, headers=headers, **kw)
            if response.status_code in RETRY_STATUSES:
                raise _Retry(str(response.status_code))
            try:
                body = response.json()
            except ValueError:
                raise _Retry(f"unparsable {response.status_code}") from None
            if response.status_code == 402:
                raise Declined(body.get("error") or {})
            if response.status_code >= 400:
                raise Refused(response.status_code, body.get("error") or {})
            if response.headers.get("Idempotent-Replayed") == "true":
                self.stats.add(idempotent_replays=1)
            return body

        return self.until_answered(send)

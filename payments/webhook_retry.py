"""When to try an outbound webhook delivery again, and when to give up.

Stripe retries a failed delivery with exponential backoff for up to three days. This
schedule does the same, purely: the delay doubles from ``base`` up to ``cap``; each
delay is spread by jitter (so endpoints that failed together do not all retry in the
same second), and no attempt is scheduled more than ``window`` after the first one.
With the defaults that is about fifteen attempts: 1, 2, 4, ... minutes, then every
12 hours until 72 hours have passed.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetrySchedule:
    base: dt.timedelta = dt.timedelta(minutes=1)
    cap: dt.timedelta = dt.timedelta(hours=12)
    window: dt.timedelta = dt.timedelta(days=3)
    jitter: float = 0.2
    """Each delay is multiplied by a factor drawn from [1 - jitter, 1 + jitter]."""

    def __post_init__(self) -> None:
        if self.base <= dt.timedelta(0) or self.cap < self.base:
            raise ValueError("need 0 < base <= cap")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def delay(self, attempt: int, rng: random.Random | None = None) -> dt.timedelta:
        """The wait after failed attempt number ``attempt`` (1 = the first delivery)."""
        if attempt < 1:
            raise ValueError("attempts are numbered from 1")
        # Double from base; stop doubling once past the cap (no huge exponents).
        nominal = self.base
        for _ in range(attempt - 1):
            if nominal >= self.cap:
                break
            nominal *= 2
        nominal = min(nominal, self.cap)
        if self.jitter == 0:
            return nominal
        factor = (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
        return nominal * factor

    def next_attempt_at(
        self,
        attempt: int,
        now: dt.datetime,
        *,
        first_attempt_at: dt.datetime,
        rng: random.Random | None = None,
    ) -> dt.datetime | None:
        """When to try again after failed attempt ``attempt``; ``None`` means give up.

        Retries stop once the next attempt would fall outside ``window`` from the
        first attempt, so an event is retried for up to three days and never longer.
        """
        if now.tzinfo is None or first_attempt_at.tzinfo is None:
            raise ValueError("use timezone-aware datetimes")
        at = now + self.delay(attempt, rng)
        if at - first_attempt_at > self.window:
            return None
        return at


DEFAULT_SCHEDULE = RetrySchedule()


def next_attempt_at(
    attempt: int,
    now: dt.datetime,
    *,
    first_attempt_at: dt.datetime,
    rng: random.Random | None = None,
) -> dt.datetime | None:
    """:meth:`RetrySchedule.next_attempt_at` on the default (Stripe-like) schedule."""
    return DEFAULT_SCHEDULE.next_attempt_at(
        attempt, now, first_attempt_at=first_attempt_at, rng=rng
    )

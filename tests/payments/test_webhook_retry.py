"""The outbound webhook retry schedule."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from payments.webhook_retry import DEFAULT_SCHEDULE, RetrySchedule, next_attempt_at

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def test_delays_double_then_cap_without_jitter() -> None:
    schedule = RetrySchedule(jitter=0)
    delays = [schedule.delay(n) for n in range(1, 14)]
    assert delays[:10] == [MIN * 2**k for k in range(10)]
    assert delays[10:] == [dt.timedelta(hours=12)] * 3
    assert schedule.delay(10_000) == dt.timedelta(hours=12)


def test_jitter_stays_within_its_band_and_varies() -> None:
    rng = random.Random(7)
    seen = set()
    for attempt in range(1, 16):
        nominal = RetrySchedule(jitter=0).delay(attempt)
        got = DEFAULT_SCHEDULE.delay(attempt, rng)
        assert nominal * 0.8 <= got <= nominal * 1.2
        seen.add(got / nominal)
    assert len(seen) > 10


def test_a_failing_endpoint_is_retried_for_three_days_then_given_up() -> None:
    rng = random.Random(42)
    now, attempt, attempts = T0, 1, [T0]
    while (at := next_attempt_at(attempt, now, first_attempt_at=T0, rng=rng)) is not None:
        assert at > now
        attempts.append(at)
        now, attempt = at, attempt + 1
    assert attempts[-1] - T0 <= dt.timedelta(days=3)
    assert attempts[-1] - T0 > dt.timedelta(days=2)
    assert 12 <= len(attempts) <= 20
    # the next one would have been past the window
    assert attempts[-1] + RetrySchedule(jitter=0).delay(attempt) * 0.8 - T0 > dt.timedelta(days=3)


def test_first_retries_come_quickly() -> None:
    first = next_attempt_at(1, T0, first_attempt_at=T0, rng=random.Random(1))
    assert first is not None and first - T0 <= dt.timedelta(minutes=2)


def test_refuses_naive_datetimes_and_bad_parameters() -> None:
    naive = dt.datetime(2026, 1, 1)
    with pytest.raises(ValueError):
        next_attempt_at(1, naive, first_attempt_at=T0)
    with pytest.raises(ValueError):
        DEFAULT_SCHEDULE.delay(0)
    with pytest.raises(ValueError):
        RetrySchedule(jitter=1.5)
    with pytest.raises(ValueError):
        RetrySchedule(base=dt.timedelta(hours=2), cap=dt.timedelta(hours=1))

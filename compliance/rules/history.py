"""What the velocity, structuring and refund rules ask of the past.

Rules do not query anything themselves: they *plan* :class:`WindowQuery` values, the
engine hands the whole batch to a :class:`History` at once (one round trip per key on
a database), and the rules then judge the answers. That keeps the rules pure and lets
the same rule run on the database store, on an in-memory replay for a dry run, or on
figures a test writes down.

A window is the half-open interval ``(start, end]``: an observation exactly ``window``
old has left it, one at ``end`` is in it. The payment being evaluated is excluded by
``exclude_ref`` so re-evaluating a recorded payment (dry run) does not count it twice.

Long windows (a merchant account over 30 days) would mean reading every payment in them
on every new payment. :func:`plan_window` splits such a window into whole hour buckets,
read from running per-hour totals, plus the two partial hours at its edges, read from
the observations themselves, so the answer stays exact and its cost stays bounded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

OBSERVATION_KINDS = ("payment", "refund")


@dataclass(frozen=True)
class WindowQuery:
    key: str
    """One of ``payer``, ``card``, ``email``, ``ip``, ``account``."""
    value: str
    kind: str
    start: dt.datetime
    end: dt.datetime
    exclude_ref: str | None = None
    min_amount: int | None = None
    """Only observations with base amount ``>= min_amount`` (inclusive)."""
    max_amount: int | None = None
    """Only observations with base amount ``< max_amount`` (exclusive)."""


BUCKET = dt.timedelta(hours=1)
"""Width of the running totals kept per key (UTC hours)."""
_TICK = dt.timedelta(microseconds=1)
"""Timestamp resolution on every backend; turns ``t < x`` into ``t <= x - 1 tick`` exactly."""


def bucket_of(moment: dt.datetime) -> dt.datetime:
    """The UTC hour an observation's running total is kept under."""
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class WindowPlan:
    raw: tuple[tuple[dt.datetime, dt.datetime], ...]
    """``(a, b]`` ranges to read from the observations."""
    buckets: tuple[dt.datetime, dt.datetime] | None
    """First and last whole hour bucket (inclusive) to read from the running totals."""


def plan_window(start: dt.datetime, end: dt.datetime, *, min_buckets: int = 3) -> WindowPlan:
    """Split ``(start, end]`` into whole hour buckets plus raw edges, when that saves reading.

    A bucket ``b`` (holding ``[b, b + 1h)``) is wholly inside the window iff
    ``start < b`` and ``b + 1h <= end``. The edges ``(start, first)`` and
    ``[last + 1h, end]`` are expressed as ``(a, b]`` ranges one tick apart.
    """
    first = bucket_of(start) + BUCKET
    last = bucket_of(end) - BUCKET
    if last < first or (last - first) // BUCKET + 1 < min_buckets:
        return WindowPlan(((start, end),), None)
    return WindowPlan(((start, first - _TICK), (last + BUCKET - _TICK, end)), (first, last))


@dataclass(frozen=True)
class WindowStats:
    count: int = 0
    total: int = 0
    """Sum of base amounts, minor units of the base currency."""


class History(Protocol):
    def fetch(self, queries: Sequence[WindowQuery]) -> Mapping[WindowQuery, WindowStats]: ...


@dataclass(frozen=True)
class Observation:
    """One payment or refund as the history remembers it."""

    ref: str
    kind: str
    occurred_at: dt.datetime
    base_amount: int
    keys: Mapping[str, str | None] = field(default_factory=dict)


def matches(query: WindowQuery, obs: Observation) -> bool:
    """The one definition of "in the window" that every History implementation follows."""
    return (
        obs.kind == query.kind
        and obs.keys.get(query.key) == query.value
        and query.start < obs.occurred_at <= query.end
        and (query.exclude_ref is None or obs.ref != query.exclude_ref)
        and (query.min_amount is None or obs.base_amount >= query.min_amount)
        and (query.max_amount is None or obs.base_amount < query.max_amount)
    )


class MemoryHistory:
    """A history held in memory: dry runs over a list of payments, and tests."""

    def __init__(self, observations: Iterable[Observation] = ()) -> None:
        self._observations: list[Observation] = list(observations)

    def add(self, observation: Observation) -> None:
        self._observations.append(observation)

    def fetch(self, queries: Sequence[WindowQuery]) -> dict[WindowQuery, WindowStats]:
        out: dict[WindowQuery, WindowStats] = {}
        for query in queries:
            hits = [o.base_amount for o in self._observations if matches(query, o)]
            out[query] = WindowStats(len(hits), sum(hits))
        return out

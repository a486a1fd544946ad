"""Window queries on the history store, in one statement per payment.

Every window of a batch becomes one or more parts: a range of raw observations read
from the key's covering index ``(key, kind, occurred_at, base_amount, ref)``, or a range
of whole-hour running totals (see :func:`~compliance.rules.history.plan_window`). All
parts go to the database as a single ``UNION ALL`` and are summed per window here. The SQL
text depends only on the *shape* of the batch (which keys and kinds, which amount bounds,
raw or bucket parts), so it is built once per shape and then reused: this check runs
before every authorisation. It runs unchanged on SQLite and PostgreSQL.

Running totals cannot leave out one payment or filter by amount, so windows with amount
bounds (structuring) read raw observations only, and the payment excluded by
``exclude_ref`` (a dry run re-evaluating a recorded payment) is subtracted from the
totals it is counted in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import TextClause, bindparam, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from core.database import UTCDateTime

from .context import HISTORY_KEYS
from .history import (
    OBSERVATION_KINDS,
    Observation,
    WindowQuery,
    WindowStats,
    bucket_of,
    matches,
    plan_window,
)
from .observations import ObservationBucket, ObservationRow

_RAW = ObservationRow.__tablename__
_TOTALS = ObservationBucket.__tablename__
# A part's shape: ("raw", key, has_min, has_max, has_exclude) or ("bucket",).
_PartShape = tuple[Any, ...]
_statements: dict[tuple[_PartShape, ...], TextClause] = {}
_MAX_PARTS = 200
"""Parts per statement (SQLite allows at most 500 terms in one compound SELECT)."""


_Part = tuple[_PartShape, dict[str, Any], int]
"""A part's shape, its parameter values, and the index of the window it counts for."""


class SqlHistory:
    """:class:`~compliance.rules.history.History` over ``compliance_observations``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def fetch(self, queries: Sequence[WindowQuery]) -> dict[WindowQuery, WindowStats]:
        queries = list(dict.fromkeys(queries))
        parts, bucketed = _parts(queries)
        counts = [0] * len(queries)
        totals = [0] * len(queries)
        for offset in range(0, len(parts), _MAX_PARTS):
            chunk = parts[offset : offset + _MAX_PARTS]
            params = {
                f"p{n}{name}": v
                for n, (_, values, _) in enumerate(chunk)
                for name, v in values.items()
            }
            statement = _statement(tuple(shape for shape, _, _ in chunk))
            for part, count, total in self.session.execute(statement, params):
                qi = chunk[int(part)][2]
                counts[qi] += int(count)
                totals[qi] += int(total)
        # The running totals also count the excluded payment: take it out again.
        excluded: dict[str, list[Observation]] = {}
        for qi, (first, last) in bucketed:
            q = queries[qi]
            if q.exclude_ref is None:
                continue
            if q.exclude_ref not in excluded:
                excluded[q.exclude_ref] = self._observations(q.exclude_ref)
            as_counted = replace(q, exclude_ref=None)
            for obs in excluded[q.exclude_ref]:
                if matches(as_counted, obs) and first <= bucket_of(obs.occurred_at) <= last:
                    counts[qi] -= 1
                    totals[qi] -= obs.base_amount
        return {q: WindowStats(counts[i], totals[i]) for i, q in enumerate(queries)}

    def _observations(self, ref: str) -> list[Observation]:
        table = ObservationRow.__table__
        rows = self.session.execute(
            # (kind, ref) is unique and indexed: at most one payment and one refund.
            select(table).where(table.c.kind.in_(OBSERVATION_KINDS), table.c.ref == ref)
        ).mappings()
        return [
            Observation(
                r["ref"],
                r["kind"],
                r["occurred_at"],
                r["base_amount"],
                {k: r[f"{k}_key"] for k in HISTORY_KEYS},
            )
            for r in rows
        ]


def _parts(
    queries: Sequence[WindowQuery],
) -> tuple[list[_Part], list[tuple[int, tuple[dt.datetime, dt.datetime]]]]:
    """Split every window into raw ranges and bucket ranges (windows with amount bounds: raw)."""
    parts: list[_Part] = []
    bucketed: list[tuple[int, tuple[dt.datetime, dt.datetime]]] = []
    for qi, q in enumerate(queries):
        if q.kind not in OBSERVATION_KINDS or q.key not in HISTORY_KEYS:
            raise ValueError(f"unknown history query {q.key!r}/{q.kind!r}")
        amounts = q.min_amount is not None or q.max_amount is not None
        plan = plan_window(q.start, q.end)
        for start, end in ((q.start, q.end),) if amounts else plan.raw:
            values: dict[str, Any] = {"v": q.value, "k": q.kind, "a": start, "b": end}
            if q.min_amount is not None:
                values["lo"] = q.min_amount
            if q.max_amount is not None:
                values["hi"] = q.max_amount
            if q.exclude_ref is not None:
                values["x"] = q.exclude_ref
            shape = ("raw", q.key, "lo" in values, "hi" in values, "x" in values)
            parts.append((shape, values, qi))
        if plan.buckets is not None and not amounts:
            first, last = plan.buckets
            values = {"key": q.key, "v": q.value, "k": q.kind, "a": first, "b": last}
            parts.append((("bucket",), values, qi))
            bucketed.append((qi, plan.buckets))
    return parts, bucketed


def _when(name: str) -> BindParameter[dt.datetime]:
    return bindparam(name, type_=UTCDateTime())


def _statement(shape: tuple[_PartShape, ...]) -> TextClause:
    """The ``UNION ALL`` for a batch shape; key names are checked against HISTORY_KEYS."""
    cached = _statements.get(shape)
    if cached is not None:
        return cached
    parts: list[str] = []
    binds: list[BindParameter[Any]] = []
    for n, part in enumerate(shape):
        if part[0] == "bucket":
            parts.append(
                f"SELECT {n} AS part, COALESCE(SUM(count), 0), COALESCE(SUM(total), 0)"
                f" FROM {_TOTALS} WHERE key = :p{n}key AND value = :p{n}v AND kind = :p{n}k"
                f" AND bucket >= :p{n}a AND bucket <= :p{n}b"
            )
        else:
            _, key, has_min, has_max, has_exclude = part
            if key not in HISTORY_KEYS:  # pragma: no cover - checked in fetch
                raise ValueError(key)
            where = (
                f"{key}_key = :p{n}v AND kind = :p{n}k"
                f" AND occurred_at > :p{n}a AND occurred_at <= :p{n}b"
            )
            if has_min:
                where += f" AND base_amount >= :p{n}lo"
            if has_max:
                where += f" AND base_amount < :p{n}hi"
            if has_exclude:
                where += f" AND ref <> :p{n}x"
            parts.append(
                f"SELECT {n} AS part, COUNT(*), COALESCE(SUM(base_amount), 0)"
                f" FROM {_RAW} WHERE {where}"
            )
        binds += [_when(f"p{n}a"), _when(f"p{n}b")]
    statement = text(" UNION ALL ".join(parts)).bindparams(*binds)
    if len(_statements) > 256:
        _statements.clear()
    _statements[shape] = statement
    return statement

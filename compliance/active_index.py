"""The process's screening index over the active sanctions snapshots.

Building an index over the full lists takes seconds (the OFAC SDN set alone about five on
one core); screening one name against it takes a fraction of a millisecond. So a process
builds it once and keeps it while the set of active snapshots stays the same. Every
screening first reads the active snapshot ids (one small indexed query): when a list load
has changed them, that screening rebuilds the index before answering, so no name is ever
screened against a superseded list, whichever process loaded the new one.

The cache is module-level and so shared by every thread of the process: API handlers, the
embedded worker, and tests that run the service in-process. A lock makes concurrent
callers wait for one build instead of each building its own; only the newest index is
kept (the full index holds a few hundred MB of tables).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.sanctions import EntryKind, ScreeningIndex, ScreeningResult
from compliance.sanctions.entry import BirthDate
from compliance.sanctions.snapshots import entry_of
from compliance.sanctions.tables import SanctionsEntry, SanctionsSnapshot
from core.database import utcnow


@dataclass(frozen=True)
class ActiveIndex:
    """An index and the exact snapshots it was built from."""

    snapshot_ids: tuple[str, ...]
    sources: tuple[str, ...]
    index: ScreeningIndex
    built_at: dt.datetime
    build_seconds: float
    _memo: dict[tuple[str, str | None, str | None], ScreeningResult] = field(
        default_factory=dict, repr=False, compare=False
    )

    def memoised(
        self, name: str, *, kind: EntryKind | str | None = None, country: str | None = None
    ) -> ScreeningResult:
        """``index.screen`` remembered per name, kind and country, for names screened over
        and over (a merchant's legal name on each of its payments). The index never changes,
        so neither does the answer."""
        key = (name, str(kind) if kind else None, country)
        found = self._memo.get(key)
        if found is None:
            found = self.index.screen(name, kind=kind, country=country)
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = found
        return found


_ACTIVE_IDS = (
    select(SanctionsSnapshot.id, SanctionsSnapshot.source)
    .where(SanctionsSnapshot.active_source.is_not(None))
    .order_by(SanctionsSnapshot.id)
)

_MEMO_LIMIT = 100_000
_lock = threading.Lock()
_current: ActiveIndex | None = None


def active_snapshots(session: Session) -> tuple[tuple[str, str], ...]:
    """``(snapshot id, source)`` of every active snapshot, in id order."""
    return tuple((row.id, row.source) for row in session.execute(_ACTIVE_IDS))


def _build(session: Session, snapshots: tuple[tuple[str, str], ...]) -> ActiveIndex:
    started = time.perf_counter()
    sources = dict(snapshots)
    # Read the entries of exactly these snapshots (not "whatever is active now"), so the
    # index always matches the ids it is cached under.
    rows = session.scalars(
        select(SanctionsEntry)
        .where(SanctionsEntry.snapshot_id.in_(tuple(sources)))
        .order_by(SanctionsEntry.snapshot_id, SanctionsEntry.id)
    )
    entries = [entry_of(row, sources[row.snapshot_id]) for row in rows] if sources else []
    index = ScreeningIndex.build(entries)
    return ActiveIndex(
        snapshot_ids=tuple(sources),
        sources=tuple(sorted(set(sources.values()))),
        index=index,
        built_at=utcnow(),
        build_seconds=time.perf_counter() - started,
    )


def active_index(session: Session) -> ActiveIndex:
    """The index over the snapshots active in ``session``'s view, built if not cached."""
    global _current
    snapshots = active_snapshots(session)
    ids = tuple(snapshot_id for snapshot_id, _ in snapshots)
    current = _current
    if current is not None and current.snapshot_ids == ids:
        return current
    with _lock:
        current = _current
        if current is not None and current.snapshot_ids == ids:
            return current
        current = _build(session, snapshots)
        _current = current
        return current


def screen(
    session: Session,
    name: str,
    *,
    kind: EntryKind | str | None = None,
    country: str | None = None,
    date_of_birth: dt.date | str | BirthDate | None = None,
    limit: int = 10,
) -> ScreeningResult:
    """Screen one name against every active list (see :meth:`ScreeningIndex.screen`)."""
    return active_index(session).index.screen(
        name, kind=kind, country=country, date_of_birth=date_of_birth, limit=limit
    )

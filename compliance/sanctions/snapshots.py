"""Loading list snapshots into the database, and reading the active ones back.

A load parses the whole file set first (a malformed file is refused before the
database is touched), then, inside the caller's transaction, supersedes the
source's active snapshot, inserts the new snapshot with all its entries and makes
it active. Nothing is visible to other sessions until that transaction commits,
so there is never a half-loaded active list; if anything fails the transaction
rolls back and the previous snapshot stays active.

Call it inside a transaction, e.g. ``with db.transaction() as session:
load_list(session, path, "ofac_sdn")``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from compliance.sanctions.entry import Alias, BirthDate, EntryKind, ListEntry
from compliance.sanctions.index import ScreeningIndex
from compliance.sanctions.scoring import Thresholds
from compliance.sanctions.sources import checksum, parse_list
from compliance.sanctions.tables import SanctionsEntry, SanctionsSnapshot
from core.database import utcnow
from core.ids import new_id

_BATCH = 2_000


@dataclass(frozen=True, slots=True)
class LoadReport:
    source: str
    status: str  # "loaded" | "unchanged"
    snapshot_id: str
    previous_snapshot_id: str | None
    checksum: str
    publication_date: dt.date | None
    entry_count: int
    added: tuple[str, ...] = ()  # entry ids new in this snapshot
    removed: tuple[str, ...] = ()  # entry ids no longer listed
    changed: tuple[str, ...] = ()  # entry ids whose names or aliases changed
    added_entries: tuple[ListEntry, ...] = ()

    @property
    def message(self) -> str:
        if self.status == "unchanged":
            return (
                f"{self.source}: file set identical to active snapshot {self.snapshot_id} "
                f"(sha256 {self.checksum[:12]}...); nothing loaded"
            )
        return (
            f"{self.source}: snapshot {self.snapshot_id} active with {self.entry_count} entries; "
            f"{len(self.added)} added, {len(self.removed)} removed, "
            f"{len(self.changed)} with changed names"
        )


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    id: str
    source: str
    publication_date: dt.date | None
    checksum: str
    entry_count: int
    loaded_at: dt.datetime
    status: str


def entry_row(snapshot_id: str, entry: ListEntry) -> dict[str, object]:
    return {
        "snapshot_id": snapshot_id,
        "entry_id": entry.entry_id,
        "kind": entry.kind.value,
        "name": entry.name,
        "names": [alias.to_json() for alias in entry.aliases],
        "countries": list(entry.countries),
        "birth_dates": [str(birth) for birth in entry.birth_dates],
        "programs": list(entry.programs),
        "remarks": entry.remarks,
    }


def entry_of(row: SanctionsEntry, source: str) -> ListEntry:
    return ListEntry(
        source=source,
        entry_id=row.entry_id,
        kind=EntryKind(row.kind),
        name=row.name,
        aliases=tuple(Alias.from_json(alias) for alias in row.names),
        countries=tuple(row.countries),
        birth_dates=tuple(BirthDate.parse(text) for text in row.birth_dates),
        programs=tuple(row.programs),
        remarks=row.remarks,
    )


def _info(snapshot: SanctionsSnapshot) -> SnapshotInfo:
    return SnapshotInfo(
        snapshot.id,
        snapshot.source,
        snapshot.publication_date,
        snapshot.checksum,
        snapshot.entry_count,
        snapshot.loaded_at,
        snapshot.status,
    )


def _active(session: Session, source: str, *, lock: bool = False) -> SanctionsSnapshot | None:
    query = select(SanctionsSnapshot).where(SanctionsSnapshot.active_source == source)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def load_list(
    session: Session,
    path: Path | str,
    source: str | None = None,
    *,
    publication_date: dt.date | None = None,
) -> LoadReport:
    """Load a list file set as the new active snapshot of its source (see module doc).

    Raises :class:`~compliance.sanctions.parsed.ListFormatError` for a malformed
    file set, before anything is written. ``publication_date`` fills in for
    formats that do not carry one (OFAC's legacy CSV, BIS).
    """
    parsed = parse_list(path, source)
    digest = checksum(parsed.files)
    published = parsed.publication_date or publication_date
    previous = _active(session, parsed.source, lock=True)
    if previous is not None and previous.checksum == digest:
        return LoadReport(
            parsed.source,
            "unchanged",
            previous.id,
            previous.id,
            digest,
            previous.publication_date,
            previous.entry_count,
        )

    old_names: dict[str, frozenset[str]] = {}
    if previous is not None:
        for row in session.execute(
            select(SanctionsEntry.entry_id, SanctionsEntry.name, SanctionsEntry.names).where(
                SanctionsEntry.snapshot_id == previous.id
            )
        ):
            old_names[row.entry_id] = frozenset([row.name, *(alias["name"] for alias in row.names)])
        previous.status = "superseded"
        previous.active_source = None
        session.flush()

    new_names = {entry.entry_id: entry.name_set() for entry in parsed.entries}
    added = tuple(entry_id for entry_id in new_names if entry_id not in old_names)
    removed = tuple(entry_id for entry_id in old_names if entry_id not in new_names)
    changed = tuple(
        entry_id
        for entry_id, names in new_names.items()
        if entry_id in old_names and old_names[entry_id] != names
    )
    snapshot = SanctionsSnapshot(
        id=new_id("sls"),
        source=parsed.source,
        publication_date=published,
        checksum=digest,
        entry_count=len(parsed.entries),
        files=[file.name for file in parsed.files],
        loaded_at=utcnow(),
        status="active",
        active_source=parsed.source,
        previous_id=previous.id if previous else None,
        added_count=len(added) if previous else len(parsed.entries),
        removed_count=len(removed),
        changed_count=len(changed),
    )
    session.add(snapshot)
    session.flush()
    rows = [entry_row(snapshot.id, entry) for entry in parsed.entries]
    for start in range(0, len(rows), _BATCH):
        session.execute(insert(SanctionsEntry), rows[start : start + _BATCH])
    added_set = set(added)
    return LoadReport(
        source=parsed.source,
        status="loaded",
        snapshot_id=snapshot.id,
        previous_snapshot_id=previous.id if previous else None,
        checksum=digest,
        publication_date=published,
        entry_count=len(parsed.entries),
        added=added,
        removed=removed,
        changed=changed,
        added_entries=tuple(e for e in parsed.entries if e.entry_id in added_set),
    )


def active_snapshots(session: Session) -> list[SnapshotInfo]:
    query = (
        select(SanctionsSnapshot)
        .where(SanctionsSnapshot.active_source.is_not(None))
        .order_by(SanctionsSnapshot.source)
    )
    return [_info(snapshot) for snapshot in session.scalars(query)]


def snapshot_history(session: Session, source: str) -> list[SnapshotInfo]:
    """Every snapshot of ``source``, newest first."""
    query = (
        select(SanctionsSnapshot)
        .where(SanctionsSnapshot.source == source)
        .order_by(SanctionsSnapshot.loaded_at.desc(), SanctionsSnapshot.id)
    )
    return [_info(snapshot) for snapshot in session.scalars(query)]


def active_entries(session: Session, source: str | None = None) -> list[ListEntry]:
    """Entries of the active snapshot of ``source`` (or of every source)."""
    query = (
        select(SanctionsEntry, SanctionsSnapshot.source)
        .join(SanctionsSnapshot, SanctionsSnapshot.id == SanctionsEntry.snapshot_id)
        .where(SanctionsSnapshot.active_source.is_not(None))
        .order_by(SanctionsSnapshot.source, SanctionsEntry.id)
    )
    if source is not None:
        query = query.where(SanctionsSnapshot.active_source == source)
    return [entry_of(row, list_source) for row, list_source in session.execute(query)]


def build_active_index(session: Session, thresholds: Thresholds | None = None) -> ScreeningIndex:
    """A screening index over every active snapshot (rebuild after each load)."""
    return ScreeningIndex.build(active_entries(session), thresholds=thresholds)

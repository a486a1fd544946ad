"""Loading a sanctions list as an officer's action: the snapshot, its audit entry, the re-screen.

:func:`compliance.sanctions.load_list` does the load itself (parse everything first, then
swap the active snapshot in the caller's transaction). Around it, an officer's load must
also be on record and must reach the people already paid: this module appends the
``sanctions.list_loaded`` audit entry and enqueues the re-screening job
(:mod:`compliance.rescreening`) in the same transaction, so the snapshot, its audit entry
and the job exist together or not at all. The API and the CLI both load through here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from compliance import audit, rescreening
from compliance.sanctions import LoadReport, load_list

AUDITED_IDS = 1000
"""At most this many added / removed entry ids are written into the audit entry (a first
load adds the whole list; the counts are always there and the snapshots keep every id)."""


def _ids(ids: tuple[str, ...]) -> dict[str, Any]:
    return {"count": len(ids), "ids": list(ids[:AUDITED_IDS]), "truncated": len(ids) > AUDITED_IDS}


def load_sanctions_list(
    session: Session,
    path: Path | str,
    source: str | None,
    *,
    actor: str,
    publication_date: dt.date | None = None,
    rescreen_days: int = rescreening.DEFAULT_DAYS,
) -> LoadReport:
    """Load, audit and schedule the re-screen, all in the caller's transaction.

    Raises :class:`~compliance.sanctions.ListFormatError` before writing anything when the
    files are not a list of ``source``. An identical file set leaves the active snapshot
    as it is (``status == "unchanged"``) and is audited as such.
    """
    report = load_list(session, path, source, publication_date=publication_date)
    rescreen = report.status == "loaded" and bool(report.added)
    audit.append(
        session,
        actor,
        "sanctions.list_loaded",
        report.snapshot_id,
        {
            "source": report.source,
            "status": report.status,
            "snapshot_id": report.snapshot_id,
            "previous_snapshot_id": report.previous_snapshot_id,
            "checksum": report.checksum,
            "publication_date": report.publication_date,
            "entry_count": report.entry_count,
            "added": _ids(report.added),
            "removed": _ids(report.removed),
            "changed": _ids(report.changed),
            "rescreen_days": rescreen_days if rescreen else None,
        },
    )
    if rescreen:
        rescreening.enqueue(
            session,
            snapshot_id=report.snapshot_id,
            previous_snapshot_id=report.previous_snapshot_id,
            days=rescreen_days,
        )
    return report

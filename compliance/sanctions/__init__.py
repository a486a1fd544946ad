"""Sanctions lists and name screening.

Loaders turn the published list formats (OFAC SDN and consolidated legacy CSV, UN
XML, BIS Denied Persons, EU CSV) into :class:`ListEntry` values; snapshots keep
every loaded version in the database with one active snapshot per source; the
:class:`ScreeningIndex` answers "is this name listed?" in well under a millisecond.

Typical use::

    with db.transaction() as session:
        report = load_list(session, "/data/ofac_sdn", "ofac_sdn")
    with db.transaction(write=False) as session:
        index = build_active_index(session)
    result = index.screen("Oleg Deripaska", kind="person", country="RU")
    result.decision, result.matches[0].entry_id
"""

from compliance.sanctions.countries import resolve_country
from compliance.sanctions.entry import Alias, AliasQuality, BirthDate, EntryKind, ListEntry
from compliance.sanctions.index import Match, ScreeningIndex, ScreeningResult
from compliance.sanctions.parsed import ListFormatError, ParsedList
from compliance.sanctions.rescreen import AdditionHit, Counterparty, screen_against_additions
from compliance.sanctions.scoring import Decision, Thresholds
from compliance.sanctions.snapshots import (
    LoadReport,
    SnapshotInfo,
    active_entries,
    active_snapshots,
    build_active_index,
    load_list,
    snapshot_history,
)
from compliance.sanctions.sources import SOURCES, checksum, detect_source, parse_list
from compliance.sanctions.weights import TokenWeights

__all__ = [
    "SOURCES",
    "AdditionHit",
    "Alias",
    "AliasQuality",
    "BirthDate",
    "Counterparty",
    "Decision",
    "EntryKind",
    "ListEntry",
    "ListFormatError",
    "LoadReport",
    "Match",
    "ParsedList",
    "ScreeningIndex",
    "ScreeningResult",
    "SnapshotInfo",
    "Thresholds",
    "TokenWeights",
    "active_entries",
    "active_snapshots",
    "build_active_index",
    "checksum",
    "detect_source",
    "load_list",
    "parse_list",
    "resolve_country",
    "screen_against_additions",
    "snapshot_history",
]

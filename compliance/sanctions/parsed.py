"""What a loader hands back, and how it refuses a file.

Loaders are strict on purpose: a list that parses "mostly" would silently drop
listed parties, so any structural surprise raises :class:`ListFormatError` and the
previously active snapshot stays in force.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from compliance.sanctions.entry import ListEntry


class ListFormatError(ValueError):
    """The file set is not a well-formed list of the claimed format."""


@dataclass(frozen=True, slots=True)
class ParsedList:
    source: str
    entries: tuple[ListEntry, ...]
    files: tuple[Path, ...]  # every file the entries were read from, in a fixed order
    publication_date: dt.date | None = None


def require_unique_ids(entries: list[ListEntry], where: str) -> None:
    seen: set[str] = set()
    for entry in entries:
        if entry.entry_id in seen:
            raise ListFormatError(f"{where}: entry id {entry.entry_id!r} appears twice")
        seen.add(entry.entry_id)

"""The EU consolidated financial sanctions list, CSV edition (semicolon-separated).

This follows the published column layout of the EU Financial Sanctions Files
("csvFullSanctionsList", UTF-8 with a byte-order mark, one header row). No real EU
file ships with the project, so the parser is exercised on a fixture written in
that layout (``tests/sanctions/data/eu_fsf_sample.csv``); a real download should
load unchanged, but that has not been verified here.

The file is *flattened*: each row carries the entity's columns plus at most one
name alias, address, birth date, identification and citizenship, so one entity
spans many rows, grouped here by ``Entity_LogicalId``. Columns are found by header
name, never by position. Supported columns (others are ignored):

=========================================  ===========================================
``fileGenerationDate``                     publication date (``dd/mm/yyyy`` or ISO)
``Entity_LogicalId``                       entry id (required)
``Entity_EU_ReferenceNumber``              kept in remarks (e.g. ``EU.27.28``)
``Entity_UnitedNationId``                  kept in remarks
``Entity_SubjectType``                     ``P`` / ``person`` -> person, ``E`` / ``enterprise``
``Entity_SubjectType_ClassificationCode``  -> entity (either column is enough)
``Entity_Remark``                          remarks
``Entity_Regulation_Programme``            programs (e.g. ``RUS``, ``SYR``)
``NameAlias_WholeName``                    names (required); the entity's first name row
                                           is the primary name, the others aliases
``NameAlias_FirstName`` / ``_MiddleName``  used when ``NameAlias_WholeName`` is empty
/ ``_LastName``
``Address_CountryIso2Code``                countries
``Address_CountryDescription``             countries, when the ISO code is absent
``BirthDate_BirthDate``                    ``YYYY-MM-DD``
``BirthDate_Day`` / ``_Month`` / ``_Year``  partial dates
``BirthDate_YearRangeFrom`` / ``_To``      year ranges
``BirthDate_Circa``                        ``1`` / ``true`` marks an approximate date
``BirthDate_CountryIso2Code``              countries (place of birth)
``Citizenship_CountryIso2Code``            countries (citizenship)
=========================================  ===========================================
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from compliance.sanctions.countries import resolve_country
from compliance.sanctions.entry import Alias, BirthDate, EntryKind, ListEntry
from compliance.sanctions.parsed import ListFormatError, ParsedList

SOURCE = "eu"
REQUIRED = ("Entity_LogicalId", "NameAlias_WholeName")
_PERSON = {"p", "person"}
_ENTITY = {"e", "enterprise", "entity"}


@dataclass
class _Gathered:
    kind: EntryKind | None = None
    names: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    births: list[BirthDate] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)


def _date(text: str) -> dt.date | None:
    text = text.strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text[:10], pattern).date()
        except ValueError:
            continue
    return None


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def _birth(row: dict[str, str]) -> BirthDate | None:
    circa = row.get("BirthDate_Circa", "").strip().lower() in {"1", "true", "yes"}
    try:
        full = _date(row.get("BirthDate_BirthDate", ""))
        if full:
            return BirthDate(full.year, full.month, full.day, circa=circa)
        year = _int(row.get("BirthDate_Year", ""))
        if year:
            month = _int(row.get("BirthDate_Month", ""))
            day = _int(row.get("BirthDate_Day", "")) if month else None
            return BirthDate(year, month, day, circa=circa)
        start = _int(row.get("BirthDate_YearRangeFrom", ""))
        end = _int(row.get("BirthDate_YearRangeTo", ""))
        if start and end:
            return BirthDate(start, to_year=end) if end > start else BirthDate(start)
    except ValueError:
        return None
    return None


def _name(row: dict[str, str]) -> str:
    whole = " ".join(row.get("NameAlias_WholeName", "").split())
    if whole:
        return whole
    parts = (row.get(f"NameAlias_{part}", "") for part in ("FirstName", "MiddleName", "LastName"))
    return " ".join(" ".join(parts).split())


def _kind(row: dict[str, str]) -> EntryKind | None:
    for column in ("Entity_SubjectType", "Entity_SubjectType_ClassificationCode"):
        value = row.get(column, "").strip().lower()
        if value in _PERSON:
            return EntryKind.PERSON
        if value in _ENTITY:
            return EntryKind.ENTITY
    return None


def parse_eu(path: Path) -> ParsedList:
    path = Path(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        header = [column.strip() for column in next(reader, [])]
        missing = [column for column in REQUIRED if column not in header]
        if missing or not (
            "Entity_SubjectType" in header or "Entity_SubjectType_ClassificationCode" in header
        ):
            raise ListFormatError(f"{path.name}: not an EU sanctions CSV (missing {missing})")
        gathered: dict[str, _Gathered] = {}
        published: dt.date | None = None
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                raise ListFormatError(
                    f"{path.name}:{number}: expected {len(header)} columns, found {len(cells)}"
                )
            row = dict(zip(header, cells, strict=True))
            logical_id = row["Entity_LogicalId"].strip()
            if not logical_id:
                raise ListFormatError(f"{path.name}:{number}: row without Entity_LogicalId")
            published = published or _date(row.get("fileGenerationDate", ""))
            entry = gathered.setdefault(logical_id, _Gathered())
            entry.kind = entry.kind or _kind(row)
            name = _name(row)
            if name and name not in entry.names:
                entry.names.append(name)
            for column in (
                "Address_CountryIso2Code",
                "BirthDate_CountryIso2Code",
                "Citizenship_CountryIso2Code",
            ):
                code = row.get(column, "").strip().upper()
                resolved = resolve_country(code) if len(code) == 2 else None
                if resolved:
                    entry.countries.append(resolved)
            if not row.get("Address_CountryIso2Code", "").strip():
                resolved = resolve_country(row.get("Address_CountryDescription", ""))
                if resolved:
                    entry.countries.append(resolved)
            birth = _birth(row)
            if birth:
                entry.births.append(birth)
            programme = row.get("Entity_Regulation_Programme", "").strip()
            if programme:
                entry.programs.append(programme)
            for column in ("Entity_EU_ReferenceNumber", "Entity_UnitedNationId", "Entity_Remark"):
                value = " ".join(row.get(column, "").split())
                if value:
                    entry.remarks.append(f"{column.removeprefix('Entity_')} {value}")
    entries: list[ListEntry] = []
    for logical_id, entry in gathered.items():
        if not entry.names:
            raise ListFormatError(f"{path.name}: entity {logical_id} has no name")
        if entry.kind is None:
            raise ListFormatError(f"{path.name}: entity {logical_id} has no subject type")
        entries.append(
            ListEntry(
                source=SOURCE,
                entry_id=logical_id,
                kind=entry.kind,
                name=entry.names[0],
                aliases=tuple(Alias(name) for name in entry.names[1:]),
                countries=tuple(dict.fromkeys(entry.countries)),
                birth_dates=tuple(dict.fromkeys(entry.births)),
                programs=tuple(dict.fromkeys(entry.programs)),
                remarks="; ".join(dict.fromkeys(entry.remarks)),
            )
        )
    if not entries:
        raise ListFormatError(f"{path.name}: no entries")
    return ParsedList(SOURCE, tuple(entries), (path,), published)

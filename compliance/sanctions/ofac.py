"""OFAC's legacy CSV file sets: the SDN list and the consolidated (non-SDN) list.

Both use the same layout, without a header row:

* ``sdn.csv`` / ``cons_prim.csv``: ent_num, SDN_Name, SDN_Type, Program, Title,
  Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks
* ``alt.csv`` / ``cons_alt.csv``: ent_num, alt_num, alt_type, alt_name, alt_remarks
* ``add.csv`` / ``cons_add.csv``: ent_num, add_num, address, city/state/postal,
  country, add_remarks
* ``sdn_comments.csv`` / ``cons_comments.csv`` (optional): ent_num, the rest of a
  Remarks value too long for its column, to be appended to it.

``-0-`` (with or without a trailing blank) means empty, and OFAC ends each file with
an ASCII SUB (0x1A) line. Type ``-0-`` means an entity. A row with the wrong number
of columns or a non-numeric ent_num refuses the whole set; alias, address and
comment rows for entries not in the primary file are ignored (extracts such as the
shipped 17-row sample carry them).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from compliance.sanctions.countries import resolve_country
from compliance.sanctions.entry import Alias, AliasQuality, EntryKind, ListEntry
from compliance.sanctions.ofac_remarks import parse_remarks
from compliance.sanctions.parsed import ListFormatError, ParsedList, require_unique_ids

_KINDS = {
    "individual": EntryKind.PERSON,
    "vessel": EntryKind.VESSEL,
    "aircraft": EntryKind.AIRCRAFT,
    "": EntryKind.ENTITY,
}
# source -> (primary, alt, add, comments) file names
FILE_SETS = {
    "ofac_sdn": ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"),
    "ofac_consolidated": ("cons_prim.csv", "cons_alt.csv", "cons_add.csv", "cons_comments.csv"),
}


def _value(cell: str) -> str:
    cell = cell.strip()
    return "" if cell == "-0-" else cell


def _rows(path: Path, width: int) -> Iterator[tuple[int, list[str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or row == ["\x1a"] or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                raise ListFormatError(
                    f"{path.name}:{number}: expected {width} columns, found {len(row)}"
                )
            if not row[0].strip().isdigit():
                raise ListFormatError(f"{path.name}:{number}: ent_num {row[0]!r} is not a number")
            yield number, row


def files_of(path: Path, source: str) -> tuple[Path, ...]:
    """The file set for ``path`` (a folder, or any file of the set), primary file first."""
    names = FILE_SETS[source]
    folder = path if path.is_dir() else path.parent
    files = [folder / name for name in names[:3]]
    missing = [file.name for file in files if not file.is_file()]
    if missing:
        raise ListFormatError(f"{folder}: missing {', '.join(missing)} for {source}")
    comments = folder / names[3]
    return (*files, comments) if comments.is_file() else tuple(files)


def parse_ofac(path: Path, source: str = "ofac_sdn") -> ParsedList:
    files = files_of(Path(path), source)
    primary, alt_file, add_file = files[:3]

    remarks_tail: dict[str, str] = defaultdict(str)
    if len(files) == 4:
        for _, row in _rows(files[3], 2):
            remarks_tail[row[0].strip()] += row[1]

    aliases: dict[str, list[Alias]] = defaultdict(list)
    for number, row in _rows(alt_file, 5):
        alt_type, alt_name = _value(row[2]).lower(), _value(row[3])
        if not alt_name:
            raise ListFormatError(f"{alt_file.name}:{number}: alias without a name")
        aliases[row[0].strip()].append(Alias(alt_name, AliasQuality.STRONG, alt_type or "aka"))

    address_countries: dict[str, list[str]] = defaultdict(list)
    for _, row in _rows(add_file, 6):
        code = resolve_country(_value(row[4]))
        if code:
            address_countries[row[0].strip()].append(code)

    entries: list[ListEntry] = []
    for number, row in _rows(primary, 12):
        ent_num = row[0].strip()
        name = _value(row[1])
        sdn_type = _value(row[2]).lower()
        if not name:
            raise ListFormatError(f"{primary.name}:{number}: entry {ent_num} has no name")
        if sdn_type not in _KINDS:
            raise ListFormatError(f"{primary.name}:{number}: unknown SDN_Type {row[2]!r}")
        remarks = _value(row[11]) + remarks_tail.get(ent_num, "")
        facts = parse_remarks(remarks)
        programs = tuple(
            part.strip("[] ") for part in _value(row[3]).split("] [") if part.strip("[] ")
        )
        flag = resolve_country(_value(row[9]))
        countries = [
            *facts.countries,
            *address_countries.get(ent_num, ()),
            *([flag] if flag else []),
        ]
        entries.append(
            ListEntry(
                source=source,
                entry_id=ent_num,
                kind=_KINDS[sdn_type],
                name=name,
                aliases=(*aliases.get(ent_num, ()), *facts.weak_aliases),
                countries=tuple(dict.fromkeys(countries)),
                birth_dates=facts.birth_dates,
                programs=programs,
                remarks=remarks,
            )
        )
    require_unique_ids(entries, primary.name)
    if not entries:
        raise ListFormatError(f"{primary.name}: no entries")
    return ParsedList(source=source, entries=tuple(entries), files=files)

"""The UN Security Council consolidated list (XML, ``CONSOLIDATED_LIST``).

Individuals carry FIRST_NAME..FOURTH_NAME (joined in order for the primary name),
aliases with a QUALITY of ``Good`` (strong) or ``Low`` (weak), the name in its
original script (kept as an alias, so a query in that script can match it
directly), dates of birth typed EXACT / APPROXIMATELY / BETWEEN, nationalities,
addresses and places of birth. Entities carry one name, aliases (``a.k.a.`` /
``f.k.a.``) and addresses. The entry id is the UN's permanent reference number
(e.g. ``QDi.001``); the list's ``dateGenerated`` is its publication date.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from lxml import etree

from compliance.sanctions.countries import resolve_countries
from compliance.sanctions.entry import Alias, AliasQuality, BirthDate, EntryKind, ListEntry
from compliance.sanctions.parsed import ListFormatError, ParsedList, require_unique_ids

SOURCE = "un"
_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")


def _text(node: etree._Element, path: str) -> str:
    found = node.findtext(path)
    return " ".join(found.split()) if found else ""


def _aliases(node: etree._Element, tag: str) -> list[Alias]:
    aliases: list[Alias] = []
    for alias in node.iterfind(tag):
        name = _text(alias, "ALIAS_NAME")
        if not name:
            continue
        quality = _text(alias, "QUALITY").lower()
        aliases.append(
            Alias(
                name,
                AliasQuality.WEAK if quality == "low" else AliasQuality.STRONG,
                "fka" if quality == "f.k.a." else "aka",
            )
        )
    original = _text(node, "NAME_ORIGINAL_SCRIPT")
    if original:
        aliases.append(Alias(original, AliasQuality.STRONG, "original_script"))
    return aliases


def _birth_dates(node: etree._Element) -> list[BirthDate]:
    dates: list[BirthDate] = []
    for birth in node.iterfind("INDIVIDUAL_DATE_OF_BIRTH"):
        kind = _text(birth, "TYPE_OF_DATE").upper()
        circa = kind == "APPROXIMATELY"
        try:
            if kind == "BETWEEN":
                start, end = _text(birth, "FROM_YEAR"), _text(birth, "TO_YEAR")
                if start.isdigit() and end.isdigit():
                    dates.append(BirthDate(int(start), to_year=int(end)))
                continue
            full, year = _text(birth, "DATE"), _text(birth, "YEAR")
            if full:
                day = dt.date.fromisoformat(full[:10])
                dates.append(BirthDate(day.year, day.month, day.day, circa=circa))
            elif year.isdigit():
                dates.append(BirthDate(int(year), circa=circa))
        except ValueError:
            continue  # a malformed date is dropped, not guessed
    return dates


def parse_un(path: Path) -> ParsedList:
    path = Path(path)
    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    except (etree.XMLSyntaxError, OSError) as exc:
        raise ListFormatError(f"{path.name}: not well-formed XML: {exc}") from exc
    top = root.getroot()
    if top.tag != "CONSOLIDATED_LIST":
        raise ListFormatError(f"{path.name}: root element is {top.tag}, not CONSOLIDATED_LIST")
    generated = top.get("dateGenerated", "")
    try:
        published = dt.date.fromisoformat(generated[:10]) if generated else None
    except ValueError:
        published = None

    entries: list[ListEntry] = []
    for node in top.iterfind("INDIVIDUALS/INDIVIDUAL"):
        name = " ".join(part for part in (_text(node, tag) for tag in _NAME_PARTS) if part)
        countries = [
            *(value.text for value in node.iterfind("NATIONALITY/VALUE")),
            *(value.text for value in node.iterfind("INDIVIDUAL_ADDRESS/COUNTRY")),
            *(value.text for value in node.iterfind("INDIVIDUAL_PLACE_OF_BIRTH/COUNTRY")),
        ]
        entries.append(_entry(node, EntryKind.PERSON, name, countries, _birth_dates(node)))
    for node in top.iterfind("ENTITIES/ENTITY"):
        countries = [value.text for value in node.iterfind("ENTITY_ADDRESS/COUNTRY")]
        entries.append(_entry(node, EntryKind.ENTITY, _text(node, "FIRST_NAME"), countries, []))
    if not entries:
        raise ListFormatError(f"{path.name}: no INDIVIDUAL or ENTITY records")
    require_unique_ids(entries, path.name)
    return ParsedList(SOURCE, tuple(entries), (path,), published)


def _entry(
    node: etree._Element,
    kind: EntryKind,
    name: str,
    countries: list[str | None],
    births: list[BirthDate],
) -> ListEntry:
    reference = _text(node, "REFERENCE_NUMBER") or _text(node, "DATAID")
    if not reference or not name:
        raise ListFormatError(f"UN record {_text(node, 'DATAID')!r} lacks a reference or name")
    alias_tag = "INDIVIDUAL_ALIAS" if kind is EntryKind.PERSON else "ENTITY_ALIAS"
    return ListEntry(
        source=SOURCE,
        entry_id=reference,
        kind=kind,
        name=name,
        aliases=tuple(_aliases(node, alias_tag)),
        countries=resolve_countries(countries),
        birth_dates=tuple(dict.fromkeys(births)),
        programs=tuple(filter(None, [_text(node, "UN_LIST_TYPE")])),
        remarks=_text(node, "COMMENTS1"),
    )

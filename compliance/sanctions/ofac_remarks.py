"""Facts hidden in the free-text Remarks column of OFAC's legacy CSV files.

The legacy format has no columns for dates of birth, nationality or weak aliases;
OFAC writes them into Remarks as ``;``-separated items, e.g.
``DOB 28 Apr 1937; POB al-Awja, near Tikrit, Iraq; nationality Iraq; a.k.a. 'ABU ALI'.``
Strong aliases live in alt.csv; the a.k.a.s in Remarks are OFAC's "weak" (low
quality) aliases, which is why they are returned separately.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from compliance.sanctions.countries import resolve_country
from compliance.sanctions.entry import Alias, AliasQuality, BirthDate

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_DATE = re.compile(r"^(?:(?P<day>\d{1,2}) )?(?:(?P<month>[A-Za-z]{3})[a-z]* )?(?P<year>\d{4})$")
_ITEM = re.compile(r"^(?:alt\.\s+)?(?P<key>DOB|POB|nationality|citizen)\s+(?P<value>.+)$", re.I)
_AKA = re.compile(r"^(?P<kind>[afn])\.k\.a\.,?\s*'(?P<name>.*)'$", re.I)


@dataclass(frozen=True, slots=True)
class RemarkFacts:
    birth_dates: tuple[BirthDate, ...]
    countries: tuple[str, ...]  # ISO alpha-2 of nationality, citizenship, place of birth
    weak_aliases: tuple[Alias, ...]


def _date(text: str) -> BirthDate | None:
    found = _DATE.match(text.strip())
    if not found:
        return None
    year = int(found["year"])
    month = _MONTHS.get(found["month"].lower()) if found["month"] else None
    if found["month"] and month is None:
        return None
    day = int(found["day"]) if found["day"] and month else None
    try:
        return BirthDate(year, month, day)
    except ValueError:
        return None


def parse_birth_date(text: str) -> BirthDate | None:
    """``01 Jan 1960``, ``Jan 1960``, ``1960``, ``circa 1957``, ``1950 to 1955``."""
    text = text.strip().rstrip(".")
    if text.lower().startswith("circa "):
        found = _date(text[6:])
        return BirthDate(found.year, circa=True) if found else None
    if " to " in text:
        start, _, end = text.partition(" to ")
        first, last = _date(start), _date(end)
        if not first or not last or last.year < first.year:
            return None
        if first.year == last.year:
            if first.month and first.month == last.month:
                return BirthDate(first.year, first.month)
            return BirthDate(first.year)
        return BirthDate(first.year, to_year=last.year)
    return _date(text)


def _place_country_candidates(place: str) -> list[str]:
    """``Najf Al Ashraf (Najaf), Iraq`` -> ``["Iraq", "(Najaf), Iraq", ...]``, shortest first.

    Country names themselves may contain commas ("Korea, North"), so every suffix is
    offered and the resolver takes the first it knows.
    """
    parts = [part.strip() for part in place.split(",")]
    return [", ".join(parts[index:]) for index in range(len(parts) - 1, -1, -1)]


def parse_remarks(remarks: str) -> RemarkFacts:
    births: list[BirthDate] = []
    countries: list[str] = []
    aliases: list[Alias] = []
    for raw in remarks.split(";"):
        item = raw.strip().rstrip(".").strip()
        if not item:
            continue
        aka = _AKA.match(raw.strip().rstrip(".").strip())
        if aka:
            name = aka["name"].strip().strip("'").strip()
            if name:
                kind = {"a": "aka", "f": "fka", "n": "nka"}[aka["kind"].lower()]
                aliases.append(Alias(name, AliasQuality.WEAK, kind))
            continue
        found = _ITEM.match(item)
        if not found:
            continue
        key, value = found["key"].lower(), found["value"].strip()
        if key == "dob":
            birth = parse_birth_date(value)
            if birth:
                births.append(birth)
        else:
            candidates = _place_country_candidates(value) if key == "pob" else [value]
            code = next(filter(None, map(resolve_country, candidates)), None)
            if code:
                countries.append(code)
    return RemarkFacts(
        tuple(dict.fromkeys(births)), tuple(dict.fromkeys(countries)), tuple(aliases)
    )

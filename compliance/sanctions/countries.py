"""Country names as lists write them -> ISO 3166-1 alpha-2.

Names come from pycountry (ISO 3166 names, official and common names) and Babel's
CLDR English territory names, each also indexed in its "inverted" form ("Virgin
Islands, British" -> "British Virgin Islands") because list publishers use both.
A handful of spellings that neither library knows are list vocabulary rather than
country data (OFAC still writes "Burma", "Turkey", "Macau", "Palestinian", and uses
regions such as "Region: Crimea"); they are the only hand-written mappings and are
kept small on purpose. What cannot be resolved (e.g. "former Soviet Union",
"undetermined", the disputed "Kafia Kingi" area) is left out rather than guessed.
"""

from __future__ import annotations

import re
from functools import cache

import pycountry
from anyascii import anyascii
from babel import Locale

# Publisher spellings with no ISO/CLDR equivalent, keyed by the normalised form.
_LIST_VOCABULARY = {
    "burma": "MM",
    "turkey": "TR",
    "macau": "MO",
    "palestinian": "PS",
    "west bank": "PS",
    "gaza": "PS",
    "crimea": "UA",
    "democratic republic of the congo": "CD",
    "china hong kong special administrative region": "HK",
    "china macao special administrative region": "MO",
}

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _key(text: str) -> str:
    text = anyascii(text).casefold().replace("'", " ")
    return _NON_ALNUM.sub(" ", text).strip()


def _inverted(text: str) -> str | None:
    """ "Korea, North" -> "North Korea"; None when there is no comma to turn around."""
    if "," not in text:
        return None
    head, _, tail = text.partition(",")
    return f"{tail.strip()} {head.strip()}"


@cache
def _table() -> dict[str, str]:
    table: dict[str, str] = {}

    def add(name: str | None, code: str) -> None:
        if not name:
            return
        for form in (name, _inverted(name)):
            if form:
                table.setdefault(_key(form), code)

    for country in pycountry.countries:
        code = country.alpha_2
        for attr in ("name", "official_name", "common_name"):
            add(getattr(country, attr, None), code)
    for code, name in Locale("en").territories.items():
        if len(code) == 2 and code.isalpha():
            add(name, code)
            add(re.sub(r"\s*\(.*?\)", "", name), code)
    table.update(_LIST_VOCABULARY)
    return table


def resolve_country(name: str | None) -> str | None:
    """ISO alpha-2 for a country name, code or list spelling; None if unresolvable."""
    if not name:
        return None
    raw = name.strip()
    if raw.isupper() and raw.isalpha() and len(raw) in (2, 3):
        # Codes only in capitals: UN files write "na" for "not available", not Namibia.
        country = pycountry.countries.get(alpha_2=raw) or pycountry.countries.get(alpha_3=raw)
        if country:
            return str(country.alpha_2)
    if raw.lower().startswith("region:"):
        raw = raw.split(":", 1)[1]
    table = _table()
    attempts = [raw]
    unbracketed = re.sub(r"\s*\((.*?)\)", r", \1", raw)
    if unbracketed != raw:
        attempts += [unbracketed, re.sub(r"\s*\(.*?\)", "", raw)]
    for attempt in list(attempts):
        inverted = _inverted(attempt)
        if inverted:
            attempts.append(inverted)
    for attempt in attempts:
        key = _key(attempt)
        if key.startswith("the "):
            key = key[4:]
        code = table.get(key)
        if code:
            return code
    return None


def resolve_countries(names: list[str | None]) -> tuple[str, ...]:
    """Resolved codes, de-duplicated in first-seen order."""
    seen: dict[str, None] = {}
    for name in names:
        code = resolve_country(name)
        if code:
            seen.setdefault(code)
    return tuple(seen)

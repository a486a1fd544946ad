"""Dated country lists (embargoes, FATF lists) read from a data file.

Which countries are embargoed or on a FATF list is a fact with a date, not logic, so it
lives in ``compliance/data/countries.toml`` with its ``as_of`` date and source, and every
rule hit quotes both. The loader validates each code with pycountry and refuses a file
with an unknown one rather than silently ignoring a typo.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .context import ContextError, country_code, region_code

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "countries.toml"


class CountryListError(ValueError):
    """A country list file that cannot be trusted."""


@dataclass(frozen=True)
class CountryList:
    name: str
    title: str
    as_of: dt.date
    source: str
    url: str
    countries: frozenset[str]
    regions: frozenset[str]

    def contains(self, country: str | None, region: str | None = None) -> bool:
        return (country is not None and country in self.countries) or (
            region is not None and region in self.regions
        )

    def describe(self) -> dict[str, Any]:
        return {
            "list": self.name,
            "as_of": self.as_of.isoformat(),
            "source": self.url or self.source,
        }


CountryLists = Mapping[str, CountryList]


def parse_country_lists(text: str, origin: str = "<text>") -> dict[str, CountryList]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CountryListError(f"{origin}: not valid TOML: {exc}") from exc
    lists = data.get("lists")
    if not isinstance(lists, dict) or not lists:
        raise CountryListError(f"{origin}: no [lists.NAME] tables")
    out: dict[str, CountryList] = {}
    for name, body in lists.items():
        where = f"{origin}: lists.{name}"
        if not isinstance(body, dict):
            raise CountryListError(f"{where} must be a table")
        as_of = body.get("as_of")
        if not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime):
            raise CountryListError(f"{where}.as_of must be a date (YYYY-MM-DD)")
        if not body.get("source"):
            raise CountryListError(f"{where}.source is required: say where the list comes from")
        try:
            countries = frozenset(country_code(str(c)) or "" for c in body.get("countries", []))
            regions = frozenset(region_code(str(r)) or "" for r in body.get("regions", []))
        except ContextError as exc:
            raise CountryListError(f"{where}: {exc}") from exc
        out[name] = CountryList(
            name=name,
            title=str(body.get("title", name)),
            as_of=as_of,
            source=" ".join(str(body["source"]).split()),
            url=str(body.get("url", "")),
            countries=countries - {""},
            regions=regions - {""},
        )
    return out


def load_country_lists(path: Path | None = None) -> dict[str, CountryList]:
    """The lists in ``path`` (default: the shipped file, read once per process)."""
    if path is None:
        return _default_lists()
    return parse_country_lists(path.read_text(encoding="utf-8"), str(path))


@lru_cache(maxsize=1)
def _default_lists() -> dict[str, CountryList]:
    return parse_country_lists(DEFAULT_PATH.read_text(encoding="utf-8"), str(DEFAULT_PATH))

"""The BIN table: issuing country and funding of a card, kept as data.

``payments/data/bins.csv`` lists prefixes (``prefix,brand,country,funding,description``)
and a lookup takes the longest prefix that matches, so a table can hold a bank's
6- or 8-digit BIN next to a longer range carved out of it. The shipped table covers
Stripe's documented test cards (Stripe's country test cards are ``400000`` followed by
the ISO 3166-1 numeric code of the issuing country); a deployment with a licensed BIN
file loads it through :meth:`BinTable.from_csv` instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Final, Literal

import pycountry

Funding = Literal["credit", "debit", "prepaid", "unknown"]
_FUNDING: Final = frozenset({"credit", "debit", "prepaid", "unknown"})


@dataclass(frozen=True)
class BinRecord:
    prefix: str
    brand: str
    country: str
    """ISO 3166-1 alpha-2 of the issuer."""
    funding: Funding
    description: str = ""


class BinTable:
    """Longest-prefix lookup over BIN records."""

    def __init__(self, records: Iterable[BinRecord]) -> None:
        self._by_prefix: dict[str, BinRecord] = {}
        for record in records:
            if record.prefix in self._by_prefix:
                raise ValueError(f"BIN prefix {record.prefix} is listed twice")
            self._by_prefix[record.prefix] = record
        self._lengths = sorted({len(p) for p in self._by_prefix}, reverse=True)

    def __len__(self) -> int:
        return len(self._by_prefix)

    def records(self) -> list[BinRecord]:
        return list(self._by_prefix.values())

    def lookup(self, number: str) -> BinRecord | None:
        """The most specific record for a PAN (or its leading digits); ``None`` if unknown."""
        for length in self._lengths:
            if length <= len(number):
                record = self._by_prefix.get(number[:length])
                if record is not None:
                    return record
        return None

    @classmethod
    def from_csv(cls, text: str) -> BinTable:
        reader = csv.DictReader(io.StringIO(text))
        return cls(_parse_row(row, line) for line, row in enumerate(reader, start=2))

    @classmethod
    def from_path(cls, path: Path) -> BinTable:
        return cls.from_csv(path.read_text(encoding="utf-8"))


def _parse_row(row: dict[str, str], line: int) -> BinRecord:
    prefix = (row.get("prefix") or "").strip()
    if not prefix.isdigit() or not 1 <= len(prefix) <= 19:
        raise ValueError(f"bins.csv line {line}: prefix {prefix!r} is not 1-19 digits")
    country = (row.get("country") or "").strip().upper()
    if pycountry.countries.get(alpha_2=country) is None:
        raise ValueError(f"bins.csv line {line}: {country!r} is not an ISO 3166 country")
    funding = (row.get("funding") or "unknown").strip()
    if funding not in _FUNDING:
        raise ValueError(f"bins.csv line {line}: funding {funding!r} is not one of {_FUNDING}")
    return BinRecord(
        prefix=prefix,
        brand=(row.get("brand") or "unknown").strip(),
        country=country,
        funding=funding,  # type: ignore[arg-type]
        description=(row.get("description") or "").strip(),
    )


@lru_cache(maxsize=1)
def default_bin_table() -> BinTable:
    """The table shipped in ``payments/data/bins.csv``."""
    text = resources.files("payments.data").joinpath("bins.csv").read_text(encoding="utf-8")
    return BinTable.from_csv(text)

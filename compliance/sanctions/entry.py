"""The normalised list entry every loader produces and the matcher consumes.

Lists disagree on almost everything (columns, quality flags, how a date of birth is
written), so each loader maps its publisher's format onto this one model and nothing
downstream needs to know which list an entry came from beyond its ``source``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class EntryKind(StrEnum):
    PERSON = "person"
    ENTITY = "entity"
    VESSEL = "vessel"
    AIRCRAFT = "aircraft"


class AliasQuality(StrEnum):
    """Publishers flag some aliases as weak (OFAC's remarks a.k.a.s, UN quality "Low").

    A hit on a weak alias is evidence, but not enough on its own to block.
    """

    STRONG = "strong"
    WEAK = "weak"


@dataclass(frozen=True, slots=True)
class Alias:
    name: str
    quality: AliasQuality = AliasQuality.STRONG
    kind: str = "aka"  # aka | fka | nka | original_script

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "quality": self.quality.value, "kind": self.kind}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alias:
        return cls(
            data["name"], AliasQuality(data.get("quality", "strong")), data.get("kind", "aka")
        )


_BIRTH_DATE = re.compile(
    r"^(?P<circa>~)?(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?(?:/(?P<to>\d{4}))?$"
)


@dataclass(frozen=True, slots=True, order=True)
class BirthDate:
    """A date of birth as precise as the list gives it.

    Lists give full dates, a month and year, a year only, "circa" a year, or a range
    of years; matching needs to know which, so the precision is kept rather than
    padded to a fake 1 January.
    """

    year: int
    month: int | None = None
    day: int | None = None
    circa: bool = False
    to_year: int | None = None

    def __post_init__(self) -> None:
        if not 1800 <= self.year <= 2100:
            raise ValueError(f"implausible birth year {self.year}")
        if self.day is not None and self.month is None:
            raise ValueError("a day needs a month")
        if self.month is not None:
            dt.date(self.year, self.month, self.day or 1)  # validates month and day
        if self.to_year is not None and self.to_year < self.year:
            raise ValueError("a year range must not run backwards")

    def __str__(self) -> str:
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"-{self.month:02d}"
            if self.day is not None:
                text += f"-{self.day:02d}"
        if self.to_year is not None:
            text += f"/{self.to_year:04d}"
        return ("~" if self.circa else "") + text

    @classmethod
    def parse(cls, text: str) -> BirthDate:
        """Inverse of ``str()``: ``1960``, ``1960-01``, ``1960-01-31``, ``~1957``, ``1950/1955``."""
        found = _BIRTH_DATE.match(text.strip())
        if not found:
            raise ValueError(f"not a birth date: {text!r}")
        return cls(
            year=int(found["year"]),
            month=int(found["month"]) if found["month"] else None,
            day=int(found["day"]) if found["day"] else None,
            circa=bool(found["circa"]),
            to_year=int(found["to"]) if found["to"] else None,
        )

    @classmethod
    def of(cls, value: dt.date | str | BirthDate) -> BirthDate:
        if isinstance(value, BirthDate):
            return value
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            return cls(value.year, value.month, value.day)
        return cls.parse(value)


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One listed party, as its list describes it."""

    source: str
    entry_id: str
    kind: EntryKind
    name: str
    aliases: tuple[Alias, ...] = ()
    countries: tuple[str, ...] = ()  # ISO 3166-1 alpha-2, where resolvable
    birth_dates: tuple[BirthDate, ...] = ()
    programs: tuple[str, ...] = ()
    remarks: str = ""

    def names(self) -> tuple[Alias, ...]:
        """The primary name (as a strong alias) followed by every alias."""
        return (Alias(self.name, AliasQuality.STRONG, "primary"), *self.aliases)

    def name_set(self) -> frozenset[str]:
        """Names as a set, for telling whether a list update changed an entry's names."""
        return frozenset(alias.name for alias in self.names())

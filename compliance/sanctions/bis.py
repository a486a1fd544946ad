"""The US BIS Denied Persons List (``dpl.txt``: tab-separated, quoted, with a header).

Columns: Name, Street_Address, City, State, Country, Postal_Code, Effective_Date,
Expiration_Date, Standard_Order, Last_Update, Action, FR_Citation. Every row is a
record (the same party appears once per address). The list has no identifiers and
does not say whether a party is a person or a company, so:

* the entry id is ``dpl-`` + the first 12 hex digits of a SHA-256 over the row's
  identifying columns (stable across downloads as long as the row is unchanged),
  with ``-2``, ``-3``... for rows repeated verbatim;
* the kind is *inferred*: a name with a legal form or an organisation word
  ("LTD", "AIRLINES", "ELECTRONICS"...) is an entity, any other name a person;
* an alias written inline ("PEARL (A.K.A. NEI-CHIEN CHU) LI") is split out.
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

from compliance.sanctions.countries import resolve_country
from compliance.sanctions.entry import Alias, EntryKind, ListEntry
from compliance.sanctions.normalise import LEGAL_FORMS, tokens
from compliance.sanctions.parsed import ListFormatError, ParsedList

SOURCE = "bis_dpl"
COLUMNS = (
    "Name",
    "Street_Address",
    "City",
    "State",
    "Country",
    "Postal_Code",
    "Effective_Date",
    "Expiration_Date",
    "Standard_Order",
    "Last_Update",
    "Action",
    "FR_Citation",
)
_IDENTIFYING = (*COLUMNS[:8], "FR_Citation")
_ORGANISATION_WORDS = frozenset(
    [
        "airline",
        "airlines",
        "aviation",
        "air",
        "bank",
        "company",
        "corporation",
        "enterprise",
        "enterprises",
        "electronics",
        "engineering",
        "equipment",
        "export",
        "exports",
        "freight",
        "group",
        "holding",
        "holdings",
        "import",
        "industries",
        "industry",
        "institute",
        "international",
        "laboratories",
        "laboratory",
        "logistics",
        "manufacturing",
        "marine",
        "organization",
        "organisation",
        "partners",
        "services",
        "shipping",
        "solutions",
        "supplies",
        "supply",
        "systems",
        "technologies",
        "technology",
        "trading",
        "university",
        "works",
        "cooling",
        "towers",
        "fibers",
        "nonwovens",
        "office",
    ]
)
_INLINE_AKA = re.compile(r"\((?:A\.?K\.?A\.?|ALSO KNOWN AS)\s+(?P<alias>[^)]+)\)", re.I)


def _kind(name: str) -> EntryKind:
    words = set(tokens(name))
    if words & LEGAL_FORMS or words & _ORGANISATION_WORDS:
        return EntryKind.ENTITY
    return EntryKind.PERSON


def parse_bis_dpl(path: Path) -> ParsedList:
    path = Path(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if header is None or tuple(column.strip() for column in header) != COLUMNS:
            raise ListFormatError(f"{path.name}: header is not the Denied Persons List header")
        entries: list[ListEntry] = []
        seen: dict[str, int] = {}
        for number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(COLUMNS):
                raise ListFormatError(
                    f"{path.name}:{number}: expected {len(COLUMNS)} columns, found {len(row)}"
                )
            record = {
                column: " ".join(cell.split()) for column, cell in zip(COLUMNS, row, strict=True)
            }
            raw_name = record["Name"]
            if not raw_name:
                raise ListFormatError(f"{path.name}:{number}: row without a name")
            aliases = [Alias(found["alias"].strip()) for found in _INLINE_AKA.finditer(raw_name)]
            name = " ".join(_INLINE_AKA.sub(" ", raw_name).split())
            digest = hashlib.sha256(
                "\x1f".join(record[column] for column in _IDENTIFYING).encode()
            ).hexdigest()[:12]
            seen[digest] = seen.get(digest, 0) + 1
            entry_id = f"dpl-{digest}" + (f"-{seen[digest]}" if seen[digest] > 1 else "")
            country = resolve_country(record["Country"])
            entries.append(
                ListEntry(
                    source=SOURCE,
                    entry_id=entry_id,
                    kind=_kind(name),
                    name=name,
                    aliases=tuple(aliases),
                    countries=(country,) if country else (),
                    programs=("DPL",),
                    remarks="; ".join(
                        f"{column} {record[column]}"
                        for column in ("Effective_Date", "Expiration_Date", "Action", "FR_Citation")
                        if record[column]
                    ),
                )
            )
    if not entries:
        raise ListFormatError(f"{path.name}: no entries")
    return ParsedList(SOURCE, tuple(entries), (path,))

"""Which list a path holds, how to parse it, and the checksum that identifies a load.

Source names: ``ofac_sdn``, ``ofac_consolidated``, ``un``, ``bis_dpl``, ``eu``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from compliance.sanctions.bis import COLUMNS as BIS_COLUMNS
from compliance.sanctions.bis import parse_bis_dpl
from compliance.sanctions.eu import REQUIRED as EU_REQUIRED
from compliance.sanctions.eu import parse_eu
from compliance.sanctions.ofac import FILE_SETS, parse_ofac
from compliance.sanctions.parsed import ListFormatError, ParsedList
from compliance.sanctions.un import parse_un

_PARSERS: dict[str, Callable[[Path], ParsedList]] = {
    "ofac_sdn": lambda path: parse_ofac(path, "ofac_sdn"),
    "ofac_consolidated": lambda path: parse_ofac(path, "ofac_consolidated"),
    "un": parse_un,
    "bis_dpl": parse_bis_dpl,
    "eu": parse_eu,
}
SOURCES = tuple(_PARSERS)


def _head(path: Path, size: int = 4096) -> str:
    with path.open("rb") as handle:
        return handle.read(size).decode("utf-8-sig", errors="replace")


def detect_source(path: Path | str) -> str:
    """Guess the list format of a file or folder from its names and first bytes."""
    path = Path(path)
    folder_names = {child.name for child in path.iterdir()} if path.is_dir() else {path.name}
    for source, names in FILE_SETS.items():
        if names[0] in folder_names or (path.is_file() and path.name in names):
            return source
    if path.is_dir():
        candidates = [child for child in sorted(path.iterdir()) if child.is_file()]
        if len(candidates) == 1:
            return detect_source(candidates[0])
        raise ListFormatError(f"{path}: cannot tell which list this folder holds")
    head = _head(path)
    if "<CONSOLIDATED_LIST" in head:
        return "un"
    first_line = head.splitlines()[0] if head else ""
    columns = [cell.strip().strip('"') for cell in first_line.split("\t")]
    if tuple(columns) == BIS_COLUMNS:
        return "bis_dpl"
    if all(column in first_line.split(";") for column in EU_REQUIRED):
        return "eu"
    raise ListFormatError(f"{path.name}: not a list format this service reads")


def checksum(files: tuple[Path, ...]) -> str:
    """SHA-256 over the file set: each file's name and bytes, in the set's fixed order."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0")
        data = file.read_bytes()
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def parse_list(path: Path | str, source: str | None = None) -> ParsedList:
    """Parse a list file set; ``source`` defaults to :func:`detect_source`."""
    path = Path(path)
    if not path.exists():
        raise ListFormatError(f"{path}: no such file or folder")
    name = source or detect_source(path)
    parser = _PARSERS.get(name)
    if parser is None:
        raise ListFormatError(f"unknown list source {name!r}; known: {', '.join(SOURCES)}")
    try:
        return parser(path)
    except UnicodeDecodeError as exc:
        raise ListFormatError(f"{path}: not UTF-8 text: {exc}") from exc

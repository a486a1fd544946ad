"""Fixtures over the real list files in shared/data/sanctions (parsed and indexed once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance.sanctions import ListEntry, ScreeningIndex, parse_list
from tests.shared_data import shared_data

_DATA = Path(__file__).with_name("data")


@pytest.fixture(scope="session")
def lists() -> Path:
    """The folder of real published list files (see its README.md)."""
    return shared_data("sanctions")


@pytest.fixture(scope="session")
def sanctions_data() -> Path:
    """Fixtures written for these tests (EU CSV sample, ordinary names)."""
    return _DATA


@pytest.fixture(scope="session")
def sdn_entries(lists: Path) -> tuple[ListEntry, ...]:
    return parse_list(lists / "ofac_sdn").entries


@pytest.fixture(scope="session")
def sdn_index(sdn_entries: tuple[ListEntry, ...]) -> ScreeningIndex:
    return ScreeningIndex.build(sdn_entries)


@pytest.fixture(scope="session")
def all_lists_index(
    lists: Path, sanctions_data: Path, sdn_entries: tuple[ListEntry, ...]
) -> ScreeningIndex:
    """OFAC SDN and consolidated, UN, BIS DPL and the EU fixture in one index."""
    entries = list(sdn_entries)
    for path in ("ofac_consolidated", "un/UN_consolidated.xml", "bis_dpl/dpl.txt"):
        entries += parse_list(lists / path).entries
    entries += parse_list(sanctions_data / "eu_fsf_sample.csv").entries
    return ScreeningIndex.build(entries)


@pytest.fixture(scope="session")
def ordinary_names(sanctions_data: Path) -> list[tuple[str, str]]:
    """(name, kind) pairs from data/ordinary_names.txt."""
    kind = "person"
    names: list[tuple[str, str]] = []
    for raw in (sanctions_data / "ordinary_names.txt").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            kind = line.strip("[]")
            continue
        names.append((line, kind))
    return names

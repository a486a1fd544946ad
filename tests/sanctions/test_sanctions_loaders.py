"""Each loader on its real published file, plus the refusal of malformed files."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from collections import Counter
from pathlib import Path

import pytest

from compliance.sanctions import (
    AliasQuality,
    BirthDate,
    EntryKind,
    ListFormatError,
    checksum,
    detect_source,
    parse_list,
)
from compliance.sanctions.countries import resolve_country
from compliance.sanctions.ofac_remarks import parse_birth_date, parse_remarks


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.reader(handle) if len(row) > 1]


def test_ofac_sdn_counts_match_the_readme(lists: Path) -> None:
    parsed = parse_list(lists / "ofac_sdn")
    entries = parsed.entries
    assert parsed.source == "ofac_sdn"
    assert len(entries) == 8976
    strong = sum(1 for e in entries for a in e.aliases if a.quality is AliasQuality.STRONG)
    assert strong == 11910  # one strong alias per alt.csv row
    assert max(int(e.entry_id) for e in entries) == 32391
    kinds = Counter(e.kind for e in entries)
    assert kinds == Counter(
        {
            EntryKind.PERSON: 4620,
            EntryKind.ENTITY: 3673,
            EntryKind.VESSEL: 406,
            EntryKind.AIRCRAFT: 277,
        }
    )
    # address countries (add.csv) reach their entries
    add_rows = _csv_rows(lists / "ofac_sdn" / "add.csv")
    assert len(add_rows) == 13837
    bank = next(e for e in entries if e.entry_id == "306")
    from_rows = {resolve_country(row[4].strip()) for row in add_rows if row[0] == "306"}
    assert from_rows == {"CH", "ES", "JP", "PA"}
    assert from_rows <= set(bank.countries)


def test_ofac_sdn_remarks_give_birth_dates_countries_and_weak_aliases(lists: Path) -> None:
    entries = {e.entry_id: e for e in parse_list(lists / "ofac_sdn").entries}
    saddam = entries["7843"]
    assert saddam.kind is EntryKind.PERSON
    assert saddam.name == "AL-TIKRITI, Saddam Hussein"
    assert saddam.birth_dates == (BirthDate(1937, 4, 28),)
    assert "IQ" in saddam.countries
    assert ("ABU ALI", AliasQuality.WEAK) in {(a.name, a.quality) for a in saddam.aliases}
    assert saddam.programs == ("IRAQ2",)
    bin_ladin = entries["6365"]
    assert bin_ladin.birth_dates == (BirthDate(1957, 7, 30), BirthDate(1958))
    assert {"SA", "YE"} <= set(bin_ladin.countries)
    circa = entries["7846"]  # "DOB circa 1957"
    assert circa.birth_dates == (BirthDate(1957, circa=True),)
    # a remark continued in sdn_comments.csv is joined back together
    assert entries["12300"].remarks.endswith("Linked To: R D I S.A.")


def test_remarks_parser_on_its_formats() -> None:
    facts = parse_remarks(
        "DOB 01 Jan 1960; alt. DOB 1961 to 1963; POB Pyongyang, Korea, North; "
        "nationality Russia; citizen Cyprus; a.k.a. 'ABU-'UMAR'; f.k.a. 'OLD NAME'."
    )
    assert facts.birth_dates == (BirthDate(1960, 1, 1), BirthDate(1961, to_year=1963))
    assert facts.countries == ("KP", "RU", "CY")
    assert [(a.name, a.kind, a.quality) for a in facts.weak_aliases] == [
        ("ABU-'UMAR", "aka", AliasQuality.WEAK),
        ("OLD NAME", "fka", AliasQuality.WEAK),
    ]
    assert parse_birth_date("Jan 1960") == BirthDate(1960, 1)
    assert parse_birth_date("01 Jan 1973 to 31 Dec 1973") == BirthDate(1973)
    assert parse_birth_date("sometime in the 60s") is None


def test_ofac_older_sample_and_consolidated_counts(lists: Path) -> None:
    assert len(parse_list(lists / "ofac_sdn_older").entries) == 7379
    sample = parse_list(lists / "ofac_sdn_sample").entries
    assert len(sample) == 17
    assert {e.kind for e in sample} == set(EntryKind)
    consolidated = parse_list(lists / "ofac_consolidated")
    assert consolidated.source == "ofac_consolidated"
    assert len(consolidated.entries) == 442
    assert Counter(e.kind for e in consolidated.entries)[EntryKind.PERSON] == 79


def test_un_xml_counts_and_fields(lists: Path) -> None:
    parsed = parse_list(lists / "un" / "UN_consolidated.xml")
    kinds = Counter(e.kind for e in parsed.entries)
    assert kinds == Counter({EntryKind.PERSON: 730, EntryKind.ENTITY: 273})
    assert parsed.publication_date == dt.date(2026, 2, 27)
    entries = {e.entry_id: e for e in parsed.entries}
    badege = entries["CDi.001"]
    assert badege.name == "ERIC BADEGE"
    assert badege.birth_dates == (BirthDate(1971),)
    assert badege.countries == ("CD", "RW")
    kakolele = entries["CDi.002"]
    assert {a.name for a in kakolele.aliases} >= {"FRANK KAKORERE", "AIGLE BLANC"}
    qualities = Counter(a.quality for e in parsed.entries for a in e.aliases)
    assert qualities[AliasQuality.WEAK] > 500  # UN "Low" quality aliases
    original = [a.name for e in parsed.entries for a in e.aliases if a.kind == "original_script"]
    assert "صدام حسين التكريتي" in original
    assert len(original) == 336 + 42


def test_bis_dpl_counts_ids_and_inline_alias(lists: Path) -> None:
    parsed = parse_list(lists / "bis_dpl" / "dpl.txt")
    assert len(parsed.entries) == 546
    assert len({e.entry_id for e in parsed.entries}) == 546
    li = next(e for e in parsed.entries if e.name == "PEARL LI")
    assert [a.name for a in li.aliases] == ["NEI-CHIEN CHU"]
    kinds = {e.name: e.kind for e in parsed.entries}
    assert kinds["ADRIAN MANUEL HERNANDEZ"] is EntryKind.PERSON
    assert kinds["PARTO ABGARDAN COOLING TOWERS CO."] is EntryKind.ENTITY
    # ids are stable: parsing again gives the same ones
    assert [e.entry_id for e in parse_list(lists / "bis_dpl" / "dpl.txt").entries] == [
        e.entry_id for e in parsed.entries
    ]


def test_eu_csv_fixture(sanctions_data: Path) -> None:
    parsed = parse_list(sanctions_data / "eu_fsf_sample.csv")
    assert parsed.source == "eu"
    assert parsed.publication_date == dt.date(2026, 2, 14)
    entries = {e.entry_id: e for e in parsed.entries}
    assert len(entries) == 5
    deripaska = entries["2674"]
    assert deripaska.kind is EntryKind.PERSON
    assert deripaska.name == "Oleg Vladimirovich DERIPASKA"
    assert [a.name for a in deripaska.aliases] == ["Олег Владимирович ДЕРИПАСКА"]
    assert deripaska.countries == ("RU", "CY")
    assert deripaska.birth_dates == (BirthDate(1968, 1, 2),)
    bank = entries["42"]
    assert bank.kind is EntryKind.ENTITY
    assert bank.countries == ("SY",)  # from the ISO code, then from "Syria"
    assert entries["9002"].name == "Ahmed Ibrahim AL-HAMDANI"  # assembled from name parts
    assert entries["9002"].birth_dates == (
        BirthDate(1960, to_year=1962),
        BirthDate(1965, circa=True),
    )


@pytest.mark.parametrize(
    ("relative", "source"),
    [
        ("ofac_sdn", "ofac_sdn"),
        ("ofac_sdn/alt.csv", "ofac_sdn"),
        ("ofac_consolidated", "ofac_consolidated"),
        ("un/UN_consolidated.xml", "un"),
        ("bis_dpl", "bis_dpl"),
    ],
)
def test_detect_source(lists: Path, relative: str, source: str) -> None:
    assert detect_source(lists / relative) == source


def test_detect_source_eu_and_unknown(sanctions_data: Path, tmp_path: Path) -> None:
    assert detect_source(sanctions_data / "eu_fsf_sample.csv") == "eu"
    other = tmp_path / "notes.txt"
    other.write_text("just some text\n", encoding="utf-8")
    with pytest.raises(ListFormatError):
        detect_source(other)


def test_checksum_covers_every_file_of_the_set(lists: Path, tmp_path: Path) -> None:
    copy = tmp_path / "sdn"
    shutil.copytree(lists / "ofac_sdn_sample", copy)
    before = checksum(parse_list(copy).files)
    with (copy / "add.csv").open("a", encoding="utf-8") as handle:
        handle.write('10278,9999,"Street",-0- ,"Belize",-0- \n')
    assert checksum(parse_list(copy).files) != before


def test_malformed_files_are_refused(lists: Path, tmp_path: Path) -> None:
    broken = tmp_path / "ofac"
    shutil.copytree(lists / "ofac_sdn_sample", broken)
    with (broken / "sdn.csv").open("a", encoding="utf-8") as handle:
        handle.write('99999,"HALF A ROW",-0- \n')
    with pytest.raises(ListFormatError, match="expected 12 columns"):
        parse_list(broken, "ofac_sdn")
    (broken / "alt.csv").unlink()
    with pytest.raises(ListFormatError, match=r"missing alt\.csv"):
        parse_list(broken, "ofac_sdn")

    xml = tmp_path / "un.xml"
    xml.write_text("<CONSOLIDATED_LIST><INDIVIDUALS>", encoding="utf-8")
    with pytest.raises(ListFormatError, match="well-formed"):
        parse_list(xml, "un")

    dpl = tmp_path / "dpl.txt"
    dpl.write_text('"Name"\t"Address"\n"X"\t"Y"\n', encoding="utf-8")
    with pytest.raises(ListFormatError, match="header"):
        parse_list(dpl, "bis_dpl")

    eu = tmp_path / "eu.csv"
    eu.write_text("Entity_LogicalId;Entity_SubjectType;NameAlias_WholeName\n1;P\n", "utf-8")
    with pytest.raises(ListFormatError, match="expected 3 columns"):
        parse_list(eu, "eu")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Korea, North", "KP"),
        ("Burma", "MM"),
        ("Iran (Islamic Republic of)", "IR"),
        ("Congo, Democratic Republic of the", "CD"),
        ("Bahamas, The", "BS"),
        ("Region: Crimea", "UA"),
        ("Russian Federation", "RU"),
        ("Türkiye", "TR"),
        ("US", "US"),
        ("na", None),
        ("former Soviet Union", None),
    ],
)
def test_country_resolution(name: str, code: str | None) -> None:
    assert resolve_country(name) == code

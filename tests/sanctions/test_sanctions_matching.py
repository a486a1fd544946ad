"""Screening names against the real OFAC SDN list (and the other lists) through the index."""

from __future__ import annotations

import pytest

from compliance.sanctions import (
    AliasQuality,
    Decision,
    EntryKind,
    ListEntry,
    ScreeningIndex,
    ScreeningResult,
    Thresholds,
)


def _hits(result: ScreeningResult, entry_id: str, minimum: float = 0.85) -> bool:
    return any(m.entry_id == entry_id and m.score >= minimum for m in result.matches)


# (query, kind, SDN entry id): every query must hit its entry at review level or above.
EXACT_AND_ALIASES = [
    ("AEROCARIBBEAN AIRLINES", "entity", "36"),
    ("AERO-CARIBBEAN", None, "36"),  # alt.csv alias
    ("NATIONAL BANK OF CUBA", "entity", "306"),  # alias of BANCO NACIONAL DE CUBA
    ("AL-TIKRITI, Saddam Hussein", "person", "7843"),
    ("BIN LADEN, Osama", "person", "6365"),  # alias spelling
    ("KIM, Jong Un", "person", "20157"),
]
VARIATIONS = [
    # word order
    ("Saddam Hussein Al-Tikriti", "person", "7843"),
    ("Oleg Vladimirovich Deripaska", "person", "24283"),
    ("Kovalchuk Yuri Valentinovich", "person", "16680"),
    # initials
    ("O. V. Deripaska", "person", "24283"),
    ("Deripaska, O.", "person", "24283"),
    ("Viktor F. Vekselberg", "person", "24306"),
    # typos
    ("Oleg Vladimirovich Deripsaka", "person", "24283"),
    ("Oleg Deripasca", "person", "24283"),
    ("Viktor Vekselburg", "person", "24306"),
    ("Ramzan Kadyrow", "person", "23343"),
    # missing middle name / patronymic
    ("Oleg Deripaska", "person", "24283"),
    ("Andrey Kostin", "person", "24063"),
    ("Yevgeniy Prigozhin", "person", "21171"),
    # accents
    ("Öleg Děripaška", "person", "24283"),
    ("Miguel Ángel Rodríguez Orejuela", "person", "4108"),
    # legal forms
    ("Banco Nacional de Cuba S.A.", "entity", "306"),
    ("ANGLO CARIBBEAN COMPANY LIMITED", "entity", "173"),
    ("Anglo-Caribbean Co Ltd", None, "173"),
    ("CIMEX LLC", "entity", "535"),
    # transliteration drift in Latin spellings
    ("Moammar Qaddafi", "person", "12606"),
    ("Osama bin Laden", "person", "6365"),
    ("Kim Jongun", "person", "20157"),
]
# Native-script spellings of listed persons (the SDN list itself is Latin-only).
NATIVE_SCRIPT = [
    ("Олег Владимирович Дерипаска", "24283"),
    ("Виктор Феликсович Вексельберг", "24306"),
    ("Андрей Леонидович Костин", "24063"),
    ("Рамзан Ахматович Кадыров", "23343"),
    ("Евгений Викторович Пригожин", "21171"),
    ("Юрий Валентинович Ковальчук", "16680"),
    ("Игорь Сечин", "16692"),
    ("صدام حسين التكريتي", "7843"),
    ("أسامة بن محمد بن عوض بن لادن", "6365"),
    ("معمر القذافي", "12606"),
    ("عزت إبراهيم الدوري", "7848"),
    ("김정은", "20157"),
    ("李方伟", "11447"),
]


@pytest.mark.parametrize(("query", "kind", "entry_id"), EXACT_AND_ALIASES)
def test_exact_names_and_aliases_block(
    sdn_index: ScreeningIndex, query: str, kind: str | None, entry_id: str
) -> None:
    result = sdn_index.screen(query, kind=kind)
    assert result.decision is Decision.BLOCK
    top = result.matches[0]
    assert top.entry_id == entry_id
    assert top.score == pytest.approx(1.0)
    assert top.list == "ofac_sdn"


def test_match_carries_listed_name_and_matched_alias(sdn_index: ScreeningIndex) -> None:
    top = sdn_index.screen("NATIONAL BANK OF CUBA").matches[0]
    assert top.name == "BANCO NACIONAL DE CUBA"
    assert top.matched_name == "NATIONAL BANK OF CUBA"
    assert top.kind is EntryKind.ENTITY
    assert top.to_dict()["entry_id"] == "306"


@pytest.mark.parametrize(("query", "kind", "entry_id"), VARIATIONS)
def test_variations_of_listed_names_hit(
    sdn_index: ScreeningIndex, query: str, kind: str | None, entry_id: str
) -> None:
    result = sdn_index.screen(query, kind=kind)
    assert result.decision is not Decision.ALLOW
    assert _hits(result, entry_id), result.matches[:3]


@pytest.mark.parametrize(("query", "entry_id"), NATIVE_SCRIPT)
def test_native_script_names_of_listed_persons_hit(
    sdn_index: ScreeningIndex, query: str, entry_id: str
) -> None:
    result = sdn_index.screen(query, kind="person")
    assert result.decision is not Decision.ALLOW
    assert result.matches[0].entry_id == entry_id


def test_cyrillic_exact_transliteration_blocks(sdn_index: ScreeningIndex) -> None:
    result = sdn_index.screen("Олег Владимирович Дерипаска", kind="person")
    assert result.decision is Decision.BLOCK
    assert result.matches[0].matched_name == "DERIPASKA, Oleg Vladimirovich"
    assert "transliterated" in result.matches[0].reasons


def test_ordinary_names_do_not_reach_review(
    all_lists_index: ScreeningIndex, ordinary_names: list[tuple[str, str]]
) -> None:
    assert len(ordinary_names) >= 400
    flagged = []
    for name, kind in ordinary_names:
        for query_kind in (kind, None):
            result = all_lists_index.screen(name, kind=query_kind)
            if result.decision is not Decision.ALLOW:
                flagged.append((name, query_kind, result.matches[0]))
    assert flagged == []


@pytest.mark.parametrize("query", ["Mohammed", "Trading", "General Trading", "Trading Company"])
def test_common_words_alone_do_not_match(sdn_index: ScreeningIndex, query: str) -> None:
    assert sdn_index.screen(query).decision is Decision.ALLOW


def test_one_shared_first_name_does_not_carry_a_match(sdn_index: ScreeningIndex) -> None:
    # "Saddam" is rare enough to be listed, but a different surname must not ride on it.
    result = sdn_index.screen("Saddam Kowalski", kind="person")
    assert result.decision is Decision.ALLOW


def test_numbers_are_kept_in_company_names() -> None:
    entries = [
        ListEntry("test", "1", EntryKind.ENTITY, "NORTHERN SHIPPING COMPANY 1"),
        ListEntry("test", "2", EntryKind.ENTITY, "UNRELATED HOLDINGS"),
    ]
    index = ScreeningIndex.build(entries)
    assert index.screen("Northern Shipping Company 1").decision is Decision.BLOCK
    second = index.screen("Northern Shipping Company 2")
    assert second.decision is Decision.ALLOW


def test_scores_are_bounded_and_ranked(sdn_index: ScreeningIndex) -> None:
    result = sdn_index.screen("Muammar Qadhafi", limit=5)
    scores = [m.score for m in result.matches]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert len(result.matches) <= 5
    assert result.matches[0].entry_id == "12606"


def test_type_awareness(sdn_index: ScreeningIndex, sdn_entries: tuple[ListEntry, ...]) -> None:
    as_person = sdn_index.screen("Oleg Deripaska", kind="person").matches[0]
    as_vessel = sdn_index.screen("Oleg Deripaska", kind="vessel")
    assert as_vessel.top_score < as_person.score
    ship = next(e for e in sdn_entries if e.kind is EntryKind.VESSEL and " " in e.name)
    by_vessel = sdn_index.screen(ship.name, kind="vessel")
    assert by_vessel.decision is Decision.BLOCK
    assert by_vessel.matches[0].kind is EntryKind.VESSEL
    by_person = sdn_index.screen(ship.name, kind="person")
    assert by_person.top_score < 0.85  # a person is not a ship, whatever the name
    person_query = sdn_index.screen("Oleg Deripaska", kind="entity").matches
    assert not person_query or person_query[0].score < as_person.score
    assert not person_query or "kind_mismatch" in person_query[0].reasons


def test_date_of_birth_and_country_move_the_score(sdn_index: ScreeningIndex) -> None:
    base = sdn_index.screen("Oleg Deripaska", kind="person").matches[0]
    agreeing = sdn_index.screen(
        "Oleg Deripaska", kind="person", date_of_birth="1968-01-02", country="Russia"
    ).matches[0]
    assert agreeing.score > base.score
    assert {"dob_match", "country_match"} <= set(agreeing.reasons)
    year_only = sdn_index.screen("Oleg Deripaska", kind="person", date_of_birth="1968").matches[0]
    assert base.score < year_only.score < agreeing.score
    conflicting = sdn_index.screen(
        "Oleg Deripaska", kind="person", date_of_birth="1990-05-05", country="FR"
    )
    assert conflicting.top_score < base.score
    assert conflicting.decision is Decision.ALLOW


def test_weak_aliases_score_below_strong_ones(sdn_index: ScreeningIndex) -> None:
    # "ABU ALI" is a weak (remarks) a.k.a. of Saddam Hussein (7843).
    result = sdn_index.screen("Abu Ali", kind="person")
    weak = [m for m in result.matches if m.entry_id == "7843"]
    assert weak
    assert weak[0].alias_quality is AliasQuality.WEAK
    assert weak[0].score < 0.95
    assert "weak_alias" in weak[0].reasons


def test_thresholds_are_configurable(sdn_index: ScreeningIndex) -> None:
    strict = Thresholds(block=0.9, review=0.8, report=0.7)
    assert sdn_index.screen("Oleg Deripaska", kind="person", thresholds=strict).decision is (
        Decision.BLOCK
    )
    lenient = Thresholds(block=1.0, review=0.99, report=0.9)
    assert sdn_index.screen("Oleg Deripaska", kind="person", thresholds=lenient).decision is (
        Decision.ALLOW
    )
    with pytest.raises(ValueError):
        Thresholds(block=0.8, review=0.9)


def test_other_lists_are_screened_too(all_lists_index: ScreeningIndex) -> None:
    un = all_lists_index.screen("ERIC BADEGE", kind="person")
    assert any(m.list == "un" and m.entry_id == "CDi.001" for m in un.matches)
    bis = all_lists_index.screen("Pearl Li", kind="person")
    assert any(m.list == "bis_dpl" for m in bis.matches)
    eu = all_lists_index.screen("Commercial Bank of Syria", kind="entity")
    assert any(m.list == "eu" and m.entry_id == "42" for m in eu.matches)
    # the EU entry's Russian-script alias and the UN original-script name are indexed
    ru = all_lists_index.screen("Олег Дерипаска", kind="person")
    assert {("eu", "2674"), ("ofac_sdn", "24283")} <= {(m.list, m.entry_id) for m in ru.matches}


def test_empty_index_and_empty_query() -> None:
    empty = ScreeningIndex.build([])
    assert empty.screen("Anyone").decision is Decision.ALLOW
    index = ScreeningIndex.build([ListEntry("test", "1", EntryKind.ENTITY, "ACME")])
    assert index.screen("  ...  ").matches == ()


def test_listed_names_find_themselves(
    sdn_index: ScreeningIndex, sdn_entries: tuple[ListEntry, ...]
) -> None:
    """Every strong name of every 7th entry, queried as listed, is flagged on its entry.

    (Weak aliases are excluded by design: a weak alias that is one common word, such
    as "ABDULLAH", is not enough to flag anyone.)
    """
    missed = []
    for entry in sdn_entries[::7]:
        for alias in entry.names():
            if alias.quality is AliasQuality.WEAK:
                continue
            result = sdn_index.screen(alias.name)
            if not any(m.entry_id == entry.entry_id and m.score >= 0.85 for m in result.matches):
                missed.append(alias.name)
    assert missed == []

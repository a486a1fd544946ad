"""Name analysis: normalisation, legal forms, particles, transliteration, skeletons."""

from __future__ import annotations

import pytest

from compliance.sanctions import BirthDate, EntryKind
from compliance.sanctions.names import Role, analyse
from compliance.sanctions.normalise import strip_legal_forms, tokens
from compliance.sanctions.similarity import token_similarity
from compliance.sanctions.skeleton import skeleton
from compliance.sanctions.transliterate import Script, cyrillic_spellings, script_of


def _keys(name: str, kind: EntryKind | None = None) -> list[list[str]]:
    return [[slot.key for slot in form.slots] for form in analyse(name, kind)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("S.A. de C.V.", ["sa", "de", "cv"]),
        ("AL-TIKRITI, Saddam", ["al", "tikriti", "saddam"]),
        ("Müller-Lüdenscheidt", ["muller", "ludenscheidt"]),
        ("O'Brien", ["obrien"]),
        ("Company No.1", ["company", "no", "1"]),
    ],
)
def test_tokens(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


@pytest.mark.parametrize(
    ("words", "kept"),
    [
        (["mi", "fel", "s", "de", "rl", "de", "cv"], ["mi", "fel"]),
        (["ooo", "romashka"], ["romashka"]),
        (["anglo", "caribbean", "co", "ltd"], ["anglo", "caribbean"]),
        (["company", "1"], ["company", "1"]),  # "Company" leads: a name, not a form
        (["llc"], ["llc"]),  # never empties a name
    ],
)
def test_legal_forms(words: list[str], kept: list[str]) -> None:
    assert strip_legal_forms(words) == kept


def test_person_roles_from_last_comma_first() -> None:
    (form,) = analyse("KHOROSHEV, Dmitry Yuryevich", EntryKind.PERSON)
    assert [(s.primary, s.role) for s in form.slots] == [
        ("khoroshev", Role.CORE),
        ("dmitry", Role.CORE),
        ("yuryevich", Role.MIDDLE),
    ]


def test_arabic_name_particles_and_abd_compounds() -> None:
    person = EntryKind.PERSON
    assert _keys("Abd al-Rahman Yasin", person) == [["abdrahman", "yasin"]]
    assert _keys("ABDULRAHMAN YASIN", person) == [["abdrahman", "yasin"]]
    assert _keys("Abdurrahman bin Yasin", person) == [["abdrahman", "yasin"]]
    assert _keys("ad-Dagestani, Ali", person) == [["dagestani", "ali"]]
    assert _keys("عبد الرحمن ياسين", person) == [["~abdrhmn", "~ysyn"]]
    assert skeleton("abdrahman") == skeleton("abdrhmn")


def test_cyrillic_gets_several_published_romanisations() -> None:
    spellings = cyrillic_spellings("Юрьевич")
    assert {"yuryevich", "iurevich"} <= set(spellings)
    assert cyrillic_spellings("Щукин")[0] == "shchukin"
    assert "zhukov" in cyrillic_spellings("Жуков")
    assert "khoroshev" in cyrillic_spellings("Хорошев")


def test_unknown_type_keeps_a_literal_reading() -> None:
    # "SA" ends many company names, but "KHUN SA" is a person; "DIAMOND II" is a ship.
    assert _keys("KHUN SA", EntryKind.ENTITY) == [["khun"]]
    assert ["khun", "sa"] in _keys("KHUN SA")
    assert ["diamond", "ii"] in _keys("DIAMOND II")
    assert ["brc"] in _keys("B R C S.A.", EntryKind.ENTITY)  # letters as an acronym


def test_cjk_and_greek_readings() -> None:
    assert ["li", "fangwei"] in _keys("李方伟")
    korean = analyse("김정은")
    assert any("kim" in form.slots[0].spellings for form in korean)
    assert _keys("Αλέξης Τσίπρας") == [["alexis", "tsipras"]]
    assert script_of("Αλέξης") is Script.GREEK
    assert script_of("Smith") is Script.LATIN


@pytest.mark.parametrize(
    ("a", "b"),
    [("hussein", "husayn"), ("qadhafi", "gaddafi"), ("mohammed", "muhammad"), ("hsyn", "hussein")],
)
def test_skeletons_bridge_transliterations(a: str, b: str) -> None:
    assert skeleton(a) == skeleton(b)


def test_token_similarity_rules() -> None:
    def sim(a: str, b: str) -> float:
        return token_similarity(a, b, query_abjad=False, listed_abjad=False)

    assert sim("khoroshev", "khoroshev") == 1.0
    assert sim("khorosev", "khoroshev") > 0.85
    assert sim("1", "2") == 0.0
    assert sim("maria", "marin") == 0.0  # a different name, not a typo
    assert sim("jing", "jiang") < 0.85
    assert token_similarity("sdm", "saddam", query_abjad=True, listed_abjad=False) == 0.9


def test_birth_date_text_round_trip() -> None:
    for value in (
        BirthDate(1960),
        BirthDate(1960, 1),
        BirthDate(1960, 1, 31),
        BirthDate(1957, circa=True),
        BirthDate(1950, to_year=1955),
    ):
        assert BirthDate.parse(str(value)) == value
    with pytest.raises(ValueError):
        BirthDate(1960, 2, 30)

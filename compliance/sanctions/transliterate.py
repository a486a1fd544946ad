"""Names written in Cyrillic, Arabic, Greek, Chinese, Korean or Japanese kana -> Latin.

Lists spell foreign names in Latin letters, and not by one system: OFAC writes
Russian names mostly BGN/PCGN- or Wikipedia-style ("Yuryevich", "Khoroshev") while
passports follow ICAO 9303 ("Iurevich"). So a Cyrillic word becomes *several*
candidate spellings (iuliia's published schemas plus anyascii), and the matcher
takes the best.

Arabic script writes no short vowels, so no spelling can be recovered reliably
("صدام" is "Saddam", "Sadam", "Seddam"...); Arabic words are instead compared by
consonant skeleton (see :mod:`compliance.sanctions.skeleton`) and only the consonants
are produced here, with the article "ال" and the diacritics removed.

Chinese and Korean come out syllable by syllable (anyascii's pinyin / Revised
Romanization); Korean also gets the popular McCune-Reischauer-like spelling used
for North Korean names on the lists ("김정은" -> "gim jeong eun" and "kim jong un").
Japanese kanji are read as Chinese by anyascii, which is wrong for Japanese names;
there is no reliable way to read a kanji name without a dictionary of readings, so
only kana are supported for Japanese.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from functools import lru_cache

import iuliia
from anyascii import anyascii

from compliance.sanctions.normalise import fold


class Script(StrEnum):
    LATIN = "latin"
    CYRILLIC = "cyrillic"
    ARABIC = "arabic"
    GREEK = "greek"
    HAN = "han"
    HANGUL = "hangul"
    KANA = "kana"
    OTHER = "other"


_RUSSIAN_SCHEMAS = (iuliia.WIKIPEDIA, iuliia.BGN_PCGN, iuliia.ICAO_DOC_9303, iuliia.MVD_782)
_ARABIC_MARKS = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_ARTICLE = "ال"
_CAPITALISED = re.compile(r"[A-Z][a-z]*|[a-z]+")


def _script_of_char(char: str) -> Script | None:
    if not char.isalpha():
        return None
    code = ord(char)
    if code < 0x250 or 0x1E00 <= code <= 0x1EFF:
        return Script.LATIN
    if 0x400 <= code <= 0x52F:
        return Script.CYRILLIC
    if 0x370 <= code <= 0x3FF or 0x1F00 <= code <= 0x1FFF:
        return Script.GREEK
    if 0x600 <= code <= 0x6FF or 0x750 <= code <= 0x77F or 0xFB50 <= code <= 0xFEFF:
        return Script.ARABIC
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return Script.HANGUL
    if 0x3040 <= code <= 0x30FF:
        return Script.KANA
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF:
        return Script.HAN
    return Script.OTHER


def script_of(word: str) -> Script:
    """The script of most of a word's letters (digits and marks do not vote)."""
    if word.isascii():
        return Script.LATIN
    votes: dict[Script, int] = {}
    for char in word:
        script = _script_of_char(char)
        if script:
            votes[script] = votes.get(script, 0) + 1
    if not votes:
        return Script.LATIN
    return max(votes, key=votes.__getitem__)


@lru_cache(maxsize=8192)
def cyrillic_spellings(word: str) -> tuple[str, ...]:
    """Every published romanisation we know of, folded, most list-like first."""
    spellings = [fold(schema.translate(word)) for schema in _RUSSIAN_SCHEMAS]
    spellings.append(fold(word))  # anyascii
    cleaned = (re.sub(r"[^a-z0-9]", "", spelling) for spelling in spellings)
    return tuple(dict.fromkeys(spelling for spelling in cleaned if spelling))


def arabic_consonants(word: str) -> str:
    """Consonantal Latin rendering of one Arabic-script word, without its article."""
    word = _ARABIC_MARKS.sub("", unicodedata.normalize("NFKC", word))
    if word.startswith(_ARABIC_ARTICLE) and len(word) > 3:
        word = word[2:]
    return re.sub(r"[^a-z0-9]", "", anyascii(word).casefold())


ARABIC_PARTICLES = frozenset({"بن", "ابن", "بنت", "إبن"})
ARABIC_ABD = "عبد"


@lru_cache(maxsize=8192)
def syllables(word: str) -> tuple[str, ...]:
    """Han / Hangul word -> its syllables in anyascii's romanisation, folded."""
    pieces: list[str] = []
    for char in word:
        latin = anyascii(char)
        pieces.extend(piece.casefold() for piece in _CAPITALISED.findall(latin))
    return tuple(piece for piece in pieces if piece)


_KOREAN_DEVOICED = {"g": "k", "d": "t", "b": "p", "j": "ch"}
_KOREAN_SURNAMES = {"i": "ri", "yi": "ri", "li": "ri", "bag": "pak", "jo": "cho", "gim": "kim"}


def _korean_popular(syllable: str) -> str:
    text = syllable.replace("eo", "o").replace("eu", "u")
    if text.endswith("g") and not text.endswith("ng"):
        text = text[:-1] + "k"
    elif text.endswith("b"):
        text = text[:-1] + "p"
    elif text.endswith("d"):
        text = text[:-1] + "t"
    if text.startswith("l"):
        text = "r" + text[1:]
    return text


def korean_spellings(syllable: str, *, surname: bool, word_initial: bool) -> tuple[str, ...]:
    """One Revised Romanization syllable -> the spellings lists use for it.

    North Korean names are listed in a McCune-Reischauer-like spelling without its
    diacritics ("gim" -> "kim", "jeong" -> "jong", "eun" -> "un", "i"/"li" -> "ri",
    "bag" -> "pak"), and a word-initial consonant is written voiceless in some
    entries and voiced in others ("To-Chun" but "Jong Un"), so both are offered.
    """
    spellings = [syllable]
    if surname and syllable in _KOREAN_SURNAMES:
        spellings.append(_KOREAN_SURNAMES[syllable])
    popular = _korean_popular(syllable)
    spellings.append(popular)
    if (
        (surname or word_initial)
        and popular[:1] in _KOREAN_DEVOICED
        and not popular.startswith("ch")
    ):
        spellings.append(_KOREAN_DEVOICED[popular[0]] + popular[1:])
    return tuple(dict.fromkeys(spellings))


def other_spellings(word: str) -> tuple[str, ...]:
    """Greek, kana and anything else: anyascii's romanisation, folded."""
    spelling = re.sub(r"[^a-z0-9]", "", fold(word))
    return (spelling,) if spelling else ()

"""Latin-script name text -> comparable tokens.

Case, accents and punctuation carry no identity ("Müller", "MULLER", "Muller,"), so
they are folded away; legal-form words ("LLC", "S.A. de C.V.", "OOO") and name
particles ("al-", "bin", "de") are dropped because they are shared by thousands of
unrelated names and would otherwise make every company look like every other.
Numbers are kept as tokens: "Company 1" and "Company 2" are different parties.
"""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

# Single-token legal forms, written as they are after dots are removed ("S.A." -> "sa").
LEGAL_FORMS = frozenset(
    [
        "llc",
        "lc",
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "cos",
        "plc",
        "llp",
        "lp",
        "lllp",
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "kgaa",
        "ohg",
        "ug",
        "ev",
        "sa",
        "sas",
        "sasu",
        "sarl",
        "sl",
        "slu",
        "srl",
        "spa",
        "sapa",
        "snc",
        "sro",
        "as",
        "asa",
        "ab",
        "oy",
        "oyj",
        "nv",
        "bv",
        "bvba",
        "cvba",
        "vof",
        "pte",
        "pty",
        "pvt",
        "jsc",
        "ojsc",
        "cjsc",
        "pjsc",
        "ooo",
        "oao",
        "zao",
        "pao",
        "ao",
        "tov",
        "too",
        "ip",
        "chp",
        "fze",
        "fzc",
        "fzco",
        "fzllc",
        "fzd",
        "dmcc",
        "wll",
        "bsc",
        "saog",
        "saoc",
        "qsc",
        "qpsc",
        "kft",
        "zrt",
        "nyrt",
        "doo",
        "dd",
        "ad",
        "ead",
        "eood",
        "sp",
        "zoo",
        "spzoo",
        "ltda",
        "sae",
        "cv",
        "sab",
        "sapi",
        "se",
        "scs",
        "sca",
        "gie",
        "eirl",
        "sac",
        "saa",
        "cia",
        "cie",
        "kk",
        "yk",
        "gk",
        "tbk",
        "pt",
        "bhd",
        "sdn",
        "shpk",
        "ehf",
        "hf",
        "aps",
        "ks",
        "jv",
        "pllc",
        "pc",
    ]
)
# Forms written before the name ("OOO Romashka", "PT Maju", "JSC Rosneft"); only
# these are stripped at the start, so "Company 1" keeps its "company".
_LEADING_FORMS = frozenset(
    [
        "ooo",
        "oao",
        "zao",
        "pao",
        "ao",
        "tov",
        "too",
        "ip",
        "jsc",
        "ojsc",
        "cjsc",
        "pjsc",
        "llc",
        "pt",
        "cv",
        "sp",
        "ead",
        "eood",
        "ad",
        "dd",
        "doo",
    ]
)
# Multi-token legal forms (after dot removal and tokenising), matched at a name's end
# or start, longest first.
_LEGAL_SEQUENCES = sorted(
    (
        tuple(form.split())
        for form in (
            "s de rl de cv",
            "s de rl",
            "sa de cv",
            "s a de c v",
            "sapi de cv",
            "s a",
            "s l",
            "s r l",
            "s p a",
            "s a s",
            "b v",
            "n v",
            "co ltd",
            "pte ltd",
            "pvt ltd",
            "pty ltd",
            "sdn bhd",
            "sp z oo",
            "sp z o o",
            "l l c",
            "limited liability company",
            "limited liability partnership",
            "joint stock company",
            "closed joint stock company",
            "open joint stock company",
            "public joint stock company",
            "private joint stock company",
            "joint venture",
            "limited company",
            "public limited company",
            "company limited",
            "and company",
            "and co",
            "y cia",
            "et cie",
            "free zone establishment",
            "free zone company",
            "s en c",
        )
    ),
    key=len,
    reverse=True,
)
# Words that connect names rather than identify them.
PARTICLES = frozenset(
    [
        "al",
        "el",
        "ul",
        "bin",
        "ibn",
        "bint",
        "binti",
        "bte",
        "de",
        "del",
        "della",
        "der",
        "den",
        "la",
        "le",
        "van",
        "von",
        "da",
        "das",
        "do",
        "dos",
        "di",
        "du",
        "y",
        "the",
    ]
)
GENERATIONAL = frozenset({"jr", "sr", "ii", "iii", "iv"})
TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir"})
# The Arabic article assimilated to a following "sun letter" and hyphenated to it
# ("ad-Dagestani", "ash-Shami", "as-Sayed"): an article, like "al-".
ASSIMILATED_ARTICLES = frozenset({"ad", "adh", "an", "ar", "as", "ash", "at", "ath", "az", "ud"})
# The Arabic "servant of" compound (Abd al-Rahman, Abdul Rahman, Abdurrahman...).
ABD_PREFIXES = frozenset(
    {"abd", "abdul", "abdel", "abdal", "abdol", "abdu", "abdur", "abdus", "abdoul"}
)
_ABD_JOINED = re.compile(
    r"^abd(?:ul|el|al|ol|oul|ou|ur|us|ud|un|ar|as|ad|an|u)?(?P<rest>[a-z]{3,})$"
)

_APOSTROPHES = re.compile(r"['`´ʹʻʼʾʿ’‘]")
_ABBREVIATION_DOTS = re.compile(r"(?<=\w)\.(?=\w|\s|,|$)")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)")


def fold(text: str) -> str:
    """NFKC, ASCII transliteration of Latin diacritics, casefold; apostrophes vanish."""
    text = unicodedata.normalize("NFKC", text)
    text = _APOSTROPHES.sub("", text)
    return anyascii(text).casefold()


def tokens(text: str) -> list[str]:
    """Folded tokens; "S.A." -> "sa", "AL-TIKRITI" -> "al", "tikriti", "No.1" -> "no", "1"."""
    text = _ABBREVIATION_DOTS.sub("", fold(text))
    text = _APOSTROPHES.sub("", text)
    text = _DIGIT_LETTER.sub(" ", text)
    return [token for token in _NON_ALNUM.split(text) if token]


def legal_form_span(words: list[str]) -> tuple[int, int]:
    """``words[start:end]`` without legal forms at either end; never an empty span."""
    start, end = 0, len(words)
    changed = True
    while changed and end - start > 1:
        changed = False
        for sequence in _LEGAL_SEQUENCES:
            size = len(sequence)
            if end - start <= size:
                continue
            if tuple(words[end - size : end]) == sequence:
                end -= size
                changed = True
                break
            if tuple(words[start : start + size]) == sequence:
                start += size
                changed = True
                break
        if changed:
            continue
        if words[end - 1] in LEGAL_FORMS:
            end -= 1
            changed = True
        elif words[start] in _LEADING_FORMS:
            start += 1
            changed = True
    return start, end


def strip_legal_forms(words: list[str]) -> list[str]:
    start, end = legal_form_span(words)
    return words[start:end]


def is_filler(word: str) -> bool:
    """Particles, generational suffixes and honorifics: dropped from matching."""
    return word in PARTICLES or word in GENERATIONAL or word in TITLES


def canonical_abd(word: str) -> str | None:
    """``abdulrahman`` / ``abdelrahman`` / ``abdurrahman`` -> ``abdrahman``; None otherwise."""
    found = _ABD_JOINED.match(word)
    if not found:
        return None
    rest = found["rest"]
    if rest.startswith(("al", "el", "ul")) and len(rest) > 4:
        rest = rest[2:]
    return "abd" + rest


def strip_article(word: str) -> str:
    """The Arabic article glued to the next word in some spellings: ``allah`` -> ``lah``."""
    if word.startswith(("al", "el", "ul")) and len(word) > 4:
        return word[2:]
    return word

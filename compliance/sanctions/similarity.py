"""How alike two name tokens are, in [0, 1].

* identical -> 1;
* anything with a digit must be identical ("Company 1" is not "Company 2");
* otherwise rapidfuzz's normalised Indel similarity raised to the power 1.5, which
  forgives a typo in a long token ("khorosev" ~ "khoroshev" 0.91) but not the one
  letter that makes a different short name ("maria" / "marin" 0.72, "jing" /
  "jian" 0.65: below the floor);
* transliteration drift that edit distance cannot see ("qadhafi" / "gaddafi",
  "hussein" / "husayn") is caught by equal consonant skeletons (0.8), and a close
  spelling with the same consonants ("deripasca") scores as a variant (0.9);
* a vowel-less (Arabic-script) token can only be compared by skeleton.
Below :data:`MIN_TOKEN_SIMILARITY` a pair is treated as not matching at all, so a
pile of weak resemblances never adds up to a match.
"""

from __future__ import annotations

from rapidfuzz.distance import Indel

from compliance.sanctions.skeleton import skeleton

MIN_TOKEN_SIMILARITY = 0.75
FUZZY_SHARPNESS = 1.5
SHORT_TOKEN_SIMILARITY = 0.8  # tokens of three letters or fewer must be nearly equal
SKELETON_SIMILARITY = 0.8  # Latin spellings that differ but share consonants
PHONETIC_SIMILARITY = 0.9  # ... and are also close as strings
PHONETIC_MIN_LENGTH = 6  # short syllables differing in a vowel are different names (jing/jiang)
ABJAD_SIMILARITY = 0.9  # vowel-less spelling whose consonants agree
INITIAL_SIMILARITY = 0.9  # "D." for "Dmitry"


def _has_digit(text: str) -> bool:
    return any(char.isdigit() for char in text)


def token_similarity(query: str, listed: str, *, query_abjad: bool, listed_abjad: bool) -> float:
    if query == listed and query_abjad == listed_abjad:
        return 1.0
    if _has_digit(query) or _has_digit(listed):
        return 1.0 if query == listed else 0.0
    if query_abjad or listed_abjad:
        key = skeleton(query)
        return ABJAD_SIMILARITY if key and key == skeleton(listed) else 0.0
    raw = Indel.normalized_similarity(query, listed)
    similarity = raw**FUZZY_SHARPNESS
    key = skeleton(query)
    if len(key) >= 3 and key == skeleton(listed):
        # Same consonants: a spelling variant ("deripasca", "vekselburg"), not a new name.
        close = raw >= 0.8 and min(len(query), len(listed)) >= PHONETIC_MIN_LENGTH
        similarity = max(similarity, PHONETIC_SIMILARITY if close else SKELETON_SIMILARITY)
    floor = SHORT_TOKEN_SIMILARITY if min(len(query), len(listed)) <= 3 else MIN_TOKEN_SIMILARITY
    return similarity if similarity >= floor else 0.0


def initial_similarity(initial: str, token: str) -> float:
    """An initial against a full token (either side may be the initial)."""
    if len(token) == 1:
        return 1.0 if token == initial else 0.0
    return INITIAL_SIMILARITY if token.startswith(initial) else 0.0

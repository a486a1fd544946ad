"""Consonant skeletons: the key that survives vowel-less scripts and spelling drift.

Arabic (and Persian, Urdu) script writes long vowels as consonant letters and
leaves short vowels out, so "حسين" transliterates to "hsyn" while lists write
"HUSSEIN", "HUSAYN", "HUSAIN". Mapping both to their consonants, with letters that
transliterations confuse merged into one class (q/k/g, s/z, sh/s, kh/k, th/t,
dh/d...), with vowels and the semi-vowels y/w dropped, doubled consonants collapsed
(Arabic does not write gemination) and a final "h" dropped (ta marbuta), turns all
of them into "hsn". The key is coarse by design; it is used to propose candidates
and to compare vowel-less spellings, never as a match on its own.
"""

from __future__ import annotations

import re
from functools import lru_cache

_DIGRAPHS = (
    ("kh", "k"),
    ("gh", "k"),
    ("sh", "s"),
    ("ch", "s"),
    ("th", "t"),
    ("dh", "d"),
    ("ph", "f"),
    ("zh", "j"),
    ("ck", "k"),
)
_CLASSES = str.maketrans({"q": "k", "c": "k", "g": "k", "z": "s", "x": "s", "v": "f", "p": "b"})
_DROPPED = re.compile(r"[aeiouyw]")
_REPEATS = re.compile(r"(.)\1+")


@lru_cache(maxsize=65536)
def skeleton(token: str) -> str:
    """``hussein`` / ``husayn`` / ``hsyn`` -> ``hsn``; ``qadhafi`` / ``gaddafi`` -> ``kdf``."""
    text = re.sub(r"[^a-z]", "", token.lower())
    if len(text) > 2 and text.endswith("h"):
        text = text[:-1]
    for digraph, replacement in _DIGRAPHS:
        text = text.replace(digraph, replacement)
    text = text.translate(_CLASSES)
    text = _DROPPED.sub("", text)
    return _REPEATS.sub(r"\1", text)

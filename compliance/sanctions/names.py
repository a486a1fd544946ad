"""A name (listed or queried) -> the token slots the matcher compares.

A *slot* is one name word with every Latin spelling it may have (one for Latin
words, several for a Cyrillic or Korean word) and a *role*: in a personal name the
surname and the first given name are *core*, the other given names (middle names,
patronymics) are *middle* and weigh less when they are missing on one side. A
*form* is one reading of the whole name; a name has more than one form when its
word boundaries are uncertain ("Je-Son" / "Jeson", Chinese "李方伟" as "Li Fang Wei"
or "Li Fangwei").

Name structure comes from the text itself: OFAC and many lists write persons as
"LAST, First Middle"; without a comma the first and last words are taken as core.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from enum import IntEnum

from compliance.sanctions.entry import EntryKind
from compliance.sanctions.normalise import (
    ABD_PREFIXES,
    ASSIMILATED_ARTICLES,
    canonical_abd,
    fold,
    is_filler,
    legal_form_span,
    strip_article,
    tokens,
)
from compliance.sanctions.transliterate import (
    ARABIC_ABD,
    ARABIC_PARTICLES,
    Script,
    arabic_consonants,
    cyrillic_spellings,
    korean_spellings,
    other_spellings,
    script_of,
    syllables,
)

MAX_FORMS = 4
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "AE", "Ö": "OE", "Ü": "UE"})
_WORD_PARTS = re.compile(r"[\W_]+")


class Role(IntEnum):
    CORE = 0
    MIDDLE = 1


@dataclass(frozen=True, slots=True)
class Slot:
    spellings: tuple[str, ...]
    role: Role = Role.CORE
    consonantal: bool = False  # an abjad word: compare by consonant skeleton

    @property
    def primary(self) -> str:
        return self.spellings[0]

    @property
    def key(self) -> str:
        """Vocabulary key: consonantal spellings live apart from Latin ones."""
        return "~" + self.primary if self.consonantal else self.primary

    @property
    def initial(self) -> bool:
        return not self.consonantal and len(self.primary) == 1 and self.primary.isalpha()


@dataclass(frozen=True, slots=True)
class NameForm:
    slots: tuple[Slot, ...]
    transliterated: bool = False

    def text(self) -> str:
        return " ".join(slot.key for slot in self.slots)


@dataclass(slots=True)
class _Word:
    options: list[list[Slot]]  # alternative slot sequences for this word
    in_tail: bool  # after the comma of "LAST, First"


def _latin_word(word: str) -> list[list[Slot]]:
    words = tokens(word)
    if len(words) > 1 and "-" in word and words[0] in ASSIMILATED_ARTICLES:
        words = words[1:]  # "ad-Dagestani" -> "dagestani"
        word = word.split("-", 1)[1]
    if not words:
        return []
    umlauts = tokens(word.translate(_UMLAUTS)) if word != word.translate(_UMLAUTS) else words
    if len(umlauts) != len(words):
        umlauts = words
    slots = [Slot(tuple(dict.fromkeys((a, b)))) for a, b in zip(words, umlauts, strict=True)]
    options = [slots]
    if len(words) >= 2 and "-" in word and all(2 <= len(part) <= 4 for part in words):
        options.append([Slot(("".join(words),))])
    return options


def _korean_word(word: str, first_word: bool) -> list[list[Slot]]:
    parts = syllables(word)
    if not parts:
        return []
    given_start = 1 if first_word and len(parts) > 1 else 0
    spelled = [
        korean_spellings(
            part,
            surname=first_word and index == 0,
            word_initial=index == given_start,
        )
        for index, part in enumerate(parts)
    ]
    options = [[Slot(spellings) for spellings in spelled]]
    given = spelled[given_start:]
    if len(given) >= 2:
        width = max(len(spellings) for spellings in given)
        joined = tuple(
            dict.fromkeys(
                "".join(spellings[min(k, len(spellings) - 1)] for spellings in given)
                for k in range(width)
            )
        )
        options.append([Slot(spellings) for spellings in spelled[:given_start]] + [Slot(joined)])
    return options


def _han_word(word: str) -> list[list[Slot]]:
    parts = syllables(word)
    if not parts:
        return []
    options = [[Slot((part,)) for part in parts]]
    if len(parts) >= 3:
        options.append([Slot((parts[0],)), Slot(("".join(parts[1:]),))])
    elif len(parts) == 2:
        options.append([Slot(("".join(parts),))])
    return options


def _foreign_word(word: str, script: Script) -> list[list[Slot]]:
    slots: list[Slot] = []
    for part in filter(None, _WORD_PARTS.split(word)):
        if script is Script.ARABIC:
            if part in ARABIC_PARTICLES:
                continue
            if part == ARABIC_ABD:
                slots.append(Slot(("abd",)))
                continue
            consonants = arabic_consonants(part)
            if consonants:
                slots.append(Slot((consonants,), consonantal=True))
        elif script is Script.CYRILLIC:
            spellings = cyrillic_spellings(part)
            if spellings:
                slots.append(Slot(spellings))
        else:
            spellings = other_spellings(part)
            if spellings:
                slots.append(Slot(spellings))
    return [slots] if slots else []


def _words(text: str, person_like: bool) -> tuple[list[_Word], bool]:
    head, tail = text, ""
    if person_like and text.count(",") == 1:
        head, tail = text.split(",", 1)
    words: list[_Word] = []
    foreign = False
    for in_tail, part in ((False, head), (True, tail)):
        for raw in part.replace(",", " ").split():
            script = script_of(raw)
            if script is Script.LATIN:
                options = _latin_word(raw)
            else:
                foreign = True
                if script is Script.HANGUL:
                    options = _korean_word(raw, first_word=not words)
                elif script is Script.HAN:
                    options = _han_word(raw)
                else:
                    options = _foreign_word(raw, script)
            if options:
                words.append(_Word(options, in_tail))
    return words, foreign


def _join_abd(slots: list[tuple[Slot, bool]]) -> list[tuple[Slot, bool]]:
    joined: list[tuple[Slot, bool]] = []
    index = 0
    while index < len(slots):
        slot, in_tail = slots[index]
        if slot.primary in ABD_PREFIXES and not slot.consonantal and index + 1 < len(slots):
            follower = slots[index + 1][0]
            spellings = tuple(
                dict.fromkeys("abd" + strip_article(spelling) for spelling in follower.spellings)
            )
            joined.append((Slot(spellings, consonantal=follower.consonantal), in_tail))
            index += 2
            continue
        if not slot.consonantal:
            spellings = tuple(dict.fromkeys(canonical_abd(s) or s for s in slot.spellings))
            slot = Slot(spellings, slot.role, slot.consonantal)
        joined.append((slot, in_tail))
        index += 1
    return joined


def _finish(
    sequence: list[tuple[Slot, bool]],
    kind: EntryKind | None,
    comma: bool,
    *,
    literal: bool = False,
) -> tuple[Slot, ...]:
    if kind is not EntryKind.PERSON and not literal:
        start, end = legal_form_span([slot.primary for slot, _ in sequence])
        sequence = sequence[start:end]
    if kind not in (EntryKind.VESSEL, EntryKind.AIRCRAFT) and not literal:
        # (vessel and aircraft names keep every word: "DIAMOND II", "EP-IBN")
        kept = [item for item in sequence if item[0].consonantal or not is_filler(item[0].primary)]
        if kept:
            sequence = kept
    sequence = _join_abd(sequence)
    if kind not in (None, EntryKind.PERSON) or len(sequence) <= 2:
        return tuple(Slot(slot.spellings, Role.CORE, slot.consonantal) for slot, _ in sequence)
    roles: list[Role] = []
    if comma and any(in_tail for _, in_tail in sequence):
        first_given = next(index for index, (_, in_tail) in enumerate(sequence) if in_tail)
        for index, (_, in_tail) in enumerate(sequence):
            core = not in_tail or index == first_given
            roles.append(Role.CORE if core else Role.MIDDLE)
    else:
        last = len(sequence) - 1
        roles = [Role.CORE if index in (0, last) else Role.MIDDLE for index in range(len(sequence))]
    return tuple(
        Slot(slot.spellings, role, slot.consonantal)
        for (slot, _), role in zip(sequence, roles, strict=True)
    )


def analyse(name: str, kind: EntryKind | None = None) -> tuple[NameForm, ...]:
    """Every reading of ``name`` worth comparing (at most :data:`MAX_FORMS`)."""
    text = unicodedata.normalize("NFKC", name).strip()
    person_like = kind in (None, EntryKind.PERSON)
    words, foreign = _words(text, person_like)
    if not words:
        return ()
    comma = person_like and text.count(",") == 1
    forms: list[NameForm] = []
    seen: set[tuple[str, ...]] = set()
    choices = [range(len(word.options)) for word in words]
    for combination in itertools.islice(itertools.product(*choices), MAX_FORMS * 4):
        sequence = [
            (slot, word.in_tail)
            for word, choice in zip(words, combination, strict=True)
            for slot in word.options[choice]
        ]
        readings = [_finish(sequence, kind, comma)]
        if kind is None:
            # Unknown type: "KHUN SA" and "PAO, Yu Liang" are persons and "DIAMOND II" a
            # ship, whatever "SA", "PAO" and "II" mean elsewhere: keep a literal reading.
            readings.append(_finish(sequence, kind, comma, literal=True))
        candidates = [
            variant
            for slots in readings
            for variant in (slots, _joined_given_names(slots, kind), _joined_letters(slots, kind))
        ]
        for candidate in candidates:
            signature = tuple(slot.key for slot in candidate)
            if candidate and signature not in seen:
                seen.add(signature)
                forms.append(NameForm(candidate, foreign))
        if len(forms) >= MAX_FORMS:
            break
    return tuple(forms[:MAX_FORMS])


def _joined_letters(slots: tuple[Slot, ...], kind: EntryKind | None) -> tuple[Slot, ...]:
    """``B R C`` also as ``BRC``: a company name spelled in letters is an acronym."""
    if kind is EntryKind.PERSON:
        return ()
    joined: list[Slot] = []
    run: list[Slot] = []
    for slot in (*slots, None):
        if slot is not None and slot.initial:
            run.append(slot)
            continue
        if len(run) >= 2:
            joined.append(Slot(("".join(letter.primary for letter in run),), run[0].role))
        else:
            joined.extend(run)
        run = []
        if slot is not None:
            joined.append(slot)
    return tuple(joined) if len(joined) < len(slots) else ()


def _joined_given_names(slots: tuple[Slot, ...], kind: EntryKind | None) -> tuple[Slot, ...]:
    """``KIM, Jong Un`` also as ``KIM, Jongun``: East Asian given names are written both ways.

    Only for a personal name ending in two short syllable-like words.
    """
    if kind not in (None, EntryKind.PERSON) or len(slots) < 3:
        return ()
    last, before = slots[-1], slots[-2]
    if any(
        slot.consonantal or not 2 <= len(slot.primary) <= 4 or not slot.primary.isalpha()
        for slot in (last, before)
    ):
        return ()
    width = max(len(before.spellings), len(last.spellings))
    joined = tuple(
        dict.fromkeys(
            before.spellings[min(k, len(before.spellings) - 1)]
            + last.spellings[min(k, len(last.spellings) - 1)]
            for k in range(width)
        )
    )
    return (*slots[:-2], Slot(joined, before.role, False))


def display_fold(name: str) -> str:
    """A folded one-line rendering, for logs and brute-force baselines."""
    return " ".join(tokens(fold(name)))

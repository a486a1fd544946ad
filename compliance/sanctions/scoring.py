"""From token matches to a score and a decision (pure arithmetic, no index, no I/O).

The name score is the harmonic mean (F1) of two weighted coverages: how much of
the *query* the listed name explains, and how much of the *listed name* the query
explains, each token weighted by rarity and by role (a missing middle name or
patronymic costs little, a missing surname a lot). Both must be high: "Mohammed"
alone covers all of a one-word query but little of "Mohammed Ali Hassan Al-Ahmad",
and "Acme Trading" covers "Trading" of "Zenith Trading" but not its rare "Zenith".
A match that rests only on common tokens is scaled down (:func:`information_factor`),
so a shared first name never carries a match by itself.

Everything that is not the name moves the score by bounded, named amounts: the
listed alias being weak, the query and listed types differing, a date of birth or
country agreeing or not. The largest total upward move is :data:`MAX_BOOST`, which
the index relies on to prune candidates safely.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from compliance.sanctions.entry import AliasQuality, BirthDate, EntryKind
from compliance.sanctions.names import Role


class Decision(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Score cut-offs. ``report`` is the lowest score still returned as a match."""

    block: float = 0.95
    review: float = 0.85
    report: float = 0.75

    def __post_init__(self) -> None:
        if not 0.0 < self.report <= self.review <= self.block <= 1.0:
            raise ValueError("thresholds must satisfy 0 < report <= review <= block <= 1")

    def decide(self, score: float) -> Decision:
        if score >= self.block:
            return Decision.BLOCK
        if score >= self.review:
            return Decision.REVIEW
        return Decision.ALLOW


# Role factors: a middle name or patronymic weighs this much of its rarity weight.
LISTED_MIDDLE_FACTOR = 0.35
QUERY_MIDDLE_FACTOR = {EntryKind.PERSON: 0.35, None: 0.6}
# A match must rest on at least this share of a maximally rare token's weight.
MIN_INFORMATION_SHARE = 0.6
WEAK_ALIAS_FACTOR = 0.9

DOB_EXACT = 0.06
DOB_YEAR = 0.03
DOB_NEAR = 0.02
DOB_MISMATCH = -0.10
COUNTRY_MATCH = 0.04
COUNTRY_MISMATCH = -0.04
MAX_BOOST = DOB_EXACT + COUNTRY_MATCH

_KIND_FACTOR = {
    frozenset({EntryKind.PERSON, EntryKind.ENTITY}): 0.85,
    frozenset({EntryKind.PERSON, EntryKind.VESSEL}): 0.7,
    frozenset({EntryKind.PERSON, EntryKind.AIRCRAFT}): 0.7,
    frozenset({EntryKind.ENTITY, EntryKind.VESSEL}): 0.9,
    frozenset({EntryKind.ENTITY, EntryKind.AIRCRAFT}): 0.9,
    frozenset({EntryKind.VESSEL, EntryKind.AIRCRAFT}): 0.8,
}


def listed_role_factor(role: Role) -> float:
    return LISTED_MIDDLE_FACTOR if role is Role.MIDDLE else 1.0


def query_role_factor(role: Role, kind: EntryKind | None) -> float:
    if role is Role.MIDDLE:
        return QUERY_MIDDLE_FACTOR.get(kind, 1.0)
    return 1.0


def coverage_f1(
    matched_query: float, query_total: float, matched_listed: float, listed_total: float
) -> float:
    """Harmonic mean of query coverage and listed-name coverage, both in [0, 1]."""
    if query_total <= 0 or listed_total <= 0:
        return 0.0
    query_share = min(1.0, matched_query / query_total)
    listed_share = min(1.0, matched_listed / listed_total)
    if query_share + listed_share <= 0:
        return 0.0
    return 2 * query_share * listed_share / (query_share + listed_share)


def information_factor(matched_weight: float, rarest_weight: float) -> float:
    """1 when the matched tokens carry enough rarity, proportionally less otherwise."""
    needed = MIN_INFORMATION_SHARE * rarest_weight
    return 1.0 if matched_weight >= needed else matched_weight / needed


def greedy_alignment(pairs: list[tuple[float, int, int]]) -> list[tuple[float, int, int]]:
    """One-to-one (query slot, listed token) pairs, best similarity first."""
    pairs.sort(reverse=True)
    used_query: set[int] = set()
    used_listed: set[int] = set()
    chosen: list[tuple[float, int, int]] = []
    for similarity, query_index, listed_index in pairs:
        if query_index in used_query or listed_index in used_listed:
            continue
        used_query.add(query_index)
        used_listed.add(listed_index)
        chosen.append((similarity, query_index, listed_index))
    return chosen


def kind_factor(query: EntryKind | None, listed: EntryKind) -> float:
    if query is None or query is listed:
        return 1.0
    return _KIND_FACTOR[frozenset({query, listed})]


def quality_factor(quality: AliasQuality) -> float:
    return WEAK_ALIAS_FACTOR if quality is AliasQuality.WEAK else 1.0


def _birth_adjustment(query: BirthDate, listed: BirthDate) -> tuple[float, str]:
    if listed.to_year is not None:
        if listed.year <= query.year <= listed.to_year:
            return DOB_NEAR, "dob_in_range"
        return DOB_MISMATCH, "dob_mismatch"
    gap = abs(query.year - listed.year)
    if listed.circa:
        return (DOB_NEAR, "dob_near") if gap <= 2 else (DOB_MISMATCH, "dob_mismatch")
    if gap == 0:
        if query.month and listed.month and query.month != listed.month:
            return 0.0, "dob_year_only"
        if query.day and listed.day:
            if query.day == listed.day:
                return DOB_EXACT, "dob_match"
            return 0.0, "dob_year_only"
        return DOB_YEAR, "dob_year_match"
    if gap == 1:
        return 0.0, "dob_near_year"
    return DOB_MISMATCH, "dob_mismatch"


def birth_date_adjustment(
    query: BirthDate | None, listed: Sequence[BirthDate]
) -> tuple[float, str | None]:
    """The best agreement with any listed date of birth (lists give several)."""
    if query is None or not listed:
        return 0.0, None
    return max((_birth_adjustment(query, date) for date in listed), key=lambda item: item[0])


def country_adjustment(query: str | None, listed: Sequence[str]) -> tuple[float, str | None]:
    if query is None or not listed:
        return 0.0, None
    if query in listed:
        return COUNTRY_MATCH, "country_match"
    return COUNTRY_MISMATCH, "country_mismatch"

"""The screening index: every listed name, searchable in well under a millisecond.

Brute force (compare the query with each of ~30,000 listed names and aliases) costs
milliseconds per query and scales with the lists. Instead:

1. **Vocabulary.** Every distinct token of every listed name (after
   :mod:`~compliance.sanctions.names` analysis) gets an id, a rarity weight, and
   postings: the name records containing it, with its role-weighted weight there.
2. **Blocking.** A query token finds its vocabulary neighbours through exact
   lookup, a one-deletion neighbourhood (SymSpell-style: catches one typo,
   insertion, omission or transposition) and the consonant skeleton (catches
   transliteration drift and vowel-less Arabic spellings). Only those tokens'
   postings are touched.
3. **Bounding.** Accumulating postings (numpy ``bincount``) gives, for each touched
   record, an upper bound of both weighted coverages and so of its score; records
   whose bound cannot reach the report threshold are never scored.
4. **Scoring.** The few survivors are aligned token by token and scored exactly
   (:mod:`~compliance.sanctions.scoring`), then kind, alias quality, date of birth
   and country adjust the score.

Once built the index does not change; its only mutable state is a cache of query
tokens' vocabulary neighbours (plain dict operations, safe to share between threads
under the GIL; :meth:`ScreeningIndex.clear_cache` empties it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from compliance.sanctions.countries import resolve_country
from compliance.sanctions.entry import AliasQuality, BirthDate, EntryKind, ListEntry
from compliance.sanctions.names import NameForm, Slot, analyse
from compliance.sanctions.scoring import (
    MAX_BOOST,
    Decision,
    Thresholds,
    birth_date_adjustment,
    country_adjustment,
    coverage_f1,
    greedy_alignment,
    information_factor,
    kind_factor,
    listed_role_factor,
    quality_factor,
    query_role_factor,
)
from compliance.sanctions.similarity import (
    ABJAD_SIMILARITY,
    MIN_TOKEN_SIMILARITY,
    initial_similarity,
    token_similarity,
)
from compliance.sanctions.skeleton import skeleton
from compliance.sanctions.weights import INITIAL_WEIGHT, TokenWeights

MAX_NEIGHBOURS = 64  # vocabulary tokens kept per Latin query token
MAX_ABJAD_NEIGHBOURS = 1024  # a vowel-less token is ambiguous: keep its whole skeleton bucket
MAX_VERIFIED = 64  # records scored exactly per query form
_CACHE_LIMIT = 50_000
_DENSE_FROM = 4_000  # postings above which a dense accumulator beats sorting


@dataclass(frozen=True, slots=True)
class Match:
    score: float
    list: str
    entry_id: str
    name: str  # the listed primary name
    matched_name: str  # the listed alias or spelling that matched
    kind: EntryKind
    name_score: float  # before kind, alias quality, date of birth and country
    alias_quality: AliasQuality
    reasons: tuple[str, ...]
    programs: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "list": self.list,
            "entry_id": self.entry_id,
            "name": self.name,
            "matched_name": self.matched_name,
            "type": self.kind.value,
            "name_score": round(self.name_score, 4),
            "alias_quality": self.alias_quality.value,
            "reasons": list(self.reasons),
            "programs": list(self.programs),
        }


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    decision: Decision
    matches: tuple[Match, ...]
    query: str

    @property
    def top_score(self) -> float:
        return self.matches[0].score if self.matches else 0.0


@dataclass(frozen=True, slots=True)
class _Record:
    entry: int
    matched_name: str
    quality: AliasQuality
    tokens: tuple[int, ...]
    weights: tuple[float, ...]


def _deletions(token: str) -> set[str]:
    return {token[:index] + token[index + 1 :] for index in range(len(token))}


def _is_weak(slot: Slot) -> bool:
    """Initials and one-consonant vowel-less words: too short to look up, checked per record."""
    return slot.initial or (slot.consonantal and len(skeleton(slot.primary)) <= 1)


def _coerce_kind(kind: EntryKind | str | None) -> EntryKind | None:
    if kind is None or isinstance(kind, EntryKind):
        return kind
    return EntryKind(kind)


class ScreeningIndex:
    """Build once per list snapshot set with :meth:`build`; query with :meth:`screen`."""

    def __init__(self) -> None:  # use build()
        self.entries: tuple[ListEntry, ...] = ()
        self.thresholds = Thresholds()
        self.weights = TokenWeights(0, {})
        self._vocab: dict[str, int] = {}
        self._spelling: list[str] = []
        self._abjad: list[bool] = []
        self._token_weight: list[float] = []
        self._records: list[_Record] = []
        self._record_entry = np.zeros(0, dtype=np.int32)
        self._record_total = np.zeros(0)
        self._record_max = np.zeros(0)
        self._record_initials = np.zeros(0)
        self._offsets = np.zeros(1, dtype=np.int64)
        self._post_record = np.zeros(0, dtype=np.int32)
        self._post_weight = np.zeros(0)
        self._deletes: dict[str, tuple[int, ...]] = {}
        self._skeletons: dict[str, tuple[int, ...]] = {}
        self._neighbour_cache: dict[tuple[tuple[str, ...], bool], dict[int, float]] = {}

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        entries: Iterable[ListEntry],
        *,
        thresholds: Thresholds | None = None,
        weights: TokenWeights | None = None,
    ) -> ScreeningIndex:
        """Index ``entries``; ``weights`` from a reference set when indexing a subset."""
        index = cls()
        index.entries = tuple(entries)
        index.thresholds = thresholds or Thresholds()
        analysed: list[list[tuple[str, AliasQuality, NameForm]]] = []
        for entry in index.entries:
            forms: list[tuple[str, AliasQuality, NameForm]] = []
            seen: set[tuple[str, ...]] = set()
            for alias in entry.names():
                for form in analyse(alias.name, entry.kind):
                    signature = tuple(slot.key for slot in form.slots)
                    if signature in seen:
                        continue
                    seen.add(signature)
                    forms.append((alias.name, alias.quality, form))
            analysed.append(forms)
        index.weights = weights or TokenWeights.from_documents(
            (slot.key for _, _, form in forms for slot in form.slots) for forms in analysed
        )
        index._build_tables(analysed)
        return index

    def _token_id(self, slot: Slot) -> int:
        key = slot.key
        found = self._vocab.get(key)
        if found is None:
            found = len(self._spelling)
            self._vocab[key] = found
            self._spelling.append(slot.primary)
            self._abjad.append(slot.consonantal)
            self._token_weight.append(self.weights.weight(key))
        return found

    def _build_tables(self, analysed: list[list[tuple[str, AliasQuality, NameForm]]]) -> None:
        postings: list[tuple[int, int, float]] = []
        for entry_index, forms in enumerate(analysed):
            for matched_name, quality, form in forms:
                token_ids = tuple(self._token_id(slot) for slot in form.slots)
                token_weights = tuple(
                    self._token_weight[token] * listed_role_factor(slot.role)
                    for token, slot in zip(token_ids, form.slots, strict=True)
                )
                record = len(self._records)
                self._records.append(
                    _Record(entry_index, matched_name, quality, token_ids, token_weights)
                )
                postings.extend(
                    (token, record, weight)
                    for token, weight in zip(token_ids, token_weights, strict=True)
                )
        self._record_entry = np.array([r.entry for r in self._records], dtype=np.int32)
        self._record_total = np.array([sum(r.weights) for r in self._records])
        self._record_max = np.array([max(r.weights, default=0.0) for r in self._records])
        self._record_initials = np.array(
            [
                sum(w for t, w in zip(r.tokens, r.weights, strict=True) if self._is_initial(t))
                for r in self._records
            ]
        )
        postings.sort()
        counts = np.bincount(
            np.array([p[0] for p in postings], dtype=np.int64), minlength=len(self._spelling)
        )
        self._offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        self._post_record = np.array([p[1] for p in postings], dtype=np.int32)
        self._post_weight = np.array([p[2] for p in postings])

        deletes: dict[str, list[int]] = {}
        skeletons: dict[str, list[int]] = {}
        for token, spelling in enumerate(self._spelling):
            key = skeleton(spelling)
            if key:
                skeletons.setdefault(key, []).append(token)
            if not self._abjad[token] and len(spelling) >= 4 and spelling.isalpha():
                for deleted in _deletions(spelling):
                    deletes.setdefault(deleted, []).append(token)
        self._deletes = {key: tuple(value) for key, value in deletes.items()}
        self._skeletons = {key: tuple(value) for key, value in skeletons.items()}

    def _skeleton_of(self, token: int) -> str:
        return skeleton(self._spelling[token])

    def _is_initial(self, token: int) -> bool:
        spelling = self._spelling[token]
        return len(spelling) == 1 and spelling.isalpha() and not self._abjad[token]

    # ------------------------------------------------------------------ query
    def __len__(self) -> int:
        return len(self.entries)

    @property
    def record_count(self) -> int:
        """Indexed name records (names, aliases and their alternative readings)."""
        return len(self._records)

    def screen(
        self,
        name: str,
        kind: EntryKind | str | None = None,
        country: str | None = None,
        date_of_birth: dt.date | str | BirthDate | None = None,
        limit: int = 10,
        thresholds: Thresholds | None = None,
    ) -> ScreeningResult:
        """Ranked matches for one name and the decision the best of them implies."""
        query_kind = _coerce_kind(kind)
        limits = thresholds or self.thresholds
        birth = BirthDate.of(date_of_birth) if date_of_birth else None
        country_code = resolve_country(country) if country else None
        best: dict[int, Match] = {}
        if self._records:
            for form in analyse(name, query_kind):
                self._screen_form(form, query_kind, birth, country_code, limits, limit, best)
        ranked = sorted(best.values(), key=lambda match: (-match.score, match.list, match.entry_id))
        matches = tuple(ranked[:limit])
        decision = limits.decide(matches[0].score) if matches else Decision.ALLOW
        return ScreeningResult(decision, matches, name)

    def clear_cache(self) -> None:
        """Forget cached token neighbours (benchmarks use it to measure the cold path)."""
        self._neighbour_cache.clear()

    def _neighbours(self, slot: Slot) -> dict[int, float]:
        """Vocabulary tokens similar to any spelling of ``slot``, with their similarity."""
        cache_key = (slot.spellings, slot.consonantal)
        cached = self._neighbour_cache.get(cache_key)
        if cached is not None:
            return cached
        candidates: set[int] = set()
        for spelling in slot.spellings:
            exact = self._vocab.get(("~" if slot.consonantal else "") + spelling)
            if exact is not None:
                candidates.add(exact)
            key = skeleton(spelling)
            if key and (slot.consonantal or len(key) >= 3):
                candidates.update(self._skeletons.get(key, ()))
            if not slot.consonantal and len(spelling) >= 4 and spelling.isalpha():
                candidates.update(self._deletes.get(spelling, ()))
                for deleted in _deletions(spelling):
                    found = self._vocab.get(deleted)
                    if found is not None:
                        candidates.add(found)
                    candidates.update(self._deletes.get(deleted, ()))
        scored: dict[int, float] = {}
        for token in candidates:
            similarity = max(
                token_similarity(
                    spelling,
                    self._spelling[token],
                    query_abjad=slot.consonantal,
                    listed_abjad=self._abjad[token],
                )
                for spelling in slot.spellings
            )
            if similarity >= MIN_TOKEN_SIMILARITY:
                scored[token] = similarity
        cap = MAX_ABJAD_NEIGHBOURS if slot.consonantal else MAX_NEIGHBOURS
        if len(scored) > cap:
            kept = sorted(scored, key=lambda t: (-scored[t], -self._token_weight[t]))
            scored = {token: scored[token] for token in kept[:cap]}
        if len(self._neighbour_cache) >= _CACHE_LIMIT:
            self._neighbour_cache.clear()
        self._neighbour_cache[cache_key] = scored
        return scored

    def _query_weight(self, slot: Slot, neighbours: dict[int, float]) -> float:
        """How rare the query token is, judged by the listed tokens it resembles."""
        if _is_weak(slot):
            return INITIAL_WEIGHT
        if not neighbours:
            return self.weights.unknown
        top = max(neighbours.values())
        weights = [self._token_weight[t] for t, s in neighbours.items() if s == top]
        # A vowel-less token may be any of its readings: assume the commonest.
        return min(weights) if slot.consonantal else max(weights)

    def _screen_form(
        self,
        form: NameForm,
        kind: EntryKind | None,
        birth: BirthDate | None,
        country: str | None,
        limits: Thresholds,
        limit: int,
        best: dict[int, Match],
    ) -> None:
        slots = form.slots
        neighbours = [{} if _is_weak(slot) else self._neighbours(slot) for slot in slots]
        raw_weights = [
            self._query_weight(slot, found) for slot, found in zip(slots, neighbours, strict=True)
        ]
        weights = [
            weight * query_role_factor(slot.role, kind)
            for weight, slot in zip(raw_weights, slots, strict=True)
        ]
        query_total = sum(weights)
        if query_total <= 0:
            return

        # Upper bounds of both coverages, for every record any query token touches.
        pieces: list[np.ndarray] = []
        post_weights: list[np.ndarray] = []
        query_factors: list[float] = []
        sims: list[float] = []
        lengths: list[int] = []
        offsets = self._offsets
        for found, weight in zip(neighbours, weights, strict=True):
            for token, similarity in found.items():
                start, end = offsets[token], offsets[token + 1]
                if end > start:
                    pieces.append(self._post_record[start:end])
                    post_weights.append(self._post_weight[start:end])
                    query_factors.append(similarity * weight)
                    sims.append(similarity)
                    lengths.append(int(end - start))
        if not pieces:
            return
        records = np.concatenate(pieces)
        repeat = np.array(lengths)
        query_part = np.repeat(np.array(query_factors), repeat)
        listed_part = np.concatenate(post_weights) * np.repeat(np.array(sims), repeat)
        if records.size < _DENSE_FROM:
            touched, slot_of = np.unique(records, return_inverse=True)
            upper_query = np.bincount(slot_of, weights=query_part, minlength=touched.size)
            upper_listed = np.bincount(slot_of, weights=listed_part, minlength=touched.size)
        else:
            size = len(self._records)
            dense_query = np.bincount(records, weights=query_part, minlength=size)
            touched = np.flatnonzero(dense_query)
            upper_query = dense_query[touched]
            upper_listed = np.bincount(records, weights=listed_part, minlength=size)[touched]
        initials = [w for slot, w in zip(slots, weights, strict=True) if _is_weak(slot)]
        if initials:
            upper_query = upper_query + sum(initials)
            upper_listed = upper_listed + len(initials) * self._record_max[touched]
        listed_initials = self._record_initials[touched]
        if listed_initials.any():
            upper_query = upper_query + np.where(listed_initials > 0, max(weights), 0.0)
            upper_listed = upper_listed + listed_initials
        query_share = np.minimum(upper_query / query_total, 1.0)
        listed_share = np.minimum(upper_listed / self._record_total[touched], 1.0)
        bound = 2 * query_share * listed_share / (query_share + listed_share)
        floor = limits.report - MAX_BOOST
        keep = np.flatnonzero(bound >= floor)
        if keep.size == 0:
            return
        order = keep[np.argsort(-bound[keep], kind="stable")][:MAX_VERIFIED]

        rarest = self.weights.unknown
        for position in order:
            record_id = int(touched[position])
            if len(best) >= limit:
                weakest = min(match.score for match in best.values())
                if bound[position] + MAX_BOOST < weakest:
                    break
            record = self._records[record_id]
            name_score = self._name_score(
                slots, neighbours, weights, raw_weights, query_total, record, rarest
            )
            if name_score + MAX_BOOST < limits.report:
                continue
            self._keep(record, name_score, form, kind, birth, country, limits, best)

    def _name_score(
        self,
        slots: Sequence[Slot],
        neighbours: Sequence[dict[int, float]],
        weights: Sequence[float],
        raw_weights: Sequence[float],
        query_total: float,
        record: _Record,
        rarest: float,
    ) -> float:
        # Initials stand for given names; in a company or vessel name a lone letter
        # ("A A TRADING") is just a letter and must match exactly.
        personal = self.entries[record.entry].kind is EntryKind.PERSON
        pairs: list[tuple[float, int, int]] = []
        for query_index, (slot, found) in enumerate(zip(slots, neighbours, strict=True)):
            weak_abjad = slot.consonantal and _is_weak(slot)
            for listed_index, token in enumerate(record.tokens):
                if weak_abjad:
                    similarity = (
                        ABJAD_SIMILARITY
                        if self._skeleton_of(token) == skeleton(slot.primary)
                        else 0.0
                    )
                elif slot.initial or self._is_initial(token):
                    if self._abjad[token] or slot.consonantal:
                        continue
                    listed = self._spelling[token]
                    if not personal:
                        similarity = 1.0 if listed == slot.primary else 0.0
                    elif slot.initial:
                        similarity = initial_similarity(slot.primary, listed)
                    else:
                        similarity = initial_similarity(listed, slot.primary)
                else:
                    similarity = found.get(token, 0.0)
                if similarity > 0:
                    pairs.append((similarity, query_index, listed_index))
        matched_query = matched_listed = information = 0.0
        for similarity, query_index, listed_index in greedy_alignment(pairs):
            matched_query += similarity * weights[query_index]
            matched_listed += similarity * record.weights[listed_index]
            # What the match rests on: the rarer side cannot vouch for the commoner.
            token_weight = self._token_weight[record.tokens[listed_index]]
            information += similarity * min(raw_weights[query_index], token_weight)
        score = coverage_f1(matched_query, query_total, matched_listed, sum(record.weights))
        return score * information_factor(information, rarest)

    def _keep(
        self,
        record: _Record,
        name_score: float,
        form: NameForm,
        kind: EntryKind | None,
        birth: BirthDate | None,
        country: str | None,
        limits: Thresholds,
        best: dict[int, Match],
    ) -> None:
        entry = self.entries[record.entry]
        reasons: list[str] = []
        score = name_score * quality_factor(record.quality) * kind_factor(kind, entry.kind)
        if form.transliterated:
            reasons.append("transliterated")
        if record.quality is AliasQuality.WEAK:
            reasons.append("weak_alias")
        if kind is not None and kind is not entry.kind:
            reasons.append("kind_mismatch")
        for adjustment, reason in (
            birth_date_adjustment(birth, entry.birth_dates),
            country_adjustment(country, entry.countries),
        ):
            score += adjustment
            if reason:
                reasons.append(reason)
        score = min(1.0, max(0.0, score))
        if score < limits.report:
            return
        current = best.get(record.entry)
        if current is not None and current.score >= score:
            return
        best[record.entry] = Match(
            score=score,
            list=entry.source,
            entry_id=entry.entry_id,
            name=entry.name,
            matched_name=record.matched_name,
            kind=entry.kind,
            name_score=name_score,
            alias_quality=record.quality,
            reasons=tuple(reasons),
            programs=entry.programs,
        )

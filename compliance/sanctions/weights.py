"""Token weights by rarity (inverse document frequency over listed parties).

A match on "Mohammed", "Trading" or "General" says little, because hundreds of
listed parties carry those words; a match on "Khoroshev" says a lot. Weighting
every token by ``ln(1 + N / df)`` (N listed parties, df of them using the token)
lets the rare tokens carry a match and the common ones merely support it.

An index built from a few added entries must not learn rarity from those few (in
a list of twenty, "Mohammed" looks rare), so weights can be taken from a reference
set, typically the full active lists.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

INITIAL_WEIGHT = 1.0  # a lone initial identifies little whatever its letter


@dataclass(frozen=True, slots=True)
class TokenWeights:
    documents: int
    frequency: Mapping[str, int]

    @classmethod
    def from_documents(cls, documents: Iterable[Iterable[str]]) -> TokenWeights:
        counts: Counter[str] = Counter()
        total = 0
        for keys in documents:
            total += 1
            counts.update(set(keys))
        return cls(total, dict(counts))

    @property
    def unknown(self) -> float:
        """Weight of a token no listed party uses: as rare as rare gets."""
        return math.log1p(max(self.documents, 1))

    def weight(self, key: str) -> float:
        spelling = key.lstrip("~")
        if len(spelling) == 1 and spelling.isalpha() and not key.startswith("~"):
            return INITIAL_WEIGHT
        return math.log1p(max(self.documents, 1) / max(self.frequency.get(key, 0), 1))

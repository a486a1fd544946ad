"""Re-screening known counterparties against the entries a list update added.

After a load, only the *added* entries can produce new hits, so the counterparties
are screened against an index of those entries alone, which is tiny and quick to
build. Token rarity must still come from the full lists (in a list of twenty
additions every word looks rare), so pass the full active index, or its weights,
as ``reference``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from compliance.sanctions.entry import EntryKind, ListEntry
from compliance.sanctions.index import ScreeningIndex, ScreeningResult
from compliance.sanctions.scoring import Decision, Thresholds
from compliance.sanctions.weights import TokenWeights


@dataclass(frozen=True, slots=True)
class Counterparty:
    reference: str  # the caller's id for the party (payer, beneficiary, merchant...)
    name: str
    kind: EntryKind | None = None
    country: str | None = None
    date_of_birth: dt.date | str | None = None


@dataclass(frozen=True, slots=True)
class AdditionHit:
    counterparty: Counterparty
    result: ScreeningResult


def screen_against_additions(
    counterparties: Iterable[Counterparty],
    added: Sequence[ListEntry],
    *,
    reference: ScreeningIndex | TokenWeights | None = None,
    thresholds: Thresholds | None = None,
) -> list[AdditionHit]:
    """Counterparties whose screening against ``added`` is ``review`` or ``block``."""
    if not added:
        return []
    weights = reference.weights if isinstance(reference, ScreeningIndex) else reference
    index = ScreeningIndex.build(added, thresholds=thresholds, weights=weights)
    hits: list[AdditionHit] = []
    for party in counterparties:
        result = index.screen(
            party.name, kind=party.kind, country=party.country, date_of_birth=party.date_of_birth
        )
        if result.decision is not Decision.ALLOW:
            hits.append(AdditionHit(party, result))
    return hits

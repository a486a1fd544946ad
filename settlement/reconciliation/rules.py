"""Matching rules per statement source: which rules, in which order, how loose.

- ``reference``: a token on the line (end-to-end id, provider id, RF reference or
  object id in the remittance text) names an expected item or a provider batch;
- ``amount_date``: same currency and amount (within the tolerance), dates within
  ``window_days`` of each other; nearest date wins, then the earliest item id;
- ``batch`` (N:1): one line equals the sum of one provider batch of expected items
  (a bank deposit of a provider's payout);
- ``split`` (1:N): several lines carrying the reference of one expected item add up
  to it (an amount paid in instalments, a payout the bank split).

``tolerance`` is per currency, in minor units: a difference within it still matches,
and the difference is booked to a named ledger account (see :mod:`.effects`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

RULES: Final = ("reference", "amount_date", "batch", "split")


@dataclass(frozen=True)
class SourceRules:
    rules: tuple[str, ...] = RULES
    window_days: int = 3
    tolerance: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [r for r in self.rules if r not in RULES]
        if unknown:
            raise ValueError(f"unknown matching rules {unknown}; known: {list(RULES)}")
        if len(set(self.rules)) != len(self.rules):
            raise ValueError("a rule may appear once")
        if self.window_days < 0:
            raise ValueError("window_days must be >= 0")
        for code, minor in self.tolerance.items():
            if type(minor) is not int or minor < 0:
                raise ValueError(f"tolerance for {code} must be a non-negative int (minor units)")
        object.__setattr__(
            self, "tolerance", MappingProxyType({k.upper(): v for k, v in self.tolerance.items()})
        )

    def tolerance_for(self, currency: str) -> int:
        return self.tolerance.get(currency, 0)


DEFAULT_RULES: Final = SourceRules()

_configured: dict[str, SourceRules] = {}


def configure_source(source: str, rules: SourceRules) -> None:
    _configured[source] = rules


def rules_for(source: str) -> SourceRules:
    return _configured.get(source, DEFAULT_RULES)

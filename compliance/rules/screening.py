"""The slice of a sanctions screening result that the rules consume.

The sanctions package produces the real results; the rules only need a decision and the
ranked matches, so they depend on these two protocols rather than on that package. A
:class:`ScreeningSnapshot` is a plain copy of any such result that can be stored with an
observation (so a later dry run sees exactly what the original decision saw).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class ScreeningMatchLike(Protocol):
    @property
    def score(self) -> float: ...
    @property
    def list(self) -> str: ...
    @property
    def entry_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def matched_name(self) -> str: ...


class ScreeningResultLike(Protocol):
    @property
    def decision(self) -> str: ...
    @property
    def matches(self) -> Sequence[ScreeningMatchLike]: ...


@dataclass(frozen=True)
class MatchSnapshot:
    score: float
    list: str
    entry_id: str
    name: str
    matched_name: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "list": self.list,
            "entry_id": self.entry_id,
            "name": self.name,
            "matched_name": self.matched_name,
        }


@dataclass(frozen=True)
class ScreeningSnapshot:
    decision: str
    matches: tuple[MatchSnapshot, ...] = ()

    @classmethod
    def of(cls, result: ScreeningResultLike) -> ScreeningSnapshot:
        decision = getattr(result.decision, "value", result.decision)
        return cls(
            decision=str(decision),
            matches=tuple(
                MatchSnapshot(float(m.score), str(m.list), str(m.entry_id), m.name, m.matched_name)
                for m in result.matches
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "matches": [m.to_dict() for m in self.matches]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScreeningSnapshot:
        return cls(
            decision=data["decision"],
            matches=tuple(MatchSnapshot(**m) for m in data.get("matches", ())),
        )


def snapshot_all(screenings: Mapping[str, ScreeningResultLike]) -> dict[str, ScreeningSnapshot]:
    return {role: ScreeningSnapshot.of(result) for role, result in screenings.items()}

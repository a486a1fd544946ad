"""Account purposes: the normal side and limit flags an account of each purpose gets.

The table is data (``purposes.toml`` beside this module, commented there) rather than
code, so finance can read and review it. An account with a purpose that is not in the
table is an ad-hoc account: its caller states the normal side and flags explicitly.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


@dataclass(frozen=True, slots=True)
class AccountPolicy:
    """How an account behaves: which side is normal and which limits it enforces."""

    normal: Side
    debits_must_not_exceed_credits: bool = False
    credits_must_not_exceed_debits: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if self.debits_must_not_exceed_credits and self.credits_must_not_exceed_debits:
            raise ValueError(
                "an account cannot require both debits <= credits and credits <= debits"
            )


def _policy(purpose: str, entry: dict[str, Any]) -> AccountPolicy:
    unknown = set(entry) - {
        "normal",
        "debits_must_not_exceed_credits",
        "credits_must_not_exceed_debits",
        "description",
    }
    if unknown:
        raise ValueError(f"purposes.toml [{purpose}] has unknown keys {sorted(unknown)}")
    return AccountPolicy(
        normal=Side(entry["normal"]),
        debits_must_not_exceed_credits=bool(entry.get("debits_must_not_exceed_credits", False)),
        credits_must_not_exceed_debits=bool(entry.get("credits_must_not_exceed_debits", False)),
        description=str(entry.get("description", "")),
    )


@cache
def purposes() -> MappingProxyType[str, AccountPolicy]:
    """Every known purpose and its policy, read once from ``purposes.toml``."""
    text = resources.files(__package__).joinpath("purposes.toml").read_text(encoding="utf-8")
    table = tomllib.loads(text)
    return MappingProxyType({name: _policy(name, entry) for name, entry in table.items()})


def policy_for(purpose: str) -> AccountPolicy | None:
    """The policy of a known purpose, or ``None`` for an ad-hoc one."""
    return purposes().get(purpose)

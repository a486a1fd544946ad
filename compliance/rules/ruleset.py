"""Rule sets: the declarative, versionable description of what the rules engine checks.

A rule set is a TOML file (or the same structure as JSON, through the API)::

    name = "corridor-default"
    base_currency = "USD"          # amounts in params are in this currency (major units)

    [scoring]                      # optional: summed scores that escalate the decision
    review_at = 60
    block_at = 200

    [[rules]]
    id = "velocity.card.hour"      # unique, stable: hits and dry runs refer to it
    type = "velocity"              # a built-in type, see compliance.rules.kinds
    order = 40                     # evaluation order (ties broken by id)
    decision = "review"            # allow | review | block (allow = only adds score)
    score = 20                     # points added to the total when it hits
    enabled = true
    description = "..."            # what and why, for the officer
    source = "..."                 # where the threshold comes from
    params = { key = "card", window = "1h", max_count = 5 }

Parsing checks everything and reports every problem with its location. The checksum is
SHA-256 of the canonical JSON of the normalised body, so two uploads of the same rules
have the same checksum however they were formatted.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from core.money import CurrencyError, currency_code

from .decision import Decision
from .kinds import RULE_TYPES, RuleKind
from .params import Params, Problem, RuleSetError

DEFAULT_RULES_PATH = Path(__file__).resolve().parent.parent / "data" / "default_rules.toml"

_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
_TOP_KEYS = {"name", "description", "base_currency", "scoring", "rules"}
_RULE_KEYS = {
    "id",
    "type",
    "order",
    "decision",
    "score",
    "enabled",
    "description",
    "source",
    "params",
}


@dataclass(frozen=True)
class RuleSpec:
    """One rule as written, plus its parsed parameters (``logic``)."""

    id: str
    type: str
    order: int
    decision: Decision
    score: int
    enabled: bool
    params: Mapping[str, Any]
    description: str
    source: str
    logic: RuleKind = field(compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "order": self.order,
            "decision": self.decision.value,
            "score": self.score,
            "enabled": self.enabled,
            "description": self.description,
            "source": self.source,
            "params": dict(self.params),
        }


@dataclass(frozen=True)
class RuleSet:
    name: str
    description: str
    base_currency: str
    review_score: int | None
    block_score: int | None
    rules: tuple[RuleSpec, ...]
    """In evaluation order."""

    def to_dict(self) -> dict[str, Any]:
        scoring: dict[str, int] = {}
        if self.review_score is not None:
            scoring["review_at"] = self.review_score
        if self.block_score is not None:
            scoring["block_at"] = self.block_score
        return {
            "name": self.name,
            "description": self.description,
            "base_currency": self.base_currency,
            "scoring": scoring,
            "rules": [rule.to_dict() for rule in self.rules],
        }

    def canonical_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @cached_property
    def checksum(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def rule(self, rule_id: str) -> RuleSpec:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    @cached_property
    def enabled_rules(self) -> tuple[RuleSpec, ...]:
        return tuple(rule for rule in self.rules if rule.enabled)


def _text(
    data: Mapping[str, Any], key: str, where: str, problems: list[Problem], default: str = ""
) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        problems.append(Problem(f"{where}.{key}" if where else key, f"{value!r} is not text"))
        return default
    return value


def _int(
    data: Mapping[str, Any], key: str, where: str, problems: list[Problem], default: int | None
) -> int | None:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.append(
            Problem(f"{where}.{key}" if where else key, f"{value!r} is not a whole number >= 0")
        )
        return default
    return value


def _parse_rule(
    raw: Any, where: str, base_currency: str, problems: list[Problem]
) -> RuleSpec | None:
    if not isinstance(raw, Mapping):
        problems.append(Problem(where, "must be a table"))
        return None
    for key in raw:
        if key not in _RULE_KEYS:
            problems.append(
                Problem(f"{where}.{key}", f"unknown field (known: {', '.join(sorted(_RULE_KEYS))})")
            )
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _RULE_ID.match(rule_id):
        problems.append(
            Problem(f"{where}.id", "is required: letters, digits and . _ : - (at most 100)")
        )
        rule_id = None
    kind_name = raw.get("type")
    kind = RULE_TYPES.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        problems.append(
            Problem(
                f"{where}.type",
                f"{kind_name!r} is not a rule type (one of {', '.join(sorted(RULE_TYPES))})",
            )
        )
    decision_raw = raw.get("decision", "review")
    try:
        decision = Decision(decision_raw)
    except ValueError:
        problems.append(
            Problem(f"{where}.decision", f"{decision_raw!r} is not allow, review or block")
        )
        decision = Decision.REVIEW
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(Problem(f"{where}.enabled", f"{enabled!r} is not true or false"))
        enabled = True
    order = _int(raw, "order", where, problems, 0) or 0
    score = _int(raw, "score", where, problems, 0) or 0
    description = _text(raw, "description", where, problems)
    source = _text(raw, "source", where, problems)
    params_raw = raw.get("params", {})
    if kind is None or rule_id is None:
        return None
    before = len(problems)
    params = Params(params_raw, f"{where}.params", problems, base_currency)
    logic = kind.from_params(params)
    params.finish()
    if len(problems) > before:
        return None
    return RuleSpec(
        id=rule_id,
        type=kind.type_name,
        order=order,
        decision=decision,
        score=score,
        enabled=enabled,
        params=dict(params_raw or {}),
        description=description,
        source=source,
        logic=logic,
    )


def parse_rule_set(data: Any) -> RuleSet:
    """Validate a rule-set body (parsed TOML or JSON).

    Raises :class:`RuleSetError` listing every problem found, each with its location.
    """
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        raise RuleSetError([Problem("", "a rule set must be a table/object")])
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(Problem(key, f"unknown field (known: {', '.join(sorted(_TOP_KEYS))})"))
    name = _text(data, "name", "", problems)
    if not name.strip():
        problems.append(Problem("name", "is required"))
    description = _text(data, "description", "", problems)
    try:
        base_currency = currency_code(data.get("base_currency", ""))
    except CurrencyError as exc:
        problems.append(Problem("base_currency", f"is required: {exc}"))
        raise RuleSetError(problems) from exc
    scoring = data.get("scoring", {})
    if not isinstance(scoring, Mapping):
        problems.append(Problem("scoring", "must be a table"))
        scoring = {}
    for key in scoring:
        if key not in ("review_at", "block_at"):
            problems.append(Problem(f"scoring.{key}", "unknown field (known: block_at, review_at)"))
    review_at = _int(scoring, "review_at", "scoring", problems, None)
    block_at = _int(scoring, "block_at", "scoring", problems, None)
    if review_at is not None and block_at is not None and review_at > block_at:
        problems.append(Problem("scoring.review_at", "must not be above block_at"))
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        problems.append(Problem("rules", "must be a non-empty list of rules"))
        raw_rules = []
    rules: list[RuleSpec] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_rules):
        rule = _parse_rule(raw, f"rules[{index}]", base_currency, problems)
        if rule is None:
            continue
        if rule.id in seen:
            problems.append(Problem(f"rules[{index}].id", f"{rule.id!r} is used twice"))
        seen.add(rule.id)
        rules.append(rule)
    if problems:
        raise RuleSetError(problems)
    rules.sort(key=lambda r: (r.order, r.id))
    return RuleSet(name, description, base_currency, review_at, block_at, tuple(rules))


def rule_set_from_toml(text: str) -> RuleSet:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleSetError([Problem("", f"not valid TOML: {exc}")]) from exc
    return parse_rule_set(data)


def rule_set_from_json(text: str | bytes) -> RuleSet:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleSetError([Problem("", f"not valid JSON: {exc}")]) from exc
    return parse_rule_set(data)


def load_rule_set(path: Path) -> RuleSet:
    """A rule set from a ``.toml`` or ``.json`` file."""
    text = path.read_text(encoding="utf-8")
    return rule_set_from_json(text) if path.suffix.lower() == ".json" else rule_set_from_toml(text)


def default_rule_set() -> RuleSet:
    """The documented default shipped in ``compliance/data/default_rules.toml``."""
    return load_rule_set(DEFAULT_RULES_PATH)

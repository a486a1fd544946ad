"""AML and risk rules: declarative, versioned rule sets evaluated on a payment context.

Pure parts: :mod:`.ruleset` (format and parsing), :mod:`.kinds` (the built-in rule types),
:mod:`.engine` (evaluation), :mod:`.dry_run`, :mod:`.countries` (dated country data),
:mod:`.history` (window queries). I/O parts: :mod:`.observations` (history store) and
:mod:`.store` (rule-set versions).
"""

from __future__ import annotations

from .context import ContextError, Party, PaymentContext, ToBase, build_context
from .decision import Decision, Evaluation, RuleHit
from .dry_run import DryRunReport, Flip, PastPayment, dry_run
from .engine import EvaluationError, evaluate, plan
from .history import History, MemoryHistory, Observation, WindowQuery, WindowStats
from .params import Problem, RuleSetError
from .ruleset import (
    RuleSet,
    RuleSpec,
    default_rule_set,
    load_rule_set,
    parse_rule_set,
    rule_set_from_json,
    rule_set_from_toml,
)
from .screening import ScreeningResultLike, ScreeningSnapshot

__all__ = [
    "ContextError",
    "Decision",
    "DryRunReport",
    "Evaluation",
    "EvaluationError",
    "Flip",
    "History",
    "MemoryHistory",
    "Observation",
    "Party",
    "PastPayment",
    "PaymentContext",
    "Problem",
    "RuleHit",
    "RuleSet",
    "RuleSetError",
    "RuleSpec",
    "ScreeningResultLike",
    "ScreeningSnapshot",
    "ToBase",
    "WindowQuery",
    "WindowStats",
    "build_context",
    "default_rule_set",
    "dry_run",
    "evaluate",
    "load_rule_set",
    "parse_rule_set",
    "plan",
    "rule_set_from_json",
    "rule_set_from_toml",
]

"""The built-in rule types, by the name a rule set uses in ``type = "..."``."""

from __future__ import annotations

from .amount import AmountThresholdRule
from .base import Finding, Inputs, RuleKind
from .country_list import CountryListRule
from .mismatch import CountryMismatchRule
from .refund_ratio import RefundRatioRule
from .sanctions import SanctionsRule
from .structuring import StructuringRule
from .travel_rule import TravelRule
from .velocity import VelocityRule

RULE_TYPES: dict[str, type[RuleKind]] = {
    kind.type_name: kind
    for kind in (
        SanctionsRule,
        CountryListRule,
        AmountThresholdRule,
        VelocityRule,
        StructuringRule,
        CountryMismatchRule,
        TravelRule,
        RefundRatioRule,
    )
}

__all__ = ["RULE_TYPES", "Finding", "Inputs", "RuleKind"]

"""The check every payment passes before any money moves (compliance plugs in here).

Payments does not know how compliance decides; it asks one registered function and acts
on its answer: ``allow`` goes on to the processor, ``review`` holds the intent in
``requires_review`` (a case is open), ``block`` declines it with a generic decline, so
neither merchant nor payer is told why (no tipping off). With nothing registered, every
payment is allowed.

Refunds are reported the same way: hooks registered with :func:`on_refund` hear of every
refund that was accepted (compliance counts them for its refund-abuse rule), inside the
refund's transaction, so what they record commits or rolls back with the refund.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

Decision = Literal["allow", "review", "block"]


@dataclass(frozen=True)
class PaymentFacts:
    """What the check may look at: the payment, its payer and its instrument."""

    intent_id: str
    account_id: str
    amount: int
    currency: str
    payer: dict[str, Any]
    method_type: str
    card_fingerprint: str | None = None
    card_country: str | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    review_id: str | None = None
    """The case opened for a ``review`` (its id goes on the intent)."""


Check = Callable[[Session, PaymentFacts], Verdict]


def allow_everything(session: Session, facts: PaymentFacts) -> Verdict:
    return Verdict("allow")


_check: Check = allow_everything


def install(check: Check) -> None:
    global _check
    _check = check


def installed() -> Check:
    return _check


def evaluate(session: Session, facts: PaymentFacts) -> Verdict:
    return _check(session, facts)


@dataclass(frozen=True)
class RefundFacts:
    """A refund the processor accepted (``succeeded`` or still ``pending``)."""

    refund_id: str
    intent_id: str
    account_id: str
    amount: int
    currency: str
    created: dt.datetime


RefundHook = Callable[[Session, RefundFacts], None]

_refund_hooks: list[RefundHook] = []


def on_refund(hook: RefundHook) -> None:
    """Register ``hook`` for every accepted refund (registering it twice is a no-op)."""
    if hook not in _refund_hooks:
        _refund_hooks.append(hook)


def remove_refund_hook(hook: RefundHook) -> None:
    if hook in _refund_hooks:
        _refund_hooks.remove(hook)


def refunded(session: Session, facts: RefundFacts) -> None:
    for hook in tuple(_refund_hooks):
        hook(session, facts)

"""What the system says should appear on a statement, and who says it.

The matching engine knows nothing about payouts, intents or settlement batches: it
matches statement lines against :class:`Expected` items. Each part of the system that
expects money to move through a statement implements :class:`ExpectedProvider` over its
own tables and registers it (:func:`register_provider`); reconciliation asks every
registered provider for a source's items in a date window, and itself leaves out those
it has already matched or closed.

Signs: ``amount`` is signed from the statement account's side, ``+`` for money that
arrives (a credit: a provider settlement, a payer's bank transfer), ``-`` for money that
leaves (a debit: a payout).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol

from sqlalchemy.orm import Session

from .references import normalise_reference


class ExpectedKind(StrEnum):
    PAYOUT = "payout"
    """A payout sent to a merchant's bank: a debit on the platform's bank statement."""
    PROVIDER_SETTLEMENT = "provider_settlement"
    """Money a payment provider owes us: a line of its report, or a deposit at the bank."""
    BANK_TRANSFER_CREDIT = "bank_transfer_credit"
    """A payer's bank transfer to a payment intent, named by its RF reference."""


@dataclass(frozen=True, slots=True)
class Expected:
    kind: ExpectedKind
    id: str
    """The expected object's own id (``po_...``, ``pi_...``); unique within its kind."""
    amount: int
    """Signed minor units: + money into the statement's account, - money out."""
    currency: str
    date: dt.date
    """When it should appear on the statement."""
    references: Mapping[str, str] = field(default_factory=dict)
    """Names it may carry on a line: ``payout_id``, ``end_to_end_id``, ``rf_reference``,
    ``provider_id`` ... (the values are what is looked up)."""
    batch: str | None = None
    """Items settled together in one movement (a provider's payout): matched as a sum."""
    booked_at_bank: bool = False
    """Already posted to the ledger's ``bank`` account before the statement shows it (a
    payout the bank answered ``paid``): until it appears, ledger and statement differ by
    it, and the daily report counts it as explained."""

    key: str = field(init=False, repr=False, compare=False)
    """Globally unique: the kind and the id (``payout:po_...``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.kind.value}:{self.id}")
        # References are indexed as lines carry them: RF references compact, upper case.
        refs = self.references
        if any(value[:2].upper() == "RF" for value in refs.values() if value):
            object.__setattr__(
                self,
                "references",
                {name: normalise_reference(value) for name, value in refs.items() if value},
            )


@dataclass(frozen=True, slots=True)
class Window:
    """Dates an expected item may fall in to be considered for a statement."""

    start: dt.date
    end: dt.date


class ExpectedProvider(Protocol):
    """Items one part of the system expects on statements of ``source`` in ``currency``."""

    def expected_items(
        self,
        session: Session,
        source: str,
        currency: str,
        window: Window,
    ) -> Iterable[Expected]:
        """Items dated within ``window`` (settled ones may be included: they are skipped)."""
        ...


_providers: dict[str, ExpectedProvider] = {}


def register_provider(name: str, provider: ExpectedProvider) -> Callable[[], None]:
    """Add (or replace) the provider called ``name``; returns a function that removes it."""
    _providers[name] = provider

    def unregister() -> None:
        if _providers.get(name) is provider:
            del _providers[name]

    return unregister


def providers() -> Mapping[str, ExpectedProvider]:
    return MappingProxyType(_providers)


def collect(session: Session, source: str, currency: str, window: Window) -> list[Expected]:
    """Every registered provider's items, once each, in a deterministic order (date, key)."""
    items: dict[str, Expected] = {}
    for name in sorted(_providers):
        for item in _providers[name].expected_items(session, source, currency, window):
            items.setdefault(item.key, item)
    return sorted(items.values(), key=lambda e: (e.date, e.key))


def to_json(item: Expected) -> dict[str, object]:
    return {
        "kind": item.kind.value,
        "id": item.id,
        "amount": item.amount,
        "currency": item.currency,
        "date": item.date.isoformat(),
        "references": dict(item.references),
        "batch": item.batch,
        "booked_at_bank": item.booked_at_bank,
    }


def from_json(data: Mapping[str, object]) -> Expected:
    return Expected(
        kind=ExpectedKind(str(data["kind"])),
        id=str(data["id"]),
        amount=int(data["amount"]),  # type: ignore[call-overload]
        currency=str(data["currency"]),
        date=dt.date.fromisoformat(str(data["date"])),
        references=dict(data.get("references") or {}),  # type: ignore[call-overload]
        batch=data.get("batch"),  # type: ignore[arg-type]
        booked_at_bank=bool(data.get("booked_at_bank")),
    )

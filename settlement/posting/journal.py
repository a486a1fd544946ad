"""A journal plan: the single-currency transfers one business event posts, as pure data.

Domain code computes *what* moves (this module's :class:`JournalPlan`); the ledger
posts it. Each :class:`PlannedTransfer` maps one-to-one onto a ledger transfer
(``ledger.account(owner, purpose, currency)`` for both sides; the transfer id is the
journal's reference plus the transfer's ``key``, so re-posting the same plan is a
no-op). Every transfer debits and credits the same currency, so each currency of a
plan balances by construction; :meth:`JournalPlan.legs` gives the per-account debit
and credit view for reports and tests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from core.money import check_minor, currency_code

PSP_CLEARING: Final = "psp_clearing"
MERCHANT_PENDING: Final = "merchant_pending"
PLATFORM_FEES: Final = "platform_fees"
FX_POSITION: Final = "fx_position"
FX_ROUNDING: Final = "fx_rounding"

Side = Literal["debit", "credit"]


@dataclass(frozen=True, slots=True, order=True)
class AccountRef:
    """A ledger account by its natural key: ``owner`` is ``"platform"`` or an account id."""

    owner: str
    purpose: str
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", currency_code(self.currency))


@dataclass(frozen=True, slots=True)
class PlannedTransfer:
    key: str
    debit: AccountRef
    credit: AccountRef
    amount: int
    code: str

    def __post_init__(self) -> None:
        if check_minor(self.amount) <= 0:
            raise ValueError(f"transfer {self.key} needs a positive amount, got {self.amount}")
        if self.debit.currency != self.credit.currency:
            raise ValueError(
                f"transfer {self.key} mixes {self.debit.currency} and {self.credit.currency}"
            )
        if self.debit == self.credit:
            raise ValueError(f"transfer {self.key} debits and credits the same account")

    @property
    def currency(self) -> str:
        return self.debit.currency


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of one transfer: ``amount`` on ``side`` of ``account``."""

    account: AccountRef
    side: Side
    amount: int
    transfer_key: str


@dataclass(frozen=True)
class JournalPlan:
    kind: str
    reference: str
    transfers: tuple[PlannedTransfer, ...]
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        keys = [transfer.key for transfer in self.transfers]
        if len(set(keys)) != len(keys):
            raise ValueError(f"journal {self.reference} repeats a transfer key: {keys}")
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    def transfer_id(self, transfer: PlannedTransfer) -> str:
        """The idempotent ledger id: ``<kind>:<reference>:<key>``."""
        return f"{self.kind}:{self.reference}:{transfer.key}"

    def legs(self) -> list[Leg]:
        legs = []
        for transfer in self.transfers:
            legs.append(Leg(transfer.debit, "debit", transfer.amount, transfer.key))
            legs.append(Leg(transfer.credit, "credit", transfer.amount, transfer.key))
        return legs

    def balances(self) -> dict[AccountRef, int]:
        """Net movement per account, debits positive, credits negative."""
        net: dict[AccountRef, int] = defaultdict(int)
        for transfer in self.transfers:
            net[transfer.debit] += transfer.amount
            net[transfer.credit] -= transfer.amount
        return dict(net)

    def currency_totals(self) -> dict[str, tuple[int, int]]:
        """``{currency: (total debits, total credits)}`` over the legs."""
        debits: dict[str, int] = defaultdict(int)
        credits: dict[str, int] = defaultdict(int)
        for leg in self.legs():
            (debits if leg.side == "debit" else credits)[leg.account.currency] += leg.amount
        return {
            code: (debits[code], credits[code]) for code in sorted(debits.keys() | credits.keys())
        }

    def is_balanced(self) -> bool:
        return all(debit == credit for debit, credit in self.currency_totals().values())


class JournalBuilder:
    """Collects movements; a negative amount swaps the sides, a zero one is left out."""

    def __init__(self) -> None:
        self._transfers: list[PlannedTransfer] = []

    def move(self, key: str, debit: AccountRef, credit: AccountRef, amount: int, code: str) -> None:
        if check_minor(amount) == 0:
            return
        if amount < 0:
            debit, credit, amount = credit, debit, -amount
        self._transfers.append(PlannedTransfer(key, debit, credit, amount, code))

    def build(self, kind: str, reference: str, metadata: Mapping[str, str]) -> JournalPlan:
        return JournalPlan(kind, reference, tuple(self._transfers), metadata)

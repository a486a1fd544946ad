"""What the ledger returns: immutable records of accounts, transfers, journals and balances.

These are plain frozen dataclasses, not ORM objects, so a caller can keep them after
its session closes and an engine other than SQL could produce the same records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from .codes import LedgerError, ResultCode
from .purposes import Side
from .specs import MetadataValue


class TransferKind(StrEnum):
    POSTED = "posted"
    """Single-phase: moves money at once (also a reversal, which names what it reverses)."""
    PENDING = "pending"
    """Reserves money on both accounts until posted, voided or expired."""
    POST_PENDING = "post_pending"
    """Posts ``amount`` of a reservation and releases all of it (``released``)."""
    VOID_PENDING = "void_pending"
    """Releases a reservation (``released``) without moving money."""
    EXPIRE_PENDING = "expire_pending"
    """Releases a reservation whose timeout passed; written by the ledger itself."""


T = TypeVar("T")

RESOLUTIONS = frozenset(
    {TransferKind.POST_PENDING, TransferKind.VOID_PENDING, TransferKind.EXPIRE_PENDING}
)


@dataclass(frozen=True, slots=True)
class Transfer:
    """One immutable ledger entry: ``amount`` debited from one account, credited to another.

    Its effect on both accounts' totals follows from ``kind``: posted amount
    ``posted_amount`` and pending change ``pending_change`` (negative when a reservation
    is released).
    """

    id: str
    seq: int | None
    kind: TransferKind
    debit_account_id: str
    credit_account_id: str
    currency: str
    amount: int
    released: int
    pending_id: str | None
    reverses_id: str | None
    timeout_seconds: int | None
    timeout_at: dt.datetime | None
    code: str
    reference: str
    journal_id: str | None
    timestamp: dt.datetime
    metadata: dict[str, MetadataValue]
    checksum: str

    @property
    def posted_amount(self) -> int:
        return 0 if self.kind is TransferKind.PENDING else self.amount

    @property
    def pending_change(self) -> int:
        return self.amount if self.kind is TransferKind.PENDING else -self.released


@dataclass(frozen=True, slots=True)
class Totals:
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's totals and the balances derived from them, in its normal sign.

    - ``posted``: what has settled (credits - debits on a credit-normal account);
    - ``pending``: incoming minus outgoing reservations;
    - ``available``: ``posted`` minus outgoing reservations, i.e. what may still be
      spent; the limit flag ``debits_must_not_exceed_credits`` keeps it >= 0.
    """

    account_id: str
    currency: str
    normal: Side
    totals: Totals
    as_of: dt.datetime | None = None

    @property
    def posted(self) -> int:
        t = self.totals
        if self.normal is Side.CREDIT:
            return t.credits_posted - t.debits_posted
        return t.debits_posted - t.credits_posted

    @property
    def pending(self) -> int:
        t = self.totals
        if self.normal is Side.CREDIT:
            return t.credits_pending - t.debits_pending
        return t.debits_pending - t.credits_pending

    @property
    def available(self) -> int:
        t = self.totals
        outgoing = t.debits_pending if self.normal is Side.CREDIT else t.credits_pending
        return self.posted - outgoing


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    owner: str
    purpose: str
    currency: str
    normal: Side
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    totals: Totals
    created: dt.datetime

    @property
    def balance(self) -> Balance:
        return Balance(self.id, self.currency, self.normal, self.totals)


@dataclass(frozen=True, slots=True)
class JournalRecord:
    id: str
    code: str
    reference: str
    rate: str | None
    quote_id: str | None
    metadata: dict[str, MetadataValue]
    created: dt.datetime


@dataclass(frozen=True, slots=True)
class TransferResult:
    """The outcome of one operation of a posting.

    ``transfer`` is the stored transfer when the operation is in the ledger (``ok``: just
    written; ``exists``: the original, unchanged), and on ``exists_with_different_*``
    the conflicting original; ``None`` otherwise.
    """

    id: str
    code: ResultCode
    transfer: Transfer | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.code.ok

    @property
    def created(self) -> bool:
        return self.code is ResultCode.OK

    @property
    def journal_id(self) -> str | None:
        return self.transfer.journal_id if self.transfer is not None and self.ok else None

    def check(self) -> TransferResult:
        """Return ``self`` if the transfer is in the ledger, else raise :class:`LedgerError`."""
        if not self.ok:
            raise LedgerError(self.code, self.id, self.detail or str(self.code).replace("_", " "))
        return self


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """A slice of a list read, in Stripe's shape (``data`` + ``has_more``)."""

    data: list[T]
    has_more: bool

    def __iter__(self) -> Any:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class StatementLine:
    """A transfer as one account sees it, with the account's balances after it."""

    transfer: Transfer
    side: Side
    posted_change: int
    pending_change: int
    posted_balance: int
    pending_balance: int


@dataclass(frozen=True, slots=True)
class Statement:
    account: Account
    opening_posted: int
    opening_pending: int
    lines: list[StatementLine] = field(default_factory=list)
    has_more: bool = False

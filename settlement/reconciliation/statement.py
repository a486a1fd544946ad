"""The normalised statement every importer produces, whatever the file's format.

A bank's camt.053, an MT940, a provider's settlement report and a CSV export all say
the same thing: on this day, this much money moved in (credit) or out (debit) of one
account, with these references. Matching and reporting only ever see this shape, so a
new format is a new parser and nothing else.

Amounts are integer minor units, always positive, with an explicit ``direction``;
``signed`` gives the account's view (+ money in, - money out). ``fee`` is what a
provider kept from a line (Stripe's ``fee`` column), signed as the provider reports it:
the money that reaches the bank for that line is ``signed - fee``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class Direction(StrEnum):
    CREDIT = "credit"
    DEBIT = "debit"


class StatementKind(StrEnum):
    BANK = "bank"
    """Lines are movements on one of the platform's bank accounts (ledger purpose ``bank``)."""
    PROVIDER = "provider"
    """Lines are a payment provider's balance transactions (what the PSP owes us)."""


class StatementRefused(ValueError):
    """A file refused as a whole. ``line`` is the 1-based line of the file (0 if none)."""

    def __init__(self, reason: str, line: int = 0) -> None:
        self.reason = reason
        self.line = line
        super().__init__(f"line {line}: {reason}" if line else reason)


@dataclass(frozen=True, slots=True)
class References:
    """Everything on a line that can name the object it settles."""

    end_to_end_id: str | None = None
    provider_id: str | None = None
    """The provider's id of the underlying object (Stripe ``ch_``/``pi_``/``po_`` ...)."""
    bank_reference: str | None = None
    """The account servicer's reference of the entry."""
    batch_id: str | None = None
    """The provider batch the line was settled in (Stripe ``automatic_payout_id``)."""
    remittance_info: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None


@dataclass(frozen=True, slots=True)
class StatementLine:
    line_no: int
    """Where the line starts in the file (1-based), for messages and audits."""
    booking_date: dt.date
    value_date: dt.date
    amount: int
    currency: str
    direction: Direction
    refs: References = field(default_factory=References)
    raw: str = ""
    fee: int = 0
    category: str | None = None
    """The provider's category of the line (Stripe ``reporting_category``), if any."""

    @property
    def signed(self) -> int:
        return self.amount if self.direction is Direction.CREDIT else -self.amount

    @property
    def net(self) -> int:
        """Signed amount that reaches the bank: the gross less the provider's fee."""
        return self.signed - self.fee


@dataclass(frozen=True, slots=True)
class Balance:
    amount: int
    """Signed minor units: a debit (overdrawn) balance is negative."""
    date: dt.date


@dataclass(frozen=True, slots=True)
class ParsedStatement:
    format: str
    kind: StatementKind
    account: str
    currency: str
    lines: tuple[StatementLine, ...]
    opening: Balance | None = None
    closing: Balance | None = None
    statement_ref: str | None = None
    """The sender's own id of the statement (camt ``Stmt/Id``, MT940 ``:20:``)."""

    def check_balances(self) -> None:
        """Opening + the sum of the lines must equal closing, to the minor unit.

        A statement whose closing balance was edited (or whose lines were) is refused:
        reconciling against it would move real money on the ledger to match a lie.
        """
        if self.opening is None or self.closing is None:
            return
        total = self.opening.amount + sum(line.signed for line in self.lines)
        if total != self.closing.amount:
            raise StatementRefused(
                f"closing balance {self.closing.amount} does not equal opening balance "
                f"{self.opening.amount} plus the entries ({total - self.opening.amount}): "
                "the statement is inconsistent or was tampered with"
            )

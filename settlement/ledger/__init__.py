"""Corridor's double-entry ledger (after TigerBeetle's accounts and transfers).

Entry point: ``Ledger(session)``. Accounts are found-or-created by (owner, purpose,
currency); postings are batches of operations (:class:`TransferSpec`,
:class:`PostPending`, :class:`VoidPending`, :class:`Reversal`), independent or grouped
in an all-or-nothing :class:`Journal`; each operation gets a :class:`ResultCode`.
Reads: balances (now or as of a past moment), statements, paginated lists, and
``verify`` that checks every invariant. See DESIGN.md (Ledger) and the modules' docs.
"""

from .accounts import PLATFORM
from .codes import LedgerError, ResultCode
from .exchange import Exchange, check_exchange, exchange_legs
from .ledger import Ledger
from .purposes import AccountPolicy, Side, policy_for, purposes
from .records import (
    Account,
    Balance,
    JournalRecord,
    Page,
    Statement,
    StatementLine,
    Totals,
    Transfer,
    TransferKind,
    TransferResult,
)
from .specs import Journal, Operation, PostPending, Reversal, TransferSpec, VoidPending
from .verify import Problem, VerifyReport, verify, verify_database

__all__ = [
    "PLATFORM",
    "Account",
    "AccountPolicy",
    "Balance",
    "Exchange",
    "Journal",
    "JournalRecord",
    "Ledger",
    "LedgerError",
    "Operation",
    "Page",
    "PostPending",
    "Problem",
    "ResultCode",
    "Reversal",
    "Side",
    "Statement",
    "StatementLine",
    "Totals",
    "Transfer",
    "TransferKind",
    "TransferResult",
    "TransferSpec",
    "VerifyReport",
    "VoidPending",
    "check_exchange",
    "exchange_legs",
    "policy_for",
    "purposes",
    "verify",
    "verify_database",
]

"""What other parts of the system do when reconciliation proves money moved.

Reconciliation does not own payouts or payment intents, so it calls out: when a bank
statement shows a payout left, every ``payout_confirmed`` hook runs (the payouts side
marks the payout ``paid`` and posts its pending transfer); when a payer's bank transfer
arrives, every ``bank_transfer_received`` hook runs (the payments side completes the
intent, and its capture books the gross to ``psp_clearing`` as every capture does).
Hooks run in reconciliation's transaction, before its own postings, so the state change
and the ledger entries commit together or not at all. A hook must be idempotent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class BankCredit:
    """A payer's bank transfer as the statement shows it."""

    intent_id: str
    amount: int
    """Minor units the intent is completed with (its expected amount, positive): within a
    source's tolerance the payer's shortfall or excess is the platform's difference."""
    received: int
    """Minor units that actually arrived (the line, or the instalments, summed)."""
    currency: str
    line_id: str
    booking_date: dt.date
    reference: str | None


PayoutConfirmed = Callable[[Session, str], None]
BankTransferReceived = Callable[[Session, BankCredit], None]

_payout_confirmed: list[PayoutConfirmed] = []
_bank_transfer_received: list[BankTransferReceived] = []


def on_payout_confirmed(hook: PayoutConfirmed) -> PayoutConfirmed:
    """Register ``hook(session, payout_id)`` (usable as a decorator)."""
    if hook not in _payout_confirmed:
        _payout_confirmed.append(hook)
    return hook


def on_bank_transfer_received(hook: BankTransferReceived) -> BankTransferReceived:
    """Register ``hook(session, credit)`` (usable as a decorator)."""
    if hook not in _bank_transfer_received:
        _bank_transfer_received.append(hook)
    return hook


def remove_hook(hook: Callable[..., None]) -> None:
    for hooks in (_payout_confirmed, _bank_transfer_received):
        if hook in hooks:
            hooks.remove(hook)  # type: ignore[arg-type]


def payout_confirmed(session: Session, payout_id: str) -> None:
    for hook in list(_payout_confirmed):
        hook(session, payout_id)


def bank_transfer_received(session: Session, credit: BankCredit) -> None:
    for hook in list(_bank_transfer_received):
        hook(session, credit)

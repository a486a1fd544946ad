"""What a match or a resolution posts to the ledger, computed as legs, posted as a journal.

A posting is first a set of *legs*: ledger purpose -> signed debit amount (+ debit,
- credit), summing to zero in one currency. That part is pure and testable. The legs
then become transfers, each leg against one anchor account (the statement's own
account when it moves), posted as one all-or-nothing journal with ids derived from the
match or break id, so a repeat posts nothing twice.

The statement's account is ``bank`` for a bank statement (its lines are the bank
account's movements) and ``psp_clearing`` for a provider's report (what the provider
owes us). Counterparts by expected kind:

- ``payout``: ``payouts_in_transit``, but that leg (``payouts_in_transit -> bank`` for
  the payout's amount) is the payouts side's own posting, made when reconciliation
  confirms the payout through :func:`.hooks.payout_confirmed` (the bank's ``paid``
  answer); reconciliation posts only what differs between the line and the payout;
- ``provider_settlement``: ``psp_clearing`` (money a provider owed us arrives);
- ``bank_transfer_credit``: ``psp_clearing`` (the intent's capture booked the gross
  there, as every capture does; the payer's money at the bank clears it).

A difference within tolerance goes to ``reconciliation_differences``; a provider's fee
on a report line to ``provider_fees``; a bank account's balance before Corridor's first
statement to ``bank_opening_balance``. Every minor unit lands in a named account.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final

from settlement.ledger import PLATFORM, Journal, Ledger, Side, TransferSpec, policy_for

from .expected import Expected, ExpectedKind
from .statement import StatementKind

DIFFERENCES: Final = "reconciliation_differences"
PROVIDER_FEES: Final = "provider_fees"
OPENING_BALANCE: Final = "bank_opening_balance"

AD_HOC_PURPOSES: Final = MappingProxyType(
    {
        DIFFERENCES: Side.DEBIT,
        PROVIDER_FEES: Side.DEBIT,
        "bank_fees": Side.DEBIT,
        "reconciliation_suspense": Side.DEBIT,
        "reconciliation_write_offs": Side.DEBIT,
        OPENING_BALANCE: Side.CREDIT,
    }
)
"""Reconciliation's own accounts (not in the ledger's purpose table), with normal sides."""

WRITE_OFF_ACCOUNTS: Final = frozenset(
    {
        DIFFERENCES,
        PROVIDER_FEES,
        "bank_fees",
        "reconciliation_suspense",
        "reconciliation_write_offs",
        "platform_fees",
        "fx_rounding",
    }
)
"""Where finance may write a break off to."""

COUNTERPART: Final = MappingProxyType(
    {
        ExpectedKind.PAYOUT: "payouts_in_transit",
        ExpectedKind.PROVIDER_SETTLEMENT: "psp_clearing",
        ExpectedKind.BANK_TRANSFER_CREDIT: "psp_clearing",
    }
)


def statement_account(kind: StatementKind | str) -> str:
    return "bank" if StatementKind(kind) is StatementKind.BANK else "psp_clearing"


Legs = dict[str, int]


def _clean(legs: Mapping[str, int]) -> Legs:
    out = {purpose: amount for purpose, amount in legs.items() if amount}
    if sum(out.values()) != 0:
        raise ValueError(f"legs do not balance: {out}")
    return out


def match_legs(
    kind: StatementKind | str, line_total: int, fees: int, items: Sequence[Expected]
) -> Legs:
    """Legs of a matched group: the statement account takes the lines, each item's
    counterpart gives up the item, the difference and any provider fee land in their
    named accounts. A payout's own leg is left to the payouts side (see above)."""
    own = statement_account(kind)
    legs: defaultdict[str, int] = defaultdict(int)
    legs[own] += line_total
    expected_total = 0
    for item in items:
        if item.kind is ExpectedKind.PAYOUT:
            legs[own] -= item.amount  # posted by the payout's confirmation
        else:
            legs[COUNTERPART[item.kind]] -= item.amount
        expected_total += item.amount
    legs[DIFFERENCES] -= line_total - expected_total
    if fees:
        legs[PROVIDER_FEES] += fees
        legs[own] -= fees
    return _clean(legs)


def line_write_off_legs(kind: StatementKind | str, signed: int, account: str, fee: int = 0) -> Legs:
    """A line nothing explains, accepted into ``account``: the statement account moves as
    the statement says (net of a provider's fee, which goes to ``provider_fees``),
    ``account`` takes the other side."""
    legs: defaultdict[str, int] = defaultdict(int)
    legs[statement_account(kind)] += signed - fee
    legs[PROVIDER_FEES] += fee
    legs[account] -= signed
    return _clean(legs)


def item_write_off_legs(item: Expected, account: str) -> Legs:
    """An expected item that will never arrive on the statement, written off to ``account``.

    An item already booked at the bank (a paid payout) is taken back out of ``bank``: the
    statement says the money never left. Otherwise its counterpart is cleared (a provider
    settlement that will never come: ``psp_clearing`` into a loss). A payout still in
    transit is not written off but failed on the payouts side, and a bank transfer that
    never came booked nothing: both are refused here.
    """
    if item.booked_at_bank:
        return _clean({"bank": -item.amount, account: item.amount})
    if item.kind is not ExpectedKind.PROVIDER_SETTLEMENT:
        raise ValueError(
            f"a {item.kind.value} that was never booked has nothing to write off; "
            "ignore it (or fail the payout on the payouts side)"
        )
    return _clean({COUNTERPART[item.kind]: -item.amount, account: item.amount})


def opening_legs(amount: int) -> Legs:
    return _clean({"bank": amount, OPENING_BALANCE: -amount})


def transfers(
    legs: Mapping[str, int],
    accounts: Mapping[str, str],
    currency: str,
    *,
    id_prefix: str,
    code: str,
    reference: str,
    anchor: str | None = None,
) -> list[TransferSpec]:
    """One transfer per leg against the anchor (which absorbs the rest), in purpose order."""
    if not legs:
        return []
    if anchor is None or not legs.get(anchor):
        anchor = max(sorted(legs), key=lambda p: abs(legs[p]))
    specs = []
    for purpose in sorted(legs):
        if purpose == anchor:
            continue
        amount = legs[purpose]
        debit, credit = (purpose, anchor) if amount > 0 else (anchor, purpose)
        specs.append(
            TransferSpec(
                id=f"{id_prefix}:{purpose}",
                debit=accounts[debit],
                credit=accounts[credit],
                amount=abs(amount),
                currency=currency,
                code=code,
                reference=reference,
            )
        )
    return specs


def _account_id(ledger: Ledger, purpose: str, currency: str) -> str:
    if policy_for(purpose) is not None:
        return ledger.platform_account(purpose, currency).id
    normal = AD_HOC_PURPOSES.get(purpose)
    if normal is None:
        raise ValueError(f"{purpose!r} is not an account reconciliation may post to")
    return ledger.account(PLATFORM, purpose, currency, normal=normal).id


def post_legs(
    ledger: Ledger,
    legs: Mapping[str, int],
    currency: str,
    *,
    id_prefix: str,
    code: str,
    reference: str,
    anchor: str | None = None,
) -> list[str]:
    """Post ``legs`` as one journal; returns the transfer ids (existing ones count:
    posting the same ids again is a no-op in the ledger). Raises ``LedgerError``."""
    if not legs:
        return []
    accounts = {purpose: _account_id(ledger, purpose, currency) for purpose in legs}
    specs = transfers(
        legs, accounts, currency, id_prefix=id_prefix, code=code, reference=reference, anchor=anchor
    )
    ledger.post_or_raise(specs, journal=Journal(code=code, reference=reference))
    return [spec.id for spec in specs]

"""The compliance hook every payout passes before it is sent.

Settlement must not import compliance (both are domains; the API wires them together),
so the check is a registry: the composition root installs a screener with
:func:`set_payout_screener`, and :func:`screen_payout` asks it. Without one installed,
every payout is allowed (the embedded default and unit tests).

A screener receives the payout's beneficiary as settlement knows it and answers:

* ``allow``  — the payout is sent now;
* ``review`` — the payout stays ``pending`` with its funds reserved, held until a
  compliance officer decides (:func:`settlement.payouts.release_payout_review`);
* ``block``  — the payout fails (``failure_code="declined"``, a generic message: nobody
  outside compliance learns why) and its funds return to the available balance.

It runs inside the payout's transaction, so a case it opens or an audit entry it
writes commits or rolls back with the payout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session


class ScreeningDecision(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class PayoutScreening:
    """What a screener may look at: the payout and its beneficiary (never the full number)."""

    payout_id: str
    account_id: str
    amount: int
    currency: str
    automatic: bool
    beneficiary_name: str
    beneficiary_country: str
    """The bank account's country."""
    merchant_country: str
    bank_name: str | None = None


@dataclass(frozen=True, slots=True)
class ScreeningOutcome:
    decision: ScreeningDecision
    reference: str | None = None
    """The review case (or other record) the screener opened, shown on a held payout."""


PayoutScreener = Callable[[Session, PayoutScreening], ScreeningOutcome]


def _allow_all(_session: Session, _payout: PayoutScreening) -> ScreeningOutcome:
    return ScreeningOutcome(ScreeningDecision.ALLOW)


_screener: PayoutScreener = _allow_all


def set_payout_screener(screener: PayoutScreener | None) -> None:
    """Install the process's screener (``None`` restores the allow-all default)."""
    global _screener
    _screener = screener or _allow_all


def screen_payout(session: Session, payout: PayoutScreening) -> ScreeningOutcome:
    outcome = _screener(session, payout)
    if not isinstance(outcome, ScreeningOutcome):
        raise TypeError(f"a payout screener must return a ScreeningOutcome, got {outcome!r}")
    return outcome

"""What an arriving bank credit does to the intent its reference names — pure arithmetic.

Payers send too little, too much, twice, in the wrong currency, or after the intent
was canceled. Each case gets an explicit outcome with every minor unit accounted for:
``applied`` counts toward the intent, ``surplus`` is money received that the intent
does not take (to be refunded or held, never silently kept), and ``remaining`` is what
is still owed.

============== =============================================== ==================
outcome        when                                            intent
============== =============================================== ==================
exact          credit == amount still owed                     succeeded
short          credit <  amount still owed                     stays requires_action
                                                               (amount_remaining)
excess         credit >  amount still owed (incl. owed == 0)   succeeded; surplus
currency_mism. credit currency != intent currency              unchanged; all surplus
not_accepting  intent canceled (or otherwise closed)           unchanged; all surplus
============== =============================================== ==================
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.money import check_minor, currency_code


class CreditOutcome(StrEnum):
    EXACT = "exact"
    SHORT = "short"
    EXCESS = "excess"
    CURRENCY_MISMATCH = "currency_mismatch"
    NOT_ACCEPTING = "not_accepting"


@dataclass(frozen=True)
class CreditMatch:
    outcome: CreditOutcome
    applied: int
    """Minor units counted toward the intent (intent currency)."""
    remaining: int
    """Still owed after this credit (intent currency)."""
    surplus: int
    """Received but not taken by the intent, in ``surplus_currency``: refund or hold."""
    surplus_currency: str
    received_total: int
    """Everything applied to the intent so far, this credit included."""

    @property
    def completes_payment(self) -> bool:
        return self.outcome in (CreditOutcome.EXACT, CreditOutcome.EXCESS) and self.applied > 0

    @property
    def amount_remaining(self) -> int:
        """For ``display_bank_transfer_instructions.amount_remaining``."""
        return self.remaining


def match_credit(
    *,
    amount_due: int,
    currency: str,
    received_so_far: int,
    credit_amount: int,
    credit_currency: str,
    accepting: bool = True,
) -> CreditMatch:
    """Apply one credit of ``credit_amount`` ``credit_currency`` to an intent.

    ``amount_due`` is the intent's amount, ``received_so_far`` what earlier credits
    applied; ``accepting`` is False once the intent is canceled.
    """
    for value in (amount_due, received_so_far, credit_amount):
        check_minor(value)
    if amount_due <= 0 or credit_amount <= 0:
        raise ValueError("amounts must be positive")
    if not 0 <= received_so_far <= amount_due:
        raise ValueError("received_so_far must be between 0 and the amount due")
    currency = currency_code(currency)
    credit_currency = currency_code(credit_currency)
    owed = amount_due - received_so_far

    def unapplied(outcome: CreditOutcome) -> CreditMatch:
        return CreditMatch(
            outcome=outcome,
            applied=0,
            remaining=owed,
            surplus=credit_amount,
            surplus_currency=credit_currency,
            received_total=received_so_far,
        )

    if not accepting:
        return unapplied(CreditOutcome.NOT_ACCEPTING)
    if credit_currency != currency:
        return unapplied(CreditOutcome.CURRENCY_MISMATCH)
    applied = min(credit_amount, owed)
    if credit_amount < owed:
        outcome = CreditOutcome.SHORT
    elif credit_amount == owed:
        outcome = CreditOutcome.EXACT
    else:
        outcome = CreditOutcome.EXCESS
    return CreditMatch(
        outcome=outcome,
        applied=applied,
        remaining=owed - applied,
        surplus=credit_amount - applied,
        surplus_currency=currency,
        received_total=received_so_far + applied,
    )

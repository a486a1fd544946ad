"""Stripe's payout failure codes, each with the message shown to the merchant."""

from __future__ import annotations

from typing import Final

FAILURE_MESSAGES: Final = {
    "account_closed": "The bank account has been closed.",
    "account_frozen": "The bank account has been frozen.",
    "bank_account_restricted": "The bank account restricts the payouts it can receive.",
    "bank_ownership_changed": "The bank account's branch changed owner; the account is no "
    "longer valid.",
    "could_not_process": "The bank could not process this payout.",
    "debit_not_authorized": "The bank account does not accept this transaction.",
    "declined": "The bank declined this payout. Please contact the bank before retrying.",
    "incorrect_account_holder_address": "The bank reported that the account holder's address "
    "is incorrect.",
    "incorrect_account_holder_name": "The bank reported that the account holder's name is "
    "incorrect.",
    "incorrect_account_holder_tax_id": "The bank reported that the account holder's tax id is "
    "incorrect.",
    "insufficient_funds": "The balance could not cover the payout.",
    "invalid_account_number": "The account number is invalid for this bank.",
    "invalid_currency": "The bank account cannot receive payouts in this currency.",
    "no_account": "No bank account could be found with the details on file.",
    "unsupported_card": "The bank no longer supports payouts to this card.",
}
DEFAULT_FAILURE: Final = "could_not_process"
BLOCKED: Final = "declined"
"""What a payout blocked by compliance shows: a generic decline, never the reason."""


def failure_message(code: str) -> str:
    if code not in FAILURE_MESSAGES:
        raise ValueError(f"unknown payout failure code {code!r}")
    return FAILURE_MESSAGES[code]

"""Payouts: the merchant's available balance to its bank, by ISO 20022 file.

Service functions (what the API, jobs and the sandbox call)::

    set_external_account(session, account, keyring, country=, currency=, account_number=,
                         account_holder_name=, routing_number=None, bic=None) -> dict
    create_payout(session, account_id, amount=, currency=None, description=None,
                  statement_descriptor=None, metadata=None, method="standard",
                  bank=None) -> Payout
    cancel_payout(session, payout_id, account_id=None) -> Payout
    answer_payout(session, payout_id, "paid" | "failed", failure_code=None) -> Payout
    release_payout_review(session, payout_id, approve=bool) -> Payout
    payout_bank_file(session, payout, keyring) -> BankFile
    automatic_payout(session, account, day) / run_automatic_payouts(db, day=None)
    render_payout(payout), render_external_account(stored, account_id) -> dict

Importing :mod:`settlement.payouts.automatic` registers the ``payouts.automatic`` job.
"""

from settlement.payouts.bank import BankFileMissing, PayoutBank, payout_bank_file
from settlement.payouts.external_account import (
    ExternalAccountError,
    beneficiary_account,
    render_external_account,
    set_external_account,
    validate_external_account,
)
from settlement.payouts.failures import FAILURE_MESSAGES
from settlement.payouts.render import render_payout
from settlement.payouts.service import (
    PayoutError,
    answer_payout,
    available_balance,
    cancel_payout,
    create_payout,
    get_payout,
    release_payout_review,
)
from settlement.payouts.state import PayoutStateError, Status
from settlement.payouts.tables import Payout

__all__ = [
    "FAILURE_MESSAGES",
    "BankFileMissing",
    "ExternalAccountError",
    "Payout",
    "PayoutBank",
    "PayoutError",
    "PayoutStateError",
    "Status",
    "answer_payout",
    "available_balance",
    "beneficiary_account",
    "cancel_payout",
    "create_payout",
    "get_payout",
    "payout_bank_file",
    "release_payout_review",
    "render_external_account",
    "render_payout",
    "set_external_account",
    "validate_external_account",
]

"""Payout bank files: ISO 20022 pain.001 (SEPA for EUR, generic otherwise), XSD-validated."""

from settlement.bankfiles.accounts import (
    ROUTING_SCHEMES,
    BankAccount,
    BankAccountError,
    bank_account,
    domestic_account,
    iban_account,
)
from settlement.bankfiles.instruction import (
    SCHEMA,
    BankFile,
    BankFileError,
    PayoutInstruction,
    end_to_end_id,
    new_message_id,
    payout_id_from_end_to_end,
)
from settlement.bankfiles.payout_file import payout_file
from settlement.bankfiles.validation import BankFileInvalid, validate_pain001

__all__ = [
    "ROUTING_SCHEMES",
    "SCHEMA",
    "BankAccount",
    "BankAccountError",
    "BankFile",
    "BankFileError",
    "BankFileInvalid",
    "PayoutInstruction",
    "bank_account",
    "domestic_account",
    "end_to_end_id",
    "iban_account",
    "new_message_id",
    "payout_file",
    "payout_id_from_end_to_end",
    "validate_pain001",
]

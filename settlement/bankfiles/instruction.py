"""What goes into a payout file and what comes out: plain data, no XML."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from anyascii import anyascii

from core.ids import random_token
from core.money import check_minor, currency_code, exponent
from settlement.bankfiles.accounts import BankAccount

SCHEMA: Final = "pain.001.001.03"
MEDIA_TYPE: Final = "application/xml"
_MESSAGE_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{0,27}")
_NOT_BANK_TEXT: Final = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")


class BankFileError(ValueError):
    """Payouts that cannot be put into one file as asked."""


def bank_text(value: str, limit: int) -> str:
    """Free text as banks accept it: transliterated to Latin (``anyascii``), reduced to the
    SWIFT / EPC character set (``a-z A-Z 0-9 / - ? : ( ) . , ' +`` and space), cut to
    ``limit`` characters."""
    text = " ".join(_NOT_BANK_TEXT.sub(" ", anyascii(value)).split())[:limit].strip()
    if not text:
        raise BankFileError(f"{value!r} has no characters a bank file can carry")
    return text


def end_to_end_id(payout_id: str) -> str:
    """The payout id as the file's ``EndToEndId``: ``_`` is outside the EPC character set,
    so ``po_abc`` travels as ``po-abc`` (ids are base62 after their prefix, so this is
    reversible: :func:`payout_id_from_end_to_end`)."""
    reference = payout_id.replace("_", "-")
    if _NOT_BANK_TEXT.search(reference) or not 1 <= len(reference) <= 35:
        raise BankFileError(f"payout id {payout_id!r} cannot be an end-to-end id")
    return reference


def payout_id_from_end_to_end(reference: str) -> str:
    """Back from a bank statement's end-to-end id to the payout id (``po-abc`` -> ``po_abc``)."""
    return reference.replace("-", "_", 1)


def new_message_id() -> str:
    """A unique ``GrpHdr/MsgId`` (28 characters; ``-<n>`` suffixes stay within Max35Text).

    Store it with the payout: regenerating the file with the same id and timestamp gives
    the same bytes, and a bank refuses a second message under an id it has seen.
    """
    return f"msg-{random_token(24)}"


def check_message_id(message_id: str) -> str:
    if not _MESSAGE_ID.fullmatch(message_id or ""):
        raise BankFileError("a message id is 1-28 letters, digits or '-', starting alphanumeric")
    return message_id


@dataclass(frozen=True, slots=True)
class PayoutInstruction:
    """One credit transfer: ``payout_id`` is also the end-to-end id the bank echoes back."""

    payout_id: str
    amount: int
    currency: str
    creditor: BankAccount
    execution_date: dt.date
    remittance: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", currency_code(self.currency))
        if check_minor(self.amount) <= 0:
            raise BankFileError(f"payout {self.payout_id} needs a positive amount")
        end_to_end_id(self.payout_id)

    @property
    def end_to_end_id(self) -> str:
        return end_to_end_id(self.payout_id)

    def remittance_text(self, limit: int = 140) -> str:
        return bank_text(self.remittance or f"Payout {self.end_to_end_id}", limit)


@dataclass(frozen=True, slots=True)
class BankFile:
    """A validated ISO 20022 payment initiation, ready to hand to the bank."""

    message_id: str
    scheme: str
    schema: str
    currency: str
    created_at: dt.datetime
    payout_ids: tuple[str, ...]
    control_sum: Decimal
    content: bytes

    @property
    def number_of_transactions(self) -> int:
        return len(self.payout_ids)

    @property
    def media_type(self) -> str:
        return MEDIA_TYPE

    @property
    def filename(self) -> str:
        return f"{self.message_id}.xml"


def major_amount(amount: int, currency: str) -> Decimal:
    """Minor units to the file's decimal amount, exactly (``1234 EUR`` -> ``12.34``)."""
    return Decimal(amount).scaleb(-exponent(currency))


def amount_text(amount: int, currency: str) -> str:
    """The ``InstdAmt`` text with exactly the currency's decimals (``12000`` JPY, ``1.250`` BHD)."""
    digits = exponent(currency)
    text = f"{major_amount(amount, currency):.{digits}f}"
    if len(text.replace(".", "").lstrip("0")) > 18:
        raise BankFileError(f"{text} {currency} exceeds the 18 digits pain.001 allows")
    return text

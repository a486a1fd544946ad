"""The one entry point: payouts in, a validated pain.001 file out.

EUR between SEPA-zone IBANs goes out as a SEPA credit transfer (``sepaxml``); anything
else as a generic pain.001.001.03. Either way the bytes are validated against the
official XSD and their control totals before they are returned: nothing invalid is
ever released. Pass the stored ``message_id`` and ``created_at`` to regenerate a file
byte for byte (``GET /v1/payouts/{id}/file``); omit them for a new message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from core.database import utcnow
from settlement.bankfiles.accounts import BankAccount
from settlement.bankfiles.instruction import (
    SCHEMA,
    BankFile,
    BankFileError,
    PayoutInstruction,
    check_message_id,
    major_amount,
    new_message_id,
)
from settlement.bankfiles.pain001 import credit_transfer
from settlement.bankfiles.sepa import sepa_credit_transfer, sepa_eligible
from settlement.bankfiles.validation import validate_pain001


def payout_file(
    debtor: BankAccount,
    instructions: Sequence[PayoutInstruction],
    *,
    message_id: str | None = None,
    created_at: dt.datetime | None = None,
) -> BankFile:
    """Build and validate the payment file for ``instructions`` (one currency) from ``debtor``."""
    if not instructions:
        raise BankFileError("a payment file needs at least one payout")
    currency = instructions[0].currency
    if any(item.currency != currency for item in instructions):
        raise BankFileError("one payment file carries one currency")
    ids = [item.payout_id for item in instructions]
    if len(set(ids)) != len(ids):
        raise BankFileError("a payout appears twice in one file")
    message_id = check_message_id(message_id) if message_id else new_message_id()
    created_at = (created_at or utcnow()).astimezone(dt.UTC).replace(microsecond=0)

    if sepa_eligible(debtor, instructions):
        scheme = "sepa"
        content = sepa_credit_transfer(debtor, instructions, message_id, created_at)
    else:
        scheme = "iso20022"
        content = credit_transfer(debtor, instructions, message_id, created_at)
    validate_pain001(content, SCHEMA)
    return BankFile(
        message_id=message_id,
        scheme=scheme,
        schema=SCHEMA,
        currency=currency,
        created_at=created_at,
        payout_ids=tuple(ids),
        control_sum=sum(
            (major_amount(item.amount, currency) for item in instructions),
            start=major_amount(0, currency),
        ),
        content=content,
    )

"""SEPA credit transfers (EUR, IBAN to IBAN) built with ``sepaxml``.

``sepaxml`` writes the document (pain.001.001.03, service level ``SEPA``, charges
``SLEV``, names transliterated to the SEPA character set). It draws its own random
message and payment-information ids and stamps local time, so we then set
``MsgId``, ``CreDtTm`` and ``PmtInfId`` to our stored values: regenerating a payout's
file must give the same message the bank may already have seen. Each payout is its own
payment-information block with ``BtchBookg=false``, so the bank statement shows one line
per payout (reconciliation matches on the end-to-end id).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from lxml import etree
from sepaxml import SepaTransfer

from settlement.bankfiles.accounts import BankAccount
from settlement.bankfiles.instruction import SCHEMA, BankFileError, PayoutInstruction, bank_text

_NS = f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def sepa_eligible(debtor: BankAccount, instructions: Sequence[PayoutInstruction]) -> bool:
    """EUR from a SEPA-zone IBAN to SEPA-zone IBANs."""
    return debtor.in_sepa_zone and all(
        item.currency == "EUR" and item.creditor.in_sepa_zone for item in instructions
    )


def _stamp(content: bytes, message_id: str, created_at: dt.datetime) -> bytes:
    root = etree.fromstring(content, _PARSER)
    q = {"p": _NS}
    header = root.find("p:CstmrCdtTrfInitn/p:GrpHdr", q)
    if header is None:  # pragma: no cover - sepaxml always writes it
        raise BankFileError("sepaxml produced no group header")
    header.find("p:MsgId", q).text = message_id
    header.find("p:CreDtTm", q).text = created_at.strftime("%Y-%m-%dT%H:%M:%S")
    for number, block in enumerate(root.iterfind(".//p:PmtInf", q), start=1):
        block.find("p:PmtInfId", q).text = f"{message_id}-{number}"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def sepa_credit_transfer(
    debtor: BankAccount,
    instructions: Sequence[PayoutInstruction],
    message_id: str,
    created_at: dt.datetime,
) -> bytes:
    if not sepa_eligible(debtor, instructions):
        raise BankFileError("SEPA carries EUR between SEPA-zone IBANs only")
    config = {
        "name": bank_text(debtor.holder_name, 70),
        "IBAN": debtor.iban,
        "currency": "EUR",
        "batch": False,
    }
    if debtor.bic:
        config["BIC"] = debtor.bic
    transfer = SepaTransfer(config, schema=SCHEMA, clean=True)
    for item in instructions:
        payment = {
            "name": bank_text(item.creditor.holder_name, 70),
            "IBAN": item.creditor.iban,
            "amount": item.amount,
            "execution_date": item.execution_date,
            "description": item.remittance_text(),
            "endtoend_id": item.end_to_end_id,
        }
        if item.creditor.bic:
            payment["BIC"] = item.creditor.bic
        transfer.add_payment(payment)
    return _stamp(transfer.export(validate=False), message_id, created_at)

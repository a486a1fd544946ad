"""Generic ISO 20022 customer credit transfers (pain.001.001.03) for any currency, with lxml.

Used when SEPA does not apply: a currency other than EUR, or an account named by number
and routing code. Amounts carry exactly the currency's decimals (JPY ``12000``, BHD
``1.250``). Accounts are an ``IBAN`` or ``Othr/Id`` (scheme ``BBAN``); banks are a BIC
and/or a clearing-system member id (``USABA``, ``GBDSC``...), with the account's country.
Charges are shared (``SHAR``), the usual choice for cross-border transfers. Free text is
transliterated and reduced to the SWIFT character set banks accept (``bank_text``).
Each payout is its own payment-information block with ``BtchBookg=false``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from lxml import etree

from settlement.bankfiles.accounts import BankAccount
from settlement.bankfiles.instruction import (
    SCHEMA,
    BankFileError,
    PayoutInstruction,
    amount_text,
    bank_text,
    major_amount,
)

NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"


def _add(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _account(parent: etree._Element, tag: str, account: BankAccount, currency: str | None) -> None:
    node = _add(parent, tag)
    ident = _add(node, "Id")
    if account.iban:
        _add(ident, "IBAN", account.iban)
    else:
        other = _add(ident, "Othr")
        _add(other, "Id", account.account_number)
        _add(_add(other, "SchmeNm"), "Cd", "BBAN")
    if currency:
        _add(node, "Ccy", currency)


def _agent(parent: etree._Element, tag: str, account: BankAccount) -> None:
    institution = _add(_add(parent, tag), "FinInstnId")
    if account.bic:
        _add(institution, "BIC", account.bic)
    if account.clearing_system and account.routing_code:
        member = _add(institution, "ClrSysMmbId")
        _add(_add(member, "ClrSysId"), "Cd", account.clearing_system)
        _add(member, "MmbId", account.routing_code)
    _add(_add(institution, "PstlAdr"), "Ctry", account.country)
    if not account.bic and not account.clearing_system:
        _add(_add(institution, "Othr"), "Id", "NOTPROVIDED")


def credit_transfer(
    debtor: BankAccount,
    instructions: Sequence[PayoutInstruction],
    message_id: str,
    created_at: dt.datetime,
) -> bytes:
    if not instructions:
        raise BankFileError("a payment file needs at least one payout")
    currency = instructions[0].currency
    if any(item.currency != currency for item in instructions):
        raise BankFileError("one payment file carries one currency")
    total = sum(
        (major_amount(item.amount, currency) for item in instructions),
        start=major_amount(0, currency),
    )

    document = etree.Element(f"{{{NAMESPACE}}}Document", nsmap={None: NAMESPACE})
    initiation = _add(document, "CstmrCdtTrfInitn")
    header = _add(initiation, "GrpHdr")
    _add(header, "MsgId", message_id)
    _add(header, "CreDtTm", created_at.strftime("%Y-%m-%dT%H:%M:%S"))
    _add(header, "NbOfTxs", str(len(instructions)))
    _add(header, "CtrlSum", str(total))
    _add(_add(header, "InitgPty"), "Nm", bank_text(debtor.holder_name, 140))

    for number, item in enumerate(instructions, start=1):
        block = _add(initiation, "PmtInf")
        _add(block, "PmtInfId", f"{message_id}-{number}")
        _add(block, "PmtMtd", "TRF")
        _add(block, "BtchBookg", "false")
        _add(block, "NbOfTxs", "1")
        _add(block, "CtrlSum", amount_text(item.amount, currency))
        _add(block, "ReqdExctnDt", item.execution_date.isoformat())
        debtor_party = _add(block, "Dbtr")
        _add(debtor_party, "Nm", bank_text(debtor.holder_name, 140))
        _add(_add(debtor_party, "PstlAdr"), "Ctry", debtor.country)
        _account(block, "DbtrAcct", debtor, currency)
        _agent(block, "DbtrAgt", debtor)
        _add(block, "ChrgBr", "SHAR")

        transaction = _add(block, "CdtTrfTxInf")
        payment_id = _add(transaction, "PmtId")
        _add(payment_id, "InstrId", item.end_to_end_id)
        _add(payment_id, "EndToEndId", item.end_to_end_id)
        _add(_add(transaction, "Amt"), "InstdAmt", amount_text(item.amount, currency), Ccy=currency)
        _agent(transaction, "CdtrAgt", item.creditor)
        _add(_add(transaction, "Cdtr"), "Nm", bank_text(item.creditor.holder_name, 140))
        _account(transaction, "CdtrAcct", item.creditor, None)
        _add(_add(transaction, "RmtInf"), "Ustrd", item.remittance_text())

    return etree.tostring(document, xml_declaration=True, encoding="UTF-8")

"""Validation of pain.001 files against the official ISO 20022 XSD, and their control totals.

The XSDs are the ones ``sepaxml`` ships (``sepaxml/schemas/pain.001.001.03.xsd``, the ISO
archive's file). The XSD checks structure, code lists and patterns (IBAN, BIC, amounts);
it cannot see that an amount was altered, so the group and payment-information control
totals (``NbOfTxs``, ``CtrlSum``) are recomputed from the transactions too. Parsing is
hardened: no DTDs, no entity expansion, no network.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources

from lxml import etree

from settlement.bankfiles.instruction import SCHEMA

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False
)


class BankFileInvalid(ValueError):
    """A file that must not be released; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


@lru_cache(maxsize=8)
def xml_schema(schema: str = SCHEMA) -> etree.XMLSchema:
    path = resources.files("sepaxml").joinpath("schemas", f"{schema}.xsd")
    with resources.as_file(path) as xsd:
        return etree.XMLSchema(etree.parse(str(xsd), _PARSER))


def _decimal(text: str | None) -> Decimal | None:
    try:
        return Decimal((text or "").strip())
    except InvalidOperation:
        return None


def _control_totals(root: etree._Element, ns: str) -> list[str]:
    errors = []
    q = {"p": ns}
    blocks = [(root.find("p:CstmrCdtTrfInitn/p:GrpHdr", q), root.findall(".//p:InstdAmt", q))]
    blocks += [
        (block, block.findall(".//p:InstdAmt", q)) for block in root.iterfind(".//p:PmtInf", q)
    ]
    for header, amounts in blocks:
        where = header.tag.split("}")[-1]
        count = header.findtext("p:NbOfTxs", namespaces=q)
        if count is not None and int(count) != len(amounts):
            errors.append(f"{where}/NbOfTxs is {count} but there are {len(amounts)} transactions")
        stated = _decimal(header.findtext("p:CtrlSum", namespaces=q))
        total = sum((_decimal(amount.text) or Decimal(0) for amount in amounts), Decimal(0))
        if header.find("p:CtrlSum", q) is not None and stated != total:
            errors.append(f"{where}/CtrlSum is {stated} but the amounts add up to {total}")
    return errors


def validate_pain001(content: bytes, schema: str = SCHEMA) -> None:
    """Raise :class:`BankFileInvalid` unless ``content`` is a valid, self-consistent file."""
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise BankFileInvalid(["a payment file carries no DTD or entities"])
    try:
        document = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise BankFileInvalid([f"not well-formed XML: {exc}"]) from exc
    validator = xml_schema(schema)
    if not validator.validate(document):
        raise BankFileInvalid(
            [f"line {error.line}: {error.message}" for error in validator.error_log]
        )
    errors = _control_totals(document, f"urn:iso:std:iso:20022:tech:xsd:{schema}")
    if errors:
        raise BankFileInvalid(errors)

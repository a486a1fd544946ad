"""Payout bank files: beneficiary validation, SEPA and generic pain.001, XSD validation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from importlib import resources

import pytest
import xmlschema
from lxml import etree

from settlement.bankfiles import (
    BankAccountError,
    BankFileError,
    BankFileInvalid,
    PayoutInstruction,
    bank_account,
    payout_file,
    validate_pain001,
)
from settlement.bankfiles.instruction import end_to_end_id, payout_id_from_end_to_end

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
CREATED = dt.datetime(2024, 6, 17, 9, 30, tzinfo=dt.UTC)
EXECUTION = dt.date(2024, 6, 18)
PLATFORM = bank_account("Corridor Payments GmbH", iban="DE89 3704 0044 0532 0130 00")


@pytest.fixture(scope="module")
def official_xsd() -> xmlschema.XMLSchema:
    """An independent validator (xmlschema) over the XSD file sepaxml ships."""
    path = resources.files("sepaxml").joinpath("schemas", "pain.001.001.03.xsd")
    with resources.as_file(path) as xsd:
        return xmlschema.XMLSchema(str(xsd))


def payout(payout_id: str, amount: int, currency: str, creditor, **kw) -> PayoutInstruction:
    return PayoutInstruction(payout_id, amount, currency, creditor, EXECUTION, **kw)


def parse(content: bytes) -> etree._Element:
    return etree.fromstring(content)


def text(root: etree._Element, path: str) -> str:
    return root.findtext(path, namespaces=NS)


# -- accounts ---------------------------------------------------------------------------


def test_iban_accounts_are_validated_and_normalised() -> None:
    account = bank_account("Müller Bäckerei", iban="fr14 2004 1010 0505 0001 3m02 606")
    assert account.iban == "FR1420041010050500013M02606"
    assert account.country == "FR"
    assert account.bic == "PSSTFRPP"  # looked up from the bank code
    assert account.in_sepa_zone
    explicit = bank_account("Kuwait Co", iban="KW81CBKU0000000000001234560101", bic="CBKUKWKW")
    assert (explicit.country, explicit.bic, explicit.in_sepa_zone) == ("KW", "CBKUKWKW", False)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"iban": "DE89 3704 0044 0532 0130 01"}, "iban"),  # check digits
        ({"iban": "XX89370400440532013000"}, "iban"),
        ({"iban": "DE89370400440532013000", "bic": "COBADEFF1"}, "bic"),
        ({"iban": "DE89370400440532013000", "country": "FR"}, "country"),
        ({"iban": "DE89370400440532013000", "account_number": "1"}, "iban"),
        (
            {"country": "US", "account_number": "123456789", "routing_code": "111000026"},
            "routing_code",
        ),
        ({"country": "US", "account_number": "12", "routing_code": "111000025"}, "account_number"),
        (
            {"country": "GB", "account_number": "12345678", "routing_code": "12-34-5"},
            "routing_code",
        ),
        ({"country": "DE", "account_number": "532013000", "routing_code": "37040044"}, "iban"),
        ({"country": "MX", "account_number": "123456789", "routing_code": "002"}, "routing_code"),
        ({"country": "ZZ", "account_number": "1", "routing_code": "1"}, "country"),
        ({"country": "US"}, "iban"),
    ],
)
def test_invalid_beneficiaries_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(BankAccountError) as caught:
        bank_account("Someone", **kwargs)
    assert caught.value.field == field


def test_domestic_routing_schemes() -> None:
    us = bank_account(
        "John Doe", country="us", account_number="000123456789", routing_code="111000025"
    )
    assert (us.clearing_system, us.routing_code, us.iban) == ("USABA", "111000025", None)
    gb = bank_account("Jane Roe", country="GB", account_number="3141 5926", routing_code="20-00-00")
    assert (gb.clearing_system, gb.routing_code, gb.account_number) == (
        "GBDSC",
        "200000",
        "31415926",
    )
    ca = bank_account(
        "Mounties Ltd", country="CA", account_number="1234567", routing_code="12345-003"
    )
    assert (ca.clearing_system, ca.routing_code) == ("CACPA", "000312345")
    au = bank_account("Koala Pty", country="AU", account_number="12345678", routing_code="062-000")
    assert (au.clearing_system, au.routing_code) == ("AUBSB", "062000")
    jp = bank_account(
        "Yamada Taro", country="JP", account_number="1234567", routing_code="0001-001"
    )
    assert (jp.clearing_system, jp.routing_code) == ("JPZGN", "0001001")
    india = bank_account(
        "Sharma", country="IN", account_number="123456789012", routing_code="sbin0000001"
    )
    assert (india.clearing_system, india.routing_code) == ("INFSC", "SBIN0000001")


# -- SEPA -------------------------------------------------------------------------------


def test_sepa_file_for_eur_validates_and_carries_our_ids(official_xsd) -> None:
    creditor = bank_account("Müller Bäckerei & Söhne", iban="FR1420041010050500013M02606")
    file = payout_file(
        PLATFORM,
        [payout("po_7Hq2", 684_200, "EUR", creditor)],
        message_id="msg-1",
        created_at=CREATED,
    )
    assert (file.scheme, file.schema, file.currency) == ("sepa", "pain.001.001.03", "EUR")
    assert file.control_sum == Decimal("6842.00") and file.number_of_transactions == 1
    official_xsd.validate(file.content.decode())
    validate_pain001(file.content)
    root = parse(file.content)
    assert text(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId") == "msg-1"
    assert text(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:CreDtTm") == "2024-06-17T09:30:00"
    assert text(root, ".//p:PmtInf/p:PmtInfId") == "msg-1-1"
    assert text(root, ".//p:PmtTpInf/p:SvcLvl/p:Cd") == "SEPA"
    assert text(root, ".//p:ChrgBr") == "SLEV"
    assert text(root, ".//p:ReqdExctnDt") == "2024-06-18"
    assert text(root, ".//p:DbtrAcct/p:Id/p:IBAN") == "DE89370400440532013000"
    assert text(root, ".//p:CdtTrfTxInf/p:PmtId/p:EndToEndId") == "po-7Hq2"
    assert payout_id_from_end_to_end("po-7Hq2") == "po_7Hq2"
    amount = root.find(".//p:InstdAmt", NS)
    assert (amount.text, amount.get("Ccy")) == ("6842.00", "EUR")
    assert text(root, ".//p:Cdtr/p:Nm") == "Muller Backerei Sohne"
    assert text(root, ".//p:CdtrAcct/p:Id/p:IBAN") == "FR1420041010050500013M02606"
    assert text(root, ".//p:RmtInf/p:Ustrd") == "Payout po-7Hq2"


def test_regenerating_with_the_stored_ids_gives_the_same_bytes() -> None:
    creditor = bank_account("Beneficiary", iban="NL91ABNA0417164300")
    items = [payout("po_1", 100, "EUR", creditor), payout("po_2", 250, "EUR", creditor)]
    first = payout_file(PLATFORM, items, message_id="msg-abc", created_at=CREATED)
    again = payout_file(PLATFORM, items, message_id="msg-abc", created_at=CREATED)
    assert first.content == again.content
    fresh = payout_file(PLATFORM, items)
    assert fresh.message_id != "msg-abc" and fresh.message_id.startswith("msg-")
    assert len(fresh.message_id) <= 28
    root = parse(first.content)
    assert text(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs") == "2"
    assert text(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum") == "3.50"
    assert [e.text for e in root.iterfind(".//p:PmtInfId", NS)] == ["msg-abc-1", "msg-abc-2"]


# -- generic pain.001 -------------------------------------------------------------------


def test_usd_to_aba_routed_account(official_xsd) -> None:
    creditor = bank_account(
        "John Doe", country="US", account_number="123456789", routing_code="111000025"
    )
    file = payout_file(PLATFORM, [payout("po_us", 1_000_050, "USD", creditor)], created_at=CREATED)
    assert (file.scheme, file.control_sum) == ("iso20022", Decimal("10000.50"))
    official_xsd.validate(file.content.decode())
    root = parse(file.content)
    amount = root.find(".//p:InstdAmt", NS)
    assert (amount.text, amount.get("Ccy")) == ("10000.50", "USD")
    agent = ".//p:CdtrAgt/p:FinInstnId"
    assert text(root, f"{agent}/p:ClrSysMmbId/p:ClrSysId/p:Cd") == "USABA"
    assert text(root, f"{agent}/p:ClrSysMmbId/p:MmbId") == "111000025"
    assert text(root, f"{agent}/p:PstlAdr/p:Ctry") == "US"
    assert text(root, ".//p:CdtrAcct/p:Id/p:Othr/p:Id") == "123456789"
    assert text(root, ".//p:DbtrAcct/p:Ccy") == "USD"
    assert text(root, ".//p:ChrgBr") == "SHAR"
    assert text(root, ".//p:EndToEndId") == "po-us"


@pytest.mark.parametrize(
    ("currency", "amount", "creditor_kwargs", "expected"),
    [
        (
            "JPY",
            12_000,
            {"country": "JP", "account_number": "1234567", "routing_code": "0005-123"},
            "12000",
        ),
        ("BHD", 41_050, {"iban": "BH67BMAG00001299123456", "bic": "BMAGBHBM"}, "41.050"),
        ("KWD", 1_234, {"iban": "KW81CBKU0000000000001234560101"}, "1.234"),
        (
            "GBP",
            6_842,
            {"country": "GB", "account_number": "31415926", "routing_code": "200000"},
            "68.42",
        ),
        ("EUR", 6_842, {"iban": "KW81CBKU0000000000001234560101"}, "68.42"),  # EUR outside SEPA
    ],
)
def test_every_currency_gets_its_decimals_and_validates(
    official_xsd, currency: str, amount: int, creditor_kwargs: dict, expected: str
) -> None:
    creditor = bank_account("山田 太郎", **creditor_kwargs)
    file = payout_file(PLATFORM, [payout("po_x", amount, currency, creditor)], created_at=CREATED)
    assert file.scheme == "iso20022"
    official_xsd.validate(file.content.decode())
    root = parse(file.content)
    assert root.find(".//p:InstdAmt", NS).text == expected
    assert text(root, ".//p:CtrlSum") == expected
    name = text(root, ".//p:Cdtr/p:Nm")
    assert name.isascii() and name  # transliterated for the bank


def test_files_are_refused_when_they_cannot_be_made() -> None:
    eur = bank_account("A", iban="NL91ABNA0417164300")
    usd = bank_account("B", country="US", account_number="123456789", routing_code="111000025")
    with pytest.raises(BankFileError, match="one currency"):
        payout_file(PLATFORM, [payout("po_1", 1, "EUR", eur), payout("po_2", 1, "USD", usd)])
    with pytest.raises(BankFileError, match="twice"):
        payout_file(PLATFORM, [payout("po_1", 1, "EUR", eur), payout("po_1", 2, "EUR", eur)])
    with pytest.raises(BankFileError):
        payout_file(PLATFORM, [])
    with pytest.raises(BankFileError, match="18 digits"):
        payout_file(PLATFORM, [payout("po_big", 10**18 + 1, "USD", usd)])
    with pytest.raises(BankFileError):
        payout("po_0", 0, "EUR", eur)
    with pytest.raises(BankFileError):
        payout("po_" + "x" * 40, 1, "EUR", eur)
    with pytest.raises(BankFileError):
        payout_file(PLATFORM, [payout("po_1", 1, "EUR", eur)], message_id="has space")
    assert end_to_end_id("po_AbC123") == "po-AbC123"


# -- tampering --------------------------------------------------------------------------


@pytest.fixture
def good_file() -> bytes:
    creditor = bank_account("Beneficiary", iban="NL91ABNA0417164300")
    items = [payout("po_1", 10_000, "EUR", creditor), payout("po_2", 2_500, "EUR", creditor)]
    return payout_file(PLATFORM, items, message_id="msg-t", created_at=CREATED).content


def tamper(content: bytes, edit) -> bytes:
    root = etree.fromstring(content)
    edit(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_tampered_structure_fails_the_xsd(good_file: bytes, official_xsd) -> None:
    validate_pain001(good_file)
    broken_iban = tamper(
        good_file, lambda r: setattr(r.find(".//p:CdtrAcct/p:Id/p:IBAN", NS), "text", "nl91 abna")
    )
    no_e2e = tamper(
        good_file, lambda r: r.find(".//p:PmtId", NS).remove(r.find(".//p:EndToEndId", NS))
    )
    bad_currency = tamper(good_file, lambda r: r.find(".//p:InstdAmt", NS).set("Ccy", "EURO"))
    bad_bic = tamper(
        good_file, lambda r: setattr(r.find(".//p:DbtrAgt//p:BIC", NS), "text", "COBA")
    )
    for content in (broken_iban, no_e2e, bad_currency, bad_bic):
        with pytest.raises(BankFileInvalid) as caught:
            validate_pain001(content)
        assert caught.value.errors and "line" in caught.value.errors[0]
        assert not official_xsd.is_valid(content.decode())


def test_tampered_amount_fails_the_control_sums(good_file: bytes, official_xsd) -> None:
    inflated = tamper(good_file, lambda r: setattr(r.find(".//p:InstdAmt", NS), "text", "1000.00"))
    assert official_xsd.is_valid(inflated.decode())  # the XSD alone cannot see it
    with pytest.raises(
        BankFileInvalid, match=r"CtrlSum is 125\.00 but the amounts add up to 1025\.00"
    ):
        validate_pain001(inflated)
    dropped = tamper(
        good_file, lambda r: r.find(".//p:PmtInf", NS).getparent().remove(r.find(".//p:PmtInf", NS))
    )
    with pytest.raises(BankFileInvalid, match="NbOfTxs is 2 but there are 1"):
        validate_pain001(dropped)


def test_hostile_or_broken_xml_is_refused(good_file: bytes) -> None:
    with pytest.raises(BankFileInvalid, match="no DTD"):
        validate_pain001(
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            + good_file[38:]
        )
    with pytest.raises(BankFileInvalid, match="well-formed"):
        validate_pain001(good_file[:-20])

"""Importers on real-format files: camt.053/054 validated against the ISO 20022 XSD, MT940,
Stripe's itemized report, mapped CSV; balances checked; malformed files refused with the
line and the reason."""

from __future__ import annotations

import datetime as dt

import pytest
import xmlschema
from lxml import etree

from settlement.reconciliation import (
    CsvMapping,
    Direction,
    StatementKind,
    StatementRefused,
    detect_format,
    parse_statement,
)
from settlement.reconciliation.camt import schema
from tests.reconciliation.statement_files import (
    IBAN,
    Entry,
    StripeRow,
    camt053,
    mt940,
    stripe_report,
)

DAY = dt.date(2026, 3, 2)
ENTRIES = [
    Entry(
        12_345,
        DAY,
        e2e="E2E-0001",
        remittance="Invoice RF18 5390 0754 7034",
        name="ACME GmbH",
        iban="FR1420041010050500013M02606",
    ),
    Entry(
        -5_000,
        DAY,
        e2e="po-4Xy9",
        remittance="Payout",
        name="Bäckerei Müller",
        iban="DE02120300000000202051",
    ),
    Entry(700, DAY, status="PDNG", remittance="not booked yet"),
]


@pytest.mark.parametrize("version", ["02", "08"])
def test_camt053_is_valid_against_the_official_xsd_and_parsed(version: str) -> None:
    data = camt053(ENTRIES, opening=100_000, version=version)
    # An independent validator over the same official schema agrees the file is valid.
    xsd_path = f"settlement/reconciliation/schemas/camt.053.001.{version}.xsd"
    xmlschema.XMLSchema(xsd_path).validate(etree.fromstring(data))
    parsed = parse_statement(data)
    assert (parsed.format, parsed.kind, parsed.account, parsed.currency) == (
        "camt.053",
        StatementKind.BANK,
        IBAN,
        "EUR",
    )
    assert parsed.opening.amount == 100_000
    assert parsed.closing.amount == 100_000 + 12_345 - 5_000  # the pending entry is not booked
    assert [line.signed for line in parsed.lines] == [12_345, -5_000]
    credit, debit = parsed.lines
    assert credit.refs.end_to_end_id == "E2E-0001"
    assert credit.refs.counterparty_name == "ACME GmbH"
    assert credit.refs.counterparty_account == "FR1420041010050500013M02606"
    assert "RF18 5390 0754 7034" in credit.refs.remittance_info
    assert credit.refs.bank_reference == "BANKREF0000"
    assert debit.direction is Direction.DEBIT
    assert debit.refs.counterparty_name == "Bäckerei Müller"
    assert credit.raw.startswith("<Ntry") and '<Amt Ccy="EUR">123.45</Amt>' in credit.raw
    assert credit.line_no > 1


@pytest.mark.parametrize("version", ["02", "08"])
def test_camt054_notifications_have_no_balances(version: str) -> None:
    parsed = parse_statement(camt053(ENTRIES, opening=0, version=version, message="054"))
    assert parsed.format == "camt.054"
    assert parsed.opening is None and parsed.closing is None
    assert [line.amount for line in parsed.lines] == [12_345, 5_000]


def test_a_tampered_closing_balance_is_detected() -> None:
    honest = camt053(ENTRIES, opening=100_000)
    tampered = honest.replace(b'<Amt Ccy="EUR">1073.45</Amt>', b'<Amt Ccy="EUR">1173.45</Amt>')
    assert tampered != honest
    with pytest.raises(StatementRefused, match="tampered"):
        parse_statement(tampered)
    edited_entry = honest.replace(b"123.45", b"124.45")
    with pytest.raises(StatementRefused, match="closing balance"):
        parse_statement(edited_entry)
    with pytest.raises(StatementRefused, match="tampered"):
        parse_statement(mt940(ENTRIES[:2], opening=100_000, closing=100_001))


def test_a_camt_file_that_breaks_the_schema_is_refused_with_its_line() -> None:
    data = camt053(ENTRIES, opening=100_000).replace(
        b"<CdtDbtInd>CRDT</CdtDbtInd>\n        <Sts>",
        b"<CdtDbtInd>CREDIT</CdtDbtInd>\n        <Sts>",
    )
    with pytest.raises(StatementRefused) as refused:
        parse_statement(data)
    assert "CdtDbtInd" in refused.value.reason
    line = data.decode().splitlines()[refused.value.line - 1]
    assert "CREDIT" in line
    # A missing mandatory element (the bank transaction code) is caught too.
    no_code = etree.fromstring(camt053(ENTRIES[:1], opening=0))
    ntry = no_code.find(".//{*}Ntry")
    ntry.remove(ntry.find("{*}BkTxCd"))
    with pytest.raises(StatementRefused, match=r"BkTxCd|NtryDtls"):
        parse_statement(etree.tostring(no_code))
    with pytest.raises(StatementRefused, match="well-formed") as broken:
        parse_statement(
            b'<?xml version="1.0"?>\n'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">\n<oops>\n'
        )
    assert broken.value.line >= 3


def test_the_xsd_itself_refuses_an_invalid_iban() -> None:
    bad = etree.fromstring(camt053(ENTRIES[:1], opening=0).replace(IBAN.encode(), b"NOT-AN-IBAN"))
    assert not schema("camt.053.001.02").validate(bad)


def test_mt940_statement_is_parsed_with_references_and_balances() -> None:
    data = mt940(ENTRIES[:2], opening=100_000)
    assert detect_format(data) == "mt940"
    parsed = parse_statement(data)
    assert (parsed.format, parsed.account, parsed.currency) == ("mt940", IBAN, "EUR")
    assert (parsed.opening.amount, parsed.closing.amount) == (100_000, 107_345)
    credit, debit = parsed.lines
    assert (credit.signed, debit.signed) == (12_345, -5_000)
    assert credit.refs.end_to_end_id == "E2E-0001"
    assert "RF18 5390 0754 7034" in credit.refs.remittance_info
    assert credit.refs.counterparty_name == "ACME GmbH"
    assert debit.refs.end_to_end_id == "po-4Xy9"
    assert credit.raw.startswith(":61:") and ":86:" in credit.raw
    assert (credit.line_no, debit.line_no) == (5, 7)


def test_mt940_with_several_statements_must_chain() -> None:
    first = mt940(ENTRIES[:1], opening=100_000, reference="A")
    second = mt940(ENTRIES[1:2], opening=112_345, reference="B", day=dt.date(2026, 3, 3))
    parsed = parse_statement(first + second)
    assert (parsed.opening.amount, parsed.closing.amount, len(parsed.lines)) == (
        100_000,
        107_345,
        2,
    )
    gap = mt940(ENTRIES[1:2], opening=112_000, reference="B")
    with pytest.raises(StatementRefused, match="previous closed"):
        parse_statement(first + gap)


def test_malformed_mt940_lines_are_refused_with_line_and_reason() -> None:
    lines = mt940(ENTRIES[:2], opening=100_000).decode().split("\r\n")
    lines[6] = ":61:26030203X2C50,00NTRFNONREF"  # a corrupt entry on line 7
    with pytest.raises(StatementRefused) as refused:
        parse_statement("\r\n".join(lines).encode())
    assert refused.value.line == 7 and ":61:" in refused.value.reason
    lines = mt940(ENTRIES[:2], opening=100_000).decode().split("\r\n")
    lines[3] = ":60F:C260302EUR1000.00"  # a decimal point, not SWIFT's comma
    with pytest.raises(StatementRefused) as refused:
        parse_statement("\r\n".join(lines).encode())
    assert refused.value.line == 4


def test_stripe_report_rows_become_provider_lines() -> None:
    data = stripe_report(
        [
            StripeRow("txn_1", 10_000, 320, "charge", "ch_1", "pi_1", "po_1"),
            StripeRow("txn_2", -2_000, 0, "refund", "re_1", "pi_2", "po_1"),
            StripeRow("txn_3", 500, 15, "charge", "ch_3", None, None),
        ],
        currency="usd",
    )
    assert detect_format(data) == "stripe_report"
    parsed = parse_statement(data)
    assert (parsed.kind, parsed.currency) == (StatementKind.PROVIDER, "USD")
    charge, refund, unpaid = parsed.lines
    assert (charge.amount, charge.fee, charge.net, charge.direction) == (
        10_000,
        320,
        9_680,
        Direction.CREDIT,
    )
    assert (refund.signed, refund.net, refund.category) == (-2_000, -2_000, "refund")
    assert (charge.refs.provider_id, charge.refs.bank_reference, charge.refs.batch_id) == (
        "pi_1",
        "txn_1",
        "po_1",
    )
    assert unpaid.refs.provider_id == "ch_3" and unpaid.refs.batch_id is None
    assert charge.value_date == dt.date(2026, 3, 3) and charge.booking_date == dt.date(2026, 3, 1)


def test_stripe_report_inconsistent_row_is_refused() -> None:
    data = stripe_report(
        [
            StripeRow("txn_1", 10_000, 320, "charge", "ch_1", "pi_1", "po_1"),
            StripeRow("txn_2", 5_000, 100, "charge", "ch_2", "pi_2", "po_1"),
        ]
    )
    broken = data.replace(b"49.00", b"49.50")
    with pytest.raises(StatementRefused) as refused:
        parse_statement(broken)
    assert refused.value.line == 3 and "gross - fee != net" in refused.value.reason
    mixed = data.replace(b",eur,50.00", b",usd,50.00")
    with pytest.raises(StatementRefused, match="per currency") as refused:
        parse_statement(mixed)
    assert refused.value.line == 3
    with pytest.raises(StatementRefused, match=r"decimal|minor unit"):
        parse_statement(data.replace(b"100.00", b"100.005"))


MAPPING = CsvMapping(
    booking_date="Buchungstag",
    value_date="Valuta",
    amount="Betrag",
    fixed_currency="eur",
    date_format="%d.%m.%Y",
    decimal_separator=",",
    thousands_separator=".",
    delimiter=";",
    account=IBAN,
    references={
        "remittance_info": "Verwendungszweck",
        "counterparty_name": "Name",
        "end_to_end_id": "EREF",
    },
)
CSV = (
    "Buchungstag;Valuta;Name;Verwendungszweck;EREF;Betrag\n"
    "02.03.2026;03.03.2026;ACME GmbH;Rechnung RF18539007547034;;1.234,56\n"
    "02.03.2026;02.03.2026;Bäckerei;Auszahlung;po-4Xy9;-75,00\n"
).encode()


def test_generic_csv_through_a_saved_mapping() -> None:
    assert detect_format(CSV) == "csv"
    parsed = parse_statement(CSV, CsvMapping.from_json(MAPPING.to_json()))
    assert (parsed.format, parsed.account, parsed.currency) == ("csv", IBAN, "EUR")
    first, second = parsed.lines
    assert (first.signed, first.value_date, first.refs.counterparty_name) == (
        123_456,
        dt.date(2026, 3, 3),
        "ACME GmbH",
    )
    assert (second.signed, second.refs.end_to_end_id) == (-7_500, "po-4Xy9")
    with pytest.raises(StatementRefused, match="mapping"):
        parse_statement(CSV)
    bad = CSV.replace(b"-75,00", b"-75,0x")
    with pytest.raises(StatementRefused) as refused:
        parse_statement(bad, MAPPING)
    assert refused.value.line == 3
    with pytest.raises(StatementRefused, match="Betrag"):
        parse_statement(CSV.replace(b"Betrag", b"Summe"), MAPPING)


def test_credit_and_debit_columns_mapping() -> None:
    mapping = CsvMapping(booking_date="date", credit="in", debit="out", currency="ccy")
    data = b"date,in,out,ccy\n2026-03-02,10.50,,JPY\n2026-03-02,,5,JPY\n"
    with pytest.raises(StatementRefused, match=r"decimals|minor unit") as refused:
        parse_statement(data, mapping)
    assert refused.value.line == 2
    parsed = parse_statement(data.replace(b"10.50", b"10"), mapping)
    assert [line.signed for line in parsed.lines] == [10, -5]
    with pytest.raises(ValueError, match="either"):
        CsvMapping(booking_date="d", amount="a", credit="c", fixed_currency="EUR")


def test_unknown_formats_are_refused() -> None:
    with pytest.raises(StatementRefused, match="empty"):
        parse_statement(b"  \n")
    with pytest.raises(StatementRefused, match="camt"):
        parse_statement(b"<?xml version='1.0'?><html/>")
    with pytest.raises(StatementRefused, match="unrecognised"):
        parse_statement(b"just some words\n")

"""Receipts in every locale and format: labels translated, amounts as CLDR writes them.

Expected amounts come from two places: hard-coded strings for the cases the brief
names (JPY in Japanese, EUR in German and French, BHD in Arabic), and
``format_money`` for the rest, which ``test_i18n_formatting`` pins to CLDR output.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import logging
import re
import unicodedata
from collections import Counter

import pytest
from lxml import html as lxml_html
from pypdf import PdfReader

from i18n.catalogs import translations
from i18n.fonts import font_chain
from i18n.formatting import format_money, format_rate
from i18n.locales import SUPPORTED_LOCALES, language_tag
from i18n.receipt_data import ReceiptData
from i18n.receipt_view import ReceiptView, build_view
from i18n.receipts import display_width, render_receipt

NBSP = "\u00a0"
NNBSP = "\u202f"
RLM = "\u200f"
ZONE = "Asia/Tokyo"


# --- reading text back -------------------------------------------------------------


def squeeze(text: str) -> str:
    """Without whitespace, format and control characters, for comparing extracted text.

    Extraction spaces CJK glyphs apart and moves bidi marks; and fpdf2 gives CFF
    (CJK) fonts an embedded Identity CMap, which pypdf decodes one byte at a time, so
    each CJK-font character comes out after a NUL (poppler decodes it cleanly).
    """
    return "".join(
        ch for ch in text if not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc")
    )


def script_letters(text: str) -> str:
    """The non-ASCII letters and marks only. pypdf prints the glyphs of a Devanagari
    cluster that carry no text of their own as stray ASCII characters (poppler prints
    nothing); the Devanagari letters themselves come out complete and in order."""
    return "".join(ch for ch in text if ord(ch) > 0x7F and unicodedata.category(ch)[0] in "LM")


def missing_in_pdf(text: str, extracted: str, locale: str) -> list[str]:
    """Words of ``text`` that the PDF's extracted text does not contain."""
    flat = squeeze(extracted)
    missing = []
    for word in text.split():
        if locale == "hi":
            found = script_letters(word) in script_letters(extracted) and all(
                token in flat for token in re.findall(r"[\x21-\x7e]+", word)
            )
        elif locale == "ar" and squeeze(word) not in flat:
            # Right-to-left glyphs come out in visual order; a word whose lam-alef
            # ligature ends a run can be split apart. Its letters must all be there.
            found = Counter(squeeze(word)) <= Counter(flat)
        else:
            found = squeeze(word) in flat
        if not found:
            missing.append(word)
    return missing


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@functools.cache
def rendered_pdf(data: ReceiptData, locale: str) -> bytes:
    """One rendering per (receipt, locale) for the tests that only read it: CJK PDFs
    take about a second each (font parsing and subsetting)."""
    return render_receipt(data, locale, "pdf", ZONE)


def view_texts(view: ReceiptView) -> list[str]:
    texts = [
        view.title,
        view.merchant,
        *(r.label for r in view.rows),
        *(r.value for r in view.rows),
    ]
    if view.refunds:
        texts += [view.refunds_heading, view.refunds_summary, *view.refund_columns]
        texts += [part for r in view.refunds for part in (r.date, r.amount, r.reference)]
    return texts + list(view.closing)


# --- every locale, every format ------------------------------------------------------


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_text_receipt(cross_currency_payment: ReceiptData, locale: str) -> None:
    text = render_receipt(cross_currency_payment, locale, "txt", ZONE).decode("utf-8")
    view = build_view(cross_currency_payment, locale, ZONE)
    for part in view_texts(view):
        assert part in text, part
    catalog = translations(locale)
    for label in ("Amount paid", "Exchange rate", "Amount credited to merchant", "Status"):
        assert catalog.gettext(label) in text
    # Values start in one column whatever the script's character widths.
    columns = set()
    for row in view.rows:
        line = next(line for line in text.splitlines() if line.startswith(row.label))
        columns.add(display_width(line[: line.index(row.value, len(row.label))]))
    assert len(columns) == 1


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_html_receipt(cross_currency_payment: ReceiptData, locale: str) -> None:
    page = render_receipt(cross_currency_payment, locale, "html", ZONE).decode("utf-8")
    view = build_view(cross_currency_payment, locale, ZONE)
    root = lxml_html.document_fromstring(page)
    assert root.get("lang") == language_tag(locale)
    assert root.get("dir") == ("rtl" if locale == "ar" else "ltr")
    assert root.findtext(".//h1") == view.title
    assert root.findtext(".//title").startswith(view.title)
    row_headers = root.xpath('//th[@scope="row"]')
    assert [th.text_content() for th in row_headers] == [row.label for row in view.rows]
    cells = [th.getnext().text_content().strip() for th in row_headers]
    assert cells == [row.value for row in view.rows]
    assert [th.text_content() for th in root.xpath('//th[@scope="col"]')] == list(
        view.refund_columns
    )
    body = root.text_content()
    for part in view_texts(view):
        assert part in body, part
    # Self-contained: nothing is fetched from anywhere.
    assert not root.xpath("//*[@src or @href]")
    assert "url(" not in page and "@import" not in page
    assert root.xpath("//meta[@charset]")


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.fonts
def test_pdf_receipt(
    cross_currency_payment: ReceiptData, locale: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        data = rendered_pdf(cross_currency_payment, locale)
    assert not [r for r in caplog.records if "missing" in r.getMessage().lower()]
    assert data.startswith(b"%PDF-")
    view = build_view(cross_currency_payment, locale, ZONE)
    extracted = pdf_text(data)
    for part in view_texts(view):
        assert missing_in_pdf(part, extracted, locale) == [], part

    reader = PdfReader(io.BytesIO(data))
    assert reader.trailer["/Root"]["/Lang"] == language_tag(locale)
    fonts = [font.get_object() for font in reader.pages[0]["/Resources"]["/Font"].values()]
    names = {str(font["/BaseFont"]) for font in fonts}
    primary = font_chain(locale)[0].name.replace(" ", "")
    assert any(primary in name for name in names), names
    for font in fonts:  # every font embedded, none merely referenced
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor or "/FontFile3" in descriptor


@pytest.mark.fonts
def test_pdf_output_is_reproducible(cross_currency_payment: ReceiptData) -> None:
    first = render_receipt(cross_currency_payment, "ar", "pdf", ZONE)
    assert render_receipt(cross_currency_payment, "ar", "pdf", ZONE) == first


# --- amounts as CLDR writes them -----------------------------------------------------


@pytest.mark.fonts
def test_known_amounts_in_every_format(
    cross_currency_payment: ReceiptData, bhd_refund: ReceiptData
) -> None:
    euro = dataclasses.replace(
        cross_currency_payment,
        amount=dataclasses.replace(cross_currency_payment.amount, minor=123456, currency="EUR"),
        settlement=None,
        fee=None,
        refunds=(),
    )
    cases = [
        (cross_currency_payment, "ja", "￥12,000"),
        (euro, "de", f"1.234,56{NBSP}€"),
        (euro, "fr", f"1{NNBSP}234,56{NBSP}€"),
        (bhd_refund, "ar", f"{RLM}12.345{NBSP}د.ب.{RLM}"),
    ]
    for data, locale, amount in cases:
        assert amount in render_receipt(data, locale, "txt").decode()
        assert amount in render_receipt(data, locale, "html").decode()
        extracted = pdf_text(render_receipt(data, locale, "pdf"))
        assert missing_in_pdf(amount, extracted, locale) == []
        if locale == "ar":  # the symbol in Arabic script, the digits with 3 decimals
            assert "12.345" in extracted and "د.ب." in extracted


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.fonts
def test_cross_currency_payment_shows_both_amounts_and_the_rate(
    cross_currency_payment: ReceiptData, locale: str
) -> None:
    paid = format_money(12000, "JPY", locale)
    settled = format_money(7312, "EUR", locale)
    rate = format_rate(cross_currency_payment.settlement.rate, "JPY", "EUR", locale)
    catalog = translations(locale)
    labels = [catalog.gettext("Amount credited to merchant"), catalog.gettext("Exchange rate")]
    text = render_receipt(cross_currency_payment, locale, "txt", ZONE).decode()
    page = render_receipt(cross_currency_payment, locale, "html", ZONE).decode()
    extracted = pdf_text(rendered_pdf(cross_currency_payment, locale))
    for expected in (paid, settled, rate, *labels):
        assert expected in text
        assert expected in page
        assert missing_in_pdf(expected, extracted, locale) == [], expected


def test_same_currency_settlement_shows_no_rate(cross_currency_payment: ReceiptData) -> None:
    same = dataclasses.replace(
        cross_currency_payment,
        settlement=dataclasses.replace(
            cross_currency_payment.settlement,
            amount=dataclasses.replace(cross_currency_payment.amount, minor=11640),
            rate=None,
        ),
    )
    view = build_view(same, "en")
    assert view.row("settlement_amount").value == "¥11,640"
    with pytest.raises(KeyError):
        view.row("exchange_rate")


# --- refunds, payouts, declines --------------------------------------------------------


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.fonts
def test_refund_and_payout_receipts(
    bhd_refund: ReceiptData, payout: ReceiptData, locale: str
) -> None:
    catalog = translations(locale)
    for data, title, amount in (
        (bhd_refund, "Refund receipt", format_money(12345, "BHD", locale)),
        (payout, "Remittance advice", format_money(123456, "EUR", locale)),
    ):
        view = build_view(data, locale)
        assert view.title == catalog.gettext(title)
        assert view.row("amount").value == amount
        for fmt in ("txt", "html"):
            out = render_receipt(data, locale, fmt).decode()
            assert view.title in out and amount in out and view.intro in out
        extracted = pdf_text(render_receipt(data, locale, "pdf"))
        for part in view_texts(view):
            assert missing_in_pdf(part, extracted, locale) == [], part


def test_refund_summary_uses_plural_forms(cross_currency_payment: ReceiptData) -> None:
    one = dataclasses.replace(cross_currency_payment, refunds=cross_currency_payment.refunds[:1])
    assert build_view(one, "en").refunds_summary == "1 refund totalling ¥2,000"
    assert build_view(cross_currency_payment, "en").refunds_summary == "2 refunds totalling ¥3,000"
    assert build_view(one, "ru").refunds_summary == f"1 возврат на сумму 2{NBSP}000{NBSP}¥"
    assert build_view(cross_currency_payment, "ar").refunds_summary.startswith("عمليتا استرداد")
    assert build_view(cross_currency_payment, "ja").refunds_summary == "2 件の返金、合計 ￥3,000"


def test_payment_details_in_the_payers_language(cross_currency_payment: ReceiptData) -> None:
    declined = dataclasses.replace(
        cross_currency_payment,
        status="requires_payment_method",
        refunds=(),
        decline_code="stolen_card",
    )
    view = build_view(declined, "de")
    assert view.row("decline_reason").value == "Ihre Karte wurde abgelehnt."
    assert view.row("status").value == "Zahlungsmethode ausstehend"
    assert view.row("payment_method").value == "Visa-Karte mit Endziffern 4242"
    assert view.row("merchant_country").value == "Deutschland"
    assert view.row("date").value == "5. März 2025, 14:07:09 UTC"
    # No "thank you" for a payment that did not go through; one for a payment that did.
    assert view.closing == (
        "Fragen zu dieser Quittung? Wenden Sie sich an Kaffeerösterei Müller GmbH.",
    )
    assert build_view(cross_currency_payment, "de").closing[0] == "Vielen Dank für Ihre Zahlung."


def test_html_escapes_merchant_supplied_text(cross_currency_payment: ReceiptData) -> None:
    hostile = dataclasses.replace(
        cross_currency_payment,
        merchant_name='<script>alert("x")</script>',
        description="<img src=x onerror=alert(1)>",
    )
    page = render_receipt(hostile, "en", "html").decode()
    root = lxml_html.document_fromstring(page)
    assert not root.xpath("//script") and not root.xpath("//img")
    assert "&lt;script&gt;" in page


def test_locale_tags_and_errors(cross_currency_payment: ReceiptData) -> None:
    assert render_receipt(cross_currency_payment, "pt-BR", "txt").decode().startswith("Recibo")
    assert render_receipt(cross_currency_payment, "zh-HK", "txt").decode().startswith("收據")
    with pytest.raises(ValueError, match="no receipt catalog"):
        render_receipt(cross_currency_payment, "nl", "txt")
    with pytest.raises(ValueError, match="unknown receipt format"):
        render_receipt(cross_currency_payment, "en", "docx")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="IANA"):
        render_receipt(cross_currency_payment, "en", "txt", "Moon/Base")


@pytest.mark.fonts
def test_long_refund_history_flows_onto_more_pages(cross_currency_payment: ReceiptData) -> None:
    first = cross_currency_payment.refunds[0]
    many = tuple(
        dataclasses.replace(
            first, amount=dataclasses.replace(first.amount, minor=10), reference=f"re_{i:04d}"
        )
        for i in range(60)
    )
    data = dataclasses.replace(cross_currency_payment, refunds=many)
    reader = PdfReader(io.BytesIO(render_receipt(data, "ar", "pdf")))
    assert len(reader.pages) >= 2
    extracted = "".join(page.extract_text() for page in reader.pages)
    assert all(f"re_{i:04d}" in extracted for i in range(60))
    assert "60" in build_view(data, "ar").refunds_summary
